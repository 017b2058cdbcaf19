"""Outages: requests fail undone, answered with a server error or not answered at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError

from emulator import BotApiEmulator

from .tinybot import TOKEN

AMINA = 1001


@pytest.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    emulator.user(AMINA, "Amina")
    async with Bot(TOKEN, base_url=emulator.base_url, base_file_url=emulator.base_file_url) as bot:
        yield bot


async def test_a_server_error_fails_the_send_undone_until_healed(
        bot: Bot, emulator: BotApiEmulator) -> None:
    amina = emulator.user(AMINA)
    emulator.fail("sendMessage")

    with pytest.raises(NetworkError, match="Bad Gateway") as raised:
        await bot.send_message(AMINA, "Habari")
    assert not isinstance(raised.value, BadRequest)  # PTB's outage, not a refusal
    assert amina.messages == []
    assert await bot.get_me()  # other methods go on
    assert [(e.method, e.code) for e in emulator.errors] == [("sendMessage", 502)]

    emulator.heal()
    await bot.send_message(AMINA, "Later")

    assert [m.text for m in amina.messages] == ["Later"]
    assert emulator.failed_requests == 1


async def test_a_dropped_connection_gets_no_answer_at_all(
        bot: Bot, emulator: BotApiEmulator) -> None:
    amina = emulator.user(AMINA)
    emulator.fail("sendmessage", status=None)

    for _ in range(2):
        with pytest.raises(NetworkError, match="disconnected without sending a response"):
            await bot.send_message(AMINA, "Habari")
    assert amina.messages == [] and emulator.errors == []

    emulator.heal()
    await bot.send_message(AMINA, "Later")

    assert [m.text for m in amina.messages] == ["Later"]
    assert emulator.failed_requests == 2


async def test_an_outage_of_every_method(bot: Bot, emulator: BotApiEmulator) -> None:
    emulator.fail(status=503)

    for call in (bot.get_me(), bot.send_message(AMINA, "Habari"), bot.get_updates(timeout=0)):
        with pytest.raises(NetworkError, match="Service Unavailable"):
            await call
    emulator.heal()

    assert await bot.get_me()
    assert emulator.failed_requests == 3


async def test_an_outage_answers_only_server_errors(emulator: BotApiEmulator) -> None:
    with pytest.raises(ValueError, match="5xx"):
        emulator.fail("sendMessage", status=400)
