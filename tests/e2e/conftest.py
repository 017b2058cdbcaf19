"""End-to-end fixtures: the real Application, polling the local Bot API emulator over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.application import build_application, running
from bot.config import Settings
from bot.i18n import Catalogs
from bot.ordering import TrackingUpdateProcessor
from conversations.loader import load_questionnaire
from conversations.model import Questionnaire
from emulator import BotApiEmulator, RateLimit
from tests.postgres import DIALECTS, database_location

TOKEN = "424242:E2E-TEST"


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs.load()


@pytest.fixture(scope="session")
def metep() -> Questionnaire:
    return load_questionnaire()


@asynccontextmanager
async def probed_emulator(rate_limit: RateLimit | None = None) -> AsyncIterator[BotApiEmulator]:
    """An emulator for an in-process bot, which tells it when each update is fully handled."""
    processor = TrackingUpdateProcessor()
    emu = BotApiEmulator(token=TOKEN, idle_probe=processor.done, rate_limit=rate_limit)
    emu.processor = processor  # type: ignore[attr-defined]
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with probed_emulator() as emu:
        yield emu


# The emulator does not limit by default, and the tests' people tap as fast as the bot answers:
# a script, which on Telegram the bot would hold to about a message a second per chat (a minute
# for a questionnaire; more than a test's timeout for a few respondents one after the other).
# Rates this high keep the limiter in the path without that wait; tests/e2e/test_traffic.py keeps
# Telegram's rates, against an emulator that enforces them.
UNLIMITED_RATE = 1000.0


@pytest.fixture(params=DIALECTS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Path | str]:
    """The bot's database (BARAZA_DB): an SQLite file, then a fresh PostgreSQL database."""
    async with database_location(request.param, tmp_path) as location:
        yield location


@pytest.fixture
def settings(emulator: BotApiEmulator, database: Path | str) -> Settings:
    return Settings(token=TOKEN, api_url=emulator.api_root, database=database,
                    moderators=frozenset({1}), messages_per_second=UNLIMITED_RATE,
                    chat_messages_per_second=UNLIMITED_RATE)


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


class BotProcess:
    """``python -m bot run`` in its own process, against the emulator."""

    def __init__(self, emulator: BotApiEmulator, database: Path | str) -> None:
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emulator.api_root,
                    "BARAZA_DB": str(database), "BARAZA_LOG_LEVEL": "WARNING",
                    # The tests tap as fast as the bot answers (see the settings fixture).
                    "BARAZA_CHAT_RATE": "1000"}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=self.env)

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no chance to flush or confirm anything."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            await asyncio.wait_for(self.process.wait(), 20)


@pytest.fixture
async def outside_emulator() -> AsyncIterator[BotApiEmulator]:
    """An emulator for a bot in another process: waits for quiet instead of asking the bot."""
    emulator = BotApiEmulator(token=TOKEN)
    await emulator.start()
    yield emulator
    await emulator.stop()
