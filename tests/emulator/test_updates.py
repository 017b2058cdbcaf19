"""getUpdates as Telegram runs it: long polling, confirmation by offset, redelivery after a crash."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from emulator import BotApiEmulator
from emulator.ptb import ProcessedUpdates

from .tinybot import TOKEN, build_application, polling


async def get_updates(emulator: BotApiEmulator, **params: Any) -> list[dict[str, Any]]:
    """A raw getUpdates call, like a bot process that may die right after it."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emulator.base_url}{TOKEN}/getUpdates", data=params) as response:
            body = await response.json()
    assert body["ok"], body
    return body["result"]


async def test_update_ids_increase_and_confirmed_updates_are_dropped(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina")
    first = await amina.send("one", settle=False)
    second = await amina.send("two", settle=False)
    assert second["update_id"] == first["update_id"] + 1

    assert [u["update_id"] for u in await get_updates(emulator)] == [first["update_id"], second["update_id"]]
    assert [u["update_id"] for u in await get_updates(emulator, offset=second["update_id"])] == [
        second["update_id"]
    ]
    assert await get_updates(emulator, offset=second["update_id"] + 1) == []


async def test_a_long_poll_wakes_as_soon_as_an_update_arrives(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina")
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(get_updates(emulator, timeout=5))
    await asyncio.sleep(0.05)

    await amina.send("hello", settle=False)
    updates = await poll

    assert [u["message"]["text"] for u in updates] == ["hello"]
    assert loop.time() - started < 1


async def test_a_long_poll_without_updates_returns_empty_after_its_timeout(emulator: BotApiEmulator) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    assert await get_updates(emulator, timeout=0.2) == []
    assert loop.time() - started >= 0.2


async def test_updates_fetched_by_a_crashed_bot_are_redelivered_to_its_restart(
    emulator: BotApiEmulator,
) -> None:
    amina = emulator.user(1001, "Amina")
    update = await amina.send("/start", settle=False)
    # A bot instance fetches the update and is killed before its next getUpdates could confirm it.
    assert [u["update_id"] for u in await get_updates(emulator)] == [update["update_id"]]

    probe = ProcessedUpdates()
    emulator.idle_probe = probe
    async with polling(build_application(emulator, probe)):
        await emulator.settle()

    assert probe(update["update_id"])
    assert amina.last_message is not None and amina.last_message.text.startswith("Karibu Amina")


async def test_updates_a_stopped_application_processed_are_not_delivered_again(
    emulator: BotApiEmulator,
) -> None:
    amina = emulator.user(1001, "Amina")
    probe = ProcessedUpdates()
    emulator.idle_probe = probe
    async with polling(build_application(emulator, probe)):
        await amina.send("/start")

    assert await get_updates(emulator) == []  # the graceful stop confirmed the offset
    assert len(amina.messages) == 1
    assert emulator.errors == []


async def test_drop_pending_updates_forgets_the_queue(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina")
    await amina.send("stale", settle=False)

    async with aiohttp.ClientSession() as session:
        await session.post(f"{emulator.base_url}{TOKEN}/deleteWebhook", data={"drop_pending_updates": "true"})

    assert await get_updates(emulator) == []


async def test_allowed_updates_filters_what_is_delivered(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina")
    await amina.send("text", settle=False)

    assert await get_updates(emulator, allowed_updates='["callback_query"]') == []
    await emulator.settle(timeout=1)  # the filtered update counts as gone, not as pending


async def test_stopping_ends_pending_long_polls_at_once(emulator: BotApiEmulator) -> None:
    poll = asyncio.create_task(get_updates(emulator, timeout=20))
    await emulator.wait_until(lambda: emulator.stats.requests_per_method["getUpdates"] > 0, 5, str)
    loop = asyncio.get_running_loop()
    started = loop.time()

    await emulator.stop()

    assert await poll == []
    assert loop.time() - started < 2


async def test_a_restarted_emulator_keeps_its_port_and_pending_updates(emulator: BotApiEmulator) -> None:
    root = emulator.api_root
    update = await emulator.user(1001, "Amina").send("while Telegram was down", settle=False)
    await emulator.stop()

    await emulator.start()

    assert emulator.api_root == root
    assert [u["update_id"] for u in await get_updates(emulator)] == [update["update_id"]]
