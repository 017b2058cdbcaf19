"""Holding requests: a stalled network, during which a test can act (kill the bot, say)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from telegram import Bot

from emulator import BotApiEmulator

from .tinybot import TOKEN

AMINA = 1001


@pytest.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    emulator.user(AMINA, "Amina")
    async with Bot(TOKEN, base_url=emulator.base_url, base_file_url=emulator.base_file_url) as bot:
        yield bot


async def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_held_send_hangs_undone_until_released(bot: Bot, emulator: BotApiEmulator) -> None:
    amina = emulator.user(AMINA)
    emulator.hold("sendMessage")

    sending = asyncio.create_task(bot.send_message(AMINA, "Habari"))
    await until(lambda: emulator.held_requests == 1)
    assert amina.messages == []
    assert await bot.get_me()  # other methods go on

    emulator.release()
    sent = await sending

    assert [m.text for m in amina.messages] == ["Habari"] and sent.text == "Habari"
    assert emulator.held_requests == 0


async def test_a_held_send_whose_client_goes_away_is_never_done(
        bot: Bot, emulator: BotApiEmulator) -> None:
    amina = emulator.user(AMINA)
    emulator.hold("sendmessage")
    sending = asyncio.create_task(bot.send_message(AMINA, "Habari"))
    await until(lambda: emulator.held_requests == 1)

    sending.cancel()  # the HTTP client drops the request, as a killed bot would
    await until(lambda: emulator.held_requests == 0)
    emulator.release()
    await bot.send_message(AMINA, "Later")

    assert [m.text for m in amina.messages] == ["Later"]
