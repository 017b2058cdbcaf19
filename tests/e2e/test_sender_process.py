"""Broadcasts sent by a process of their own, beside the bot that answers people (bot/sender.py).

With paid broadcasts the bot starts a sender process (test_broadcasts.py has a paid one); here it
is chosen explicitly (``Sender.PROCESS``) at the free rate, against an emulator that enforces it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.application import SENDER, build_application, running
from bot.config import Sender, Settings
from bot.context import SERVICES, Services
from bot.i18n import Catalogs
from bot.sender import SENDER_NICENESS, SenderProcess
from conversations.model import Questionnaire
from emulator import BotApiEmulator, RateLimit
from storage import Database, DeliveryCounts

from .conftest import TOKEN, BotProcess, probed_emulator
from .test_broadcasts import (
    MODERATOR,
    TELEGRAMS_LIMIT,
    delivery_counts,
    eventually,
    finished_report,
    prepare,
    refusals_other_than,
    start_broadcast,
    subscribers,
)
from .walk import shown_question

CITIZEN = 7


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with probed_emulator(RateLimit(per_second=TELEGRAMS_LIMIT)) as emu:
        yield emu


@pytest.fixture
def settings(emulator: BotApiEmulator, database: Path | str) -> Settings:
    """On SQLite, then on PostgreSQL (conftest's ``database``)."""
    return Settings(token=TOKEN, api_url=emulator.api_root, database=database,
                    moderators=frozenset({MODERATOR}), messages_per_second=TELEGRAMS_LIMIT,
                    sender=Sender.PROCESS)


@asynccontextmanager
async def bot_running(emulator: BotApiEmulator, settings: Settings, questionnaire: Questionnaire,
                      catalogs: Catalogs) -> AsyncIterator[Application]:
    application = build_application(settings, questionnaire, catalogs,
                                    update_processor=emulator.processor)  # type: ignore[attr-defined]
    async with running(application, poll_timeout=1):
        yield application


def sender_of(application: Application) -> SenderProcess:
    return application.bot_data[SENDER]


async def living_workers(database: Path | str) -> list[str]:
    db = await Database.open(database)
    try:
        return [worker.name for worker in await db.workers.alive()]
    finally:
        await db.close()


def gone(pid: int) -> bool:
    """Whether a process has exited (reaped, or a zombie nobody reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])  # field 19


def children_of(pid: int) -> list[int]:
    return [int(child) for child in
            Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def test_a_sender_process_sends_the_broadcast_while_the_bot_answers_people(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    people = subscribers(120)
    await prepare(settings.database, metep, people)
    users = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator = emulator.user(MODERATOR, language_code="en")
    citizen = emulator.user(CITIZEN, language_code="en")
    en = catalogs.translator("en")

    async with bot_running(emulator, settings, metep, catalogs) as application:
        services: Services = application.bot_data[SERVICES]
        assert services.broadcaster is None, "this process answers people and sends no broadcast"
        sender = sender_of(application)
        assert sender.pid is not None and sender.pid != os.getpid()

        async def both_workers_beat() -> bool:  # the sender registers once it has started
            names = await living_workers(settings.database)
            return len(names) == 2 and any(name.endswith(f":{sender.pid}") for name in names)

        await eventually(both_workers_beat)
        # When the CPU is contended, the operating system runs the replies first.
        assert niceness(sender.pid) == min(19, niceness(os.getpid()) + SENDER_NICENESS)

        await start_broadcast(moderator, expected_recipients=120)
        # Meanwhile a citizen starts the questionnaire and answers as usual.
        await citizen.send("/start")
        await citizen.click("✓ English")
        await citizen.click(en._("I agree"))
        assert shown_question(metep, en, citizen.last_message.text) == metep.questions[0]
        report = await finished_report(moderator)

    assert all(len(user.messages) == 1 for user in users), "someone got it twice, or not at all"
    assert "Sent: 120" in report and "Failed: 0" in report
    assert await delivery_counts(settings.database) == DeliveryCounts(sent=120)
    assert gone(sender.pid), "the sender stops with the bot"
    assert await living_workers(settings.database) == [], "both retired"
    assert refusals_other_than(emulator, {429}) == []


@pytest.mark.parametrize("fault", [signal.SIGKILL, signal.SIGSTOP], ids=["dies", "stalls"])
async def test_a_sender_that_dies_or_stalls_is_replaced_and_everyone_gets_the_broadcast_once(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire, catalogs: Catalogs,
        fault: signal.Signals) -> None:
    people = subscribers(300)
    await prepare(settings.database, metep, people)
    users = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator = emulator.user(MODERATOR, language_code="en")

    def delivered() -> int:
        return sum(len(user.messages) for user in users)

    async def every_delivery_recorded_and_the_rest_stalled() -> bool:
        counts = await delivery_counts(settings.database)
        return emulator.held_requests > 0 and counts.sent == delivered()

    async with bot_running(emulator, settings, metep, catalogs) as application:
        await start_broadcast(moderator, expected_recipients=300)
        await emulator.wait_until(lambda: delivered() >= 100, 30, lambda: f"{delivered()} delivered")
        # The network stalls with sends in flight; once every message that arrived is recorded,
        # the sender is killed (or frozen) with the stalled ones marked 'sending'.
        emulator.hold("sendMessage")
        await eventually(every_delivery_recorded_and_the_rest_stalled)
        first = sender_of(application).pid
        assert first is not None
        os.kill(first, fault)
        # Its requests are dropped with its connections: at once when it dies; when it stalls,
        # once the bot, seeing no heartbeat from it for 15 s, has killed it.
        await eventually(lambda: emulator.held_requests == 0, timeout=60)
        emulator.release()
        interrupted = await delivery_counts(settings.database)
        assert interrupted.sending > 0 and 0 < interrupted.sent < 300

        # The bot starts another sender, which takes over what the first one left once its
        # heartbeat has expired.
        report = await finished_report(moderator, timeout=90)
        assert sender_of(application).pid not in (None, first)
        assert gone(first)

    assert all(len(user.messages) == 1 for user in users), "someone got it twice, or not at all"
    assert await delivery_counts(settings.database) == DeliveryCounts(sent=300)
    assert "Sent: 300" in report and "Failed: 0" in report
    assert refusals_other_than(emulator, {429}) == []


async def test_the_sender_stops_when_the_bot_that_started_it_is_killed(
        outside_emulator: BotApiEmulator, tmp_path: Path) -> None:
    bot = BotProcess(outside_emulator, tmp_path / "baraza.db")
    bot.env["BARAZA_SENDER"] = "process"
    await bot.start()
    try:
        assert bot.process is not None
        parent = bot.process.pid

        def senders() -> list[int]:
            return [pid for pid in children_of(parent)
                    if b"bot.sender" in Path(f"/proc/{pid}/cmdline").read_bytes()]

        await eventually(lambda: len(senders()) == 1)
        (sender,) = senders()
        await bot.kill()
        # Its lifeline (standard input) closed with the bot: it stops on its own.
        await eventually(lambda: gone(sender))
    finally:
        await bot.stop()
