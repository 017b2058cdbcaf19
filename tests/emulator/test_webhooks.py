"""Webhooks as Telegram runs them: registration, 409 for getUpdates, POSTs with the secret, retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from emulator import BotApiEmulator

from .tinybot import TOKEN

URL = "https://bot.example.org/telegram/hook"
SECRET = "s3cret_-TOKEN"


async def call(emulator: BotApiEmulator, method: str, **params: Any) -> dict[str, Any]:
    """A raw Bot API call; returns the whole answer ({"ok": ..., "result" or "description"})."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emulator.base_url}{TOKEN}/{method}", json=params) as response:
            return await response.json()


@dataclass
class Worker:
    """A stand-in for a bot's webhook server: records each POST and answers from a script."""

    name: str
    statuses: list[int] = field(default_factory=list)  # answers to give first; then 200
    received: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    delay: float = 0.0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append((request.path, body, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        await asyncio.sleep(self.delay)
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    @property
    def update_ids(self) -> list[int]:
        return [body["update_id"] for _, body, _ in self.received]


@pytest.fixture
async def workers() -> AsyncIterator[list[Worker]]:
    started: list[tuple[Worker, web.AppRunner]] = []
    for name in ("a", "b"):
        worker = Worker(name)
        app = web.Application()
        app.router.add_post("/{path:.*}", worker.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        worker.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        started.append((worker, runner))
    yield [worker for worker, _ in started]
    for _, runner in started:
        await runner.cleanup()


async def test_set_webhook_checks_the_url_and_secret_as_telegram_does(emulator: BotApiEmulator) -> None:
    plain = await call(emulator, "setWebhook", url="http://bot.example.org/hook")
    odd_port = await call(emulator, "setWebhook", url="https://bot.example.org:8080/hook")
    bad_secret = await call(emulator, "setWebhook", url=URL, secret_token="no spaces!")
    long_secret = await call(emulator, "setWebhook", url=URL, secret_token="x" * 257)

    assert [r["error_code"] for r in (plain, odd_port, bad_secret, long_secret)] == [400] * 4
    assert "HTTPS URL must be provided" in plain["description"]
    assert "ports 80, 88, 443 or 8443" in odd_port["description"]
    assert (await call(emulator, "getWebhookInfo"))["result"]["url"] == ""


async def test_webhook_info_reports_the_registration_and_pending_updates(emulator: BotApiEmulator) -> None:
    await emulator.user(1001).send("hello", settle=False)
    assert (await call(emulator, "setWebhook", url=URL, secret_token=SECRET, max_connections=500,
                       allowed_updates=["message"]))["result"] is True

    info = (await call(emulator, "getWebhookInfo"))["result"]

    assert info["url"] == URL
    assert info["max_connections"] == 100  # clamped to Telegram's 1..100
    assert info["allowed_updates"] == ["message"]
    assert info["pending_update_count"] == 1  # nobody listens at bot.example.org


async def test_get_updates_answers_409_while_a_webhook_is_set_and_works_again_after_delete(
        emulator: BotApiEmulator) -> None:
    update = await emulator.user(1001).send("hello", settle=False)
    emulator.webhook_backoff = (5.0, 5.0)  # the registered host does not exist: no hurry to retry
    await call(emulator, "setWebhook", url=URL, secret_token=SECRET)

    conflict = await call(emulator, "getUpdates")
    assert conflict["error_code"] == 409 and "webhook is active" in conflict["description"]
    emulator.errors.clear()

    assert (await call(emulator, "deleteWebhook"))["result"] is True
    polled = await call(emulator, "getUpdates")
    assert [u["update_id"] for u in polled["result"]] == [update["update_id"]]


async def test_a_long_poll_in_progress_ends_with_409_when_a_webhook_is_set(emulator: BotApiEmulator) -> None:
    poll = asyncio.create_task(call(emulator, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    await call(emulator, "setWebhook", url=URL)
    assert (await poll)["error_code"] == 409
    emulator.errors.clear()


async def test_updates_are_posted_with_the_secret_to_the_targets_in_turn(
        emulator: BotApiEmulator, workers: list[Worker]) -> None:
    emulator.webhook_targets = [worker.url for worker in workers]
    await call(emulator, "setWebhook", url=URL, secret_token=SECRET)

    for user_id in (1, 2, 3, 4):
        await emulator.user(user_id).send(f"hi from {user_id}")

    a, b = workers
    assert len(a.received) == 2 and len(b.received) == 2  # round-robin, as a proxy spreads them
    for path, body, secret in a.received + b.received:
        assert path == "/telegram/hook" and secret == SECRET
        assert body["message"]["text"].startswith("hi from")
    assert sorted(a.update_ids + b.update_ids) == [1, 2, 3, 4]
    assert (await call(emulator, "getWebhookInfo"))["result"]["pending_update_count"] == 0


async def test_setting_the_same_webhook_again_changes_nothing(
        emulator: BotApiEmulator, workers: list[Worker]) -> None:
    worker = workers[0]
    worker.delay = 0.3
    emulator.webhook_targets = [worker.url]
    await call(emulator, "setWebhook", url=URL, secret_token=SECRET)
    update = await emulator.user(1).send("hello", settle=False)
    await asyncio.sleep(0.05)

    await call(emulator, "setWebhook", url=URL, secret_token=SECRET)  # a second worker starting
    await emulator.settle(timeout=5)

    assert worker.update_ids == [update["update_id"]]


async def test_a_failed_post_is_retried_with_backoff_until_answered_2xx(
        emulator: BotApiEmulator, workers: list[Worker]) -> None:
    worker = workers[0]
    worker.statuses = [500, 502]
    emulator.webhook_targets = [worker.url]
    emulator.webhook_backoff = (0.05, 1.0)
    await call(emulator, "setWebhook", url=URL, secret_token=SECRET)
    loop = asyncio.get_running_loop()
    started = loop.time()

    update = await emulator.user(1).send("hello")

    assert worker.update_ids == [update["update_id"]] * 3
    assert [a.status for a in emulator.webhook_attempts] == [500, 502, 200]
    assert loop.time() - started >= 0.05 + 0.1  # waited, longer the second time
    info = (await call(emulator, "getWebhookInfo"))["result"]
    assert info["last_error_message"] == "Wrong response from the webhook: 502 Bad Gateway"
    assert info["pending_update_count"] == 0


async def test_a_worker_that_does_not_answer_gets_the_update_again(emulator: BotApiEmulator,
                                                                    workers: list[Worker]) -> None:
    emulator.webhook_targets = ["http://127.0.0.1:9", workers[0].url]  # the first one is down
    emulator.webhook_backoff = (0.01, 0.05)
    await call(emulator, "setWebhook", url=URL, secret_token=SECRET)

    update = await emulator.user(1).send("hello")

    attempts = emulator.webhook_attempts
    assert [(a.status, a.url.startswith(workers[0].url)) for a in attempts] == [(None, False), (200, True)]
    assert attempts[0].error is not None and attempts[0].update_id == update["update_id"]


async def test_one_chats_updates_wait_for_the_one_before_them(emulator: BotApiEmulator,
                                                              workers: list[Worker]) -> None:
    worker = workers[0]
    worker.statuses = [500]
    emulator.webhook_targets = [worker.url]
    emulator.webhook_backoff = (0.3, 0.3)
    await call(emulator, "setWebhook", url=URL, secret_token=SECRET)
    amina, baraka = emulator.user(1), emulator.user(2)

    first = await amina.send("first", settle=False)
    second = await amina.send("second", settle=False)
    other = await baraka.send("other", settle=False)
    await emulator.settle(timeout=5)

    # Amina's second update waited for her first, which failed once; Baraka's did not wait.
    ids = worker.update_ids
    assert [i for i in ids if i != other["update_id"]] == [first["update_id"], first["update_id"],
                                                          second["update_id"]]
    assert ids.index(other["update_id"]) < 2


async def test_delete_webhook_can_drop_pending_updates(emulator: BotApiEmulator) -> None:
    emulator.webhook_backoff = (5.0, 5.0)
    await call(emulator, "setWebhook", url=URL)
    await emulator.user(1).send("hello", settle=False)

    await call(emulator, "deleteWebhook", drop_pending_updates=True)

    assert (await call(emulator, "getUpdates"))["result"] == []
    assert (await call(emulator, "getWebhookInfo"))["result"] == {
        "url": "", "has_custom_certificate": False, "pending_update_count": 0}
