"""End-to-end fixtures: the real Application, polling the local Bot API emulator over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest

from bot.application import build_application, running
from bot.config import Settings
from bot.i18n import Catalogs, Translator
from bot.ordering import PerUserUpdateProcessor
from conversations.loader import load_questionnaire
from conversations.model import Questionnaire
from emulator import BotApiEmulator

TOKEN = "424242:E2E-TEST"


class TrackingUpdateProcessor(PerUserUpdateProcessor):
    """Knows which updates the bot has finished, so tests wait exactly as long as needed."""

    def __init__(self) -> None:
        super().__init__()
        self.finished: set[int] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await super().do_process_update(update, coroutine)
        finally:
            self.finished.add(getattr(update, "update_id", -1))

    def done(self, update_id: int) -> bool:
        return update_id in self.finished


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs.load()


@pytest.fixture(scope="session")
def metep() -> Questionnaire:
    return load_questionnaire()


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    processor = TrackingUpdateProcessor()
    emu = BotApiEmulator(token=TOKEN, idle_probe=processor.done)
    emu.processor = processor  # type: ignore[attr-defined]
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
def settings(emulator: BotApiEmulator, tmp_path: Path) -> Settings:
    # The emulator does not limit by default; a high rate keeps the limiter in the path
    # without making 50 concurrent respondents wait for Telegram's 30 messages a second.
    return Settings(token=TOKEN, api_url=emulator.api_root, database=tmp_path / "baraza.db",
                    moderators=frozenset({1}), messages_per_second=1000)


@pytest.fixture
async def bot(emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
              catalogs: Catalogs) -> AsyncIterator[BotApiEmulator]:
    """A running bot; after the test, no request it made may have been rejected."""
    application = build_application(settings, metep, catalogs,
                                    update_processor=emulator.processor)  # type: ignore[attr-defined]
    async with running(application, poll_timeout=1):
        yield emulator
    assert emulator.errors == [], "the bot made Bot API calls that Telegram would reject"
    assert emulator.unanswered_callback_queries() == [], "a button was left spinning"


def tr(catalogs: Catalogs, locale: str) -> Translator:
    return catalogs.translator(locale)
