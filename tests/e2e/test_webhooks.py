"""Webhook mode: Telegram POSTs updates; the bot answers once each is handled and committed."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram.ext import Application

from bot import screens
from bot.application import build_application
from bot.config import ConfigError, Settings, WebhookSettings
from bot.context import SERVICES, Services
from bot.i18n import Catalogs
from bot.webhook import SECRET_HEADER, WebhookServer, serving
from conversations.model import Questionnaire
from emulator import BotApiEmulator
from storage.schema import load_migrations
from tests.postgres import query_database

from .conftest import BotProcess
from .walk import answer_all, lowest, shown_question

URL = "https://bot.example.org/telegram/webhook"
SECRET = "e2e-webhook_SECRET-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def webhook() -> WebhookSettings:
    return WebhookSettings(URL, "127.0.0.1", free_port(), SECRET)


@pytest.fixture
async def webhook_bot(emulator: BotApiEmulator, settings: Settings, webhook: WebhookSettings,
                      metep: Questionnaire, catalogs: Catalogs
                      ) -> AsyncIterator[tuple[Application, WebhookServer]]:
    """The bot serving its webhook in this process, behind the emulator as its proxy."""
    emulator.webhook_targets = [f"http://127.0.0.1:{webhook.port}"]
    application = build_application(replace(settings, webhook=webhook), metep, catalogs,
                                    update_processor=emulator.processor)  # type: ignore[attr-defined]
    async with serving(application, webhook) as server:
        yield application, server
    assert emulator.unanswered_callback_queries() == [], "a button was left spinning"


async def polled(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for what a bot in another process makes true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


def services(application: Application) -> Services:
    return application.bot_data[SERVICES]


async def post(port: int, body: dict[str, Any], secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}/telegram/webhook", json=body,
                                headers=headers) as response:
            return response.status


async def healthz(port: int) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
            return response.status, await response.json()


def start_command(user_id: int, update_id: int) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Eve", "language_code": "en"}
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": int(time.time()), "text": "/start", "from": person,
        "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}


async def test_a_respondent_answers_through_posted_updates(
        webhook_bot: tuple[Application, WebhookServer], emulator: BotApiEmulator,
        catalogs: Catalogs, metep: Questionnaire) -> None:
    application, _ = webhook_bot
    t = catalogs.translator("en")
    info = await application.bot.get_webhook_info()
    assert info.url == URL and info.allowed_updates == ("message", "callback_query")

    user = emulator.user(500, language_code="en")
    await user.send("/start")
    assert "Welcome to Baraza." in user.last_message.text
    await user.click("✓ English")
    await user.click("I agree")
    seen = await answer_all(user, metep, t, choose=lowest, stop_after=3)

    assert seen == ["framework.info_law", "framework.consult_duty", "framework.data_protection"]
    assert shown_question(metep, t, user.last_message.text).id == "framework.lead_body"
    assert emulator.stats.requests_per_method["getUpdates"] == 0
    assert [a.status for a in emulator.webhook_attempts] == [200] * 6
    # Each went through the application's update processor, which keeps one user's in order.
    processed = emulator.processor.finished  # type: ignore[attr-defined]
    assert {a.update_id for a in emulator.webhook_attempts} <= processed
    assert emulator.errors == []


async def test_a_post_without_the_right_secret_gets_403_and_changes_nothing(
        webhook_bot: tuple[Application, WebhookServer], webhook: WebhookSettings,
        emulator: BotApiEmulator) -> None:
    application, _ = webhook_bot
    eve = emulator.user(777, "Eve")
    db = services(application).db

    assert await post(webhook.port, start_command(777, 9001), None) == 403
    assert await post(webhook.port, start_command(777, 9001), "wrong-secret") == 403
    assert await post(webhook.port, start_command(777, 9001), SECRET[:-1]) == 403

    assert await db.respondents.get(777) is None
    assert eve.messages == [] and not [c for c in emulator.calls if c.chat_id == 777]
    # The very same update with the secret is handled: only the header made the difference.
    assert await post(webhook.port, start_command(777, 9001), SECRET) == 200
    assert await db.respondents.get(777) is not None
    assert "Welcome to Baraza." in eve.last_message.text


async def test_healthz_answers_200_while_the_database_is_current_and_503_when_not(
        webhook_bot: tuple[Application, WebhookServer], webhook: WebhookSettings,
        settings: Settings) -> None:
    latest = len(load_migrations())
    status, body = await healthz(webhook.port)
    assert status == 200
    assert body == {"status": "ok", "reason": "database reachable, migrations current",
                    "schema": latest, "expected_schema": latest}

    # Another worker, running newer code, migrated the shared database: this one is out of date.
    if isinstance(settings.database, Path):
        await query_database(settings.database, f"PRAGMA user_version = {latest + 1}")
    else:
        await query_database(settings.database, "INSERT INTO schema_migrations (version, name)"
                             " VALUES (?, '9999_newer.sql')", (latest + 1,))
    status, body = await healthz(webhook.port)
    assert status == 503
    assert body["status"] == "unavailable" and body["reason"] == "migrations not current"
    assert body["schema"] == latest + 1


async def test_an_update_whose_processing_failed_is_redelivered_and_applied_once(
        webhook_bot: tuple[Application, WebhookServer], emulator: BotApiEmulator,
        catalogs: Catalogs, metep: Questionnaire) -> None:
    application, _ = webhook_bot
    t = catalogs.translator("en")
    user = emulator.user(501, language_code="en")
    await user.send("/start")
    await user.click("✓ English")
    await user.click("I agree")
    turns = services(application).turns
    enter = turns.enter

    async def fails_once(*args: Any, **kwargs: Any) -> Any:
        turns.enter = enter  # type: ignore[method-assign]
        raise sqlite3.OperationalError("database is locked")  # before anything was committed

    turns.enter = fails_once  # type: ignore[method-assign]
    tap = await user.click("No")

    attempts = [a.status for a in emulator.webhook_attempts if a.update_id == tap["update_id"]]
    assert attempts == [500, 200]  # the failure was answered 500, so it came again
    session = await services(application).db.sessions.get(501, 1)
    assert session is not None and {
        question: answer.option_id for question, answer in session.answers.items()} == {
        "framework.info_law": "no"}
    # The question moved on once; the failed try was met with "try again", as when polling.
    assert shown_question(metep, t, user.keyboard_message.text).id == "framework.consult_duty"
    assert user.last_message.text.endswith(screens.try_again(t))


async def test_a_worker_killed_mid_update_gets_it_again_and_applies_it_once(
        outside_emulator: BotApiEmulator, database: Path | str, catalogs: Catalogs,
        metep: Questionnaire) -> None:
    emulator, t = outside_emulator, catalogs.translator("en")
    port = free_port()
    emulator.webhook_targets = [f"http://127.0.0.1:{port}"]
    emulator.webhook_backoff = (0.05, 0.5)
    bot = BotProcess(emulator, database)
    bot.env.update(BARAZA_WEBHOOK_URL=URL, BARAZA_LISTEN=f"127.0.0.1:{port}",
                   BARAZA_WEBHOOK_SECRET=SECRET)
    await bot.start()
    try:
        user = emulator.user(300, language_code="en")
        await user.send("/start", timeout=30)  # retried until the worker listens
        await user.wait_for(lambda m: "Welcome to Baraza." in m.text, timeout=30)
        await user.click("✓ English")
        await user.click("I agree")
        before = await answer_all(user, metep, t, choose=lowest, stop_after=3)

        # The answer is committed before the bot edits the question; stall that edit and kill
        # the worker while its POST is still unanswered.
        emulator.hold("editMessageText")
        tap = await user.click("No", settle=False)
        await polled(lambda: emulator.held_requests > 0)
        await bot.kill()
        await polled(lambda: emulator.held_requests == 0)  # dropped with their client
        emulator.release()
        calls_before = len(emulator.calls)
        await bot.start()
        await emulator.settle_chat(user.id, tap["update_id"], timeout=30)
        attempts = [a for a in emulator.webhook_attempts if a.update_id == tap["update_id"]]
        assert [a.status for a in attempts][0] is None and attempts[-1].status == 200
        # Handled again, the tap was recognised as done: nothing sent or edited in the chat.
        assert [c.method for c in list(emulator.calls)[calls_before:]
                if c.chat_id == user.id and c.method != "answerCallbackQuery"] == []

        # The redelivered tap found its answer stored and did nothing: resume asks the next one.
        await user.send("/start")
        await user.wait_for(lambda m: "Welcome back!" in m.text, timeout=30)
        resumed = shown_question(metep, t, user.last_message.text)
        assert resumed is not None and resumed.id == "framework.safe_to_speak"
        after = await answer_all(user, metep, t, choose=lowest)
        answered = [*before, "framework.lead_body"]
        assert set(answered).isdisjoint(after), "a question was asked twice"
        assert len(answered) + len(after) == 33  # every question shown once, as in one walk
        assert "Overall, as you see it: 0, low" in user.last_message.text
        assert emulator.stats.requests_per_method["getUpdates"] == 0
        assert emulator.unanswered_callback_queries() == []
    finally:
        await bot.stop()


async def test_a_worker_told_to_stop_finishes_the_update_in_hand_first(
        outside_emulator: BotApiEmulator, tmp_path: Path) -> None:
    emulator, port = outside_emulator, free_port()
    emulator.webhook_targets = [f"http://127.0.0.1:{port}"]
    bot = BotProcess(emulator, tmp_path / "baraza.db")
    bot.env.update(BARAZA_WEBHOOK_URL=URL, BARAZA_LISTEN=f"127.0.0.1:{port}",
                   BARAZA_WEBHOOK_SECRET=SECRET)
    await bot.start()
    try:
        user = emulator.user(302, language_code="en")
        await user.send("/start", timeout=30)
        await user.wait_for(lambda m: "Welcome to Baraza." in m.text, timeout=30)
        emulator.hold("editMessageText")
        tap = await user.click("✓ English", settle=False)
        await polled(lambda: emulator.held_requests > 0)

        assert bot.process is not None
        bot.process.terminate()  # SIGTERM, as `docker stop` sends
        await asyncio.sleep(0.5)
        assert bot.process.returncode is None, "it stopped with an update in hand"
        emulator.release()
        await asyncio.wait_for(bot.process.wait(), 30)

        assert bot.process.returncode == 0
        assert [a.status for a in emulator.webhook_attempts if a.update_id == tap["update_id"]] == [200]
        assert user.callback_answers and emulator.unanswered_callback_queries() == []
    finally:
        await bot.stop()


async def test_a_webhook_worker_stops_cleanly_on_sigint(outside_emulator: BotApiEmulator,
                                                        tmp_path: Path) -> None:
    emulator, port = outside_emulator, free_port()
    emulator.webhook_targets = [f"http://127.0.0.1:{port}"]
    bot = BotProcess(emulator, tmp_path / "baraza.db")
    bot.env.update(BARAZA_WEBHOOK_URL=URL, BARAZA_LISTEN=f"127.0.0.1:{port}",
                   BARAZA_WEBHOOK_SECRET=SECRET)
    await bot.start()
    user = emulator.user(301, language_code="en")
    await user.send("/start", timeout=30)
    await user.wait_for(lambda m: "Welcome to Baraza." in m.text, timeout=30)
    status, _ = await healthz(port)
    assert status == 200

    await bot.stop()

    assert bot.process is not None and bot.process.returncode == 0
    with pytest.raises(aiohttp.ClientConnectionError):
        await healthz(port)


async def test_a_webhook_telegram_refuses_stops_the_bot_saying_why(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    # Telegram has its own checks too (here the port; a host it cannot resolve, for one).
    refused = WebhookSettings("https://bot.example.org:8080/hook", "127.0.0.1", free_port(), SECRET)
    application = build_application(settings, metep, catalogs)
    with pytest.raises(ConfigError) as raised:
        async with serving(application, refused):
            pytest.fail("served a webhook Telegram refused")
    assert str(raised.value) == (
        "BARAZA_WEBHOOK_URL: Telegram refused the webhook: "
        "Bad webhook: webhook can be set up only on ports 80, 88, 443 or 8443")
    assert not application.running


async def test_a_port_already_taken_gives_one_clear_line(outside_emulator: BotApiEmulator,
                                                         tmp_path: Path) -> None:
    bot = BotProcess(outside_emulator, tmp_path / "baraza.db")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot.env.update(BARAZA_WEBHOOK_URL=URL, BARAZA_LISTEN=f"127.0.0.1:{port}",
                       BARAZA_WEBHOOK_SECRET=SECRET)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=bot.env, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert err.decode().strip().splitlines() == [
        f"baraza: BARAZA_LISTEN: cannot listen on 127.0.0.1:{port}: Address already in use"]
