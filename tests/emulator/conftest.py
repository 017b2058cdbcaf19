"""Fixtures: a started emulator, and the tiny bot polling it with an idle probe."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram.ext import Application

from emulator import BotApiEmulator
from emulator.ptb import ProcessedUpdates

from .tinybot import TOKEN, build_application, polling


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator(token=TOKEN)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
async def bot_app(emulator: BotApiEmulator) -> AsyncIterator[Application]:
    """The tiny bot, polling, with the emulator settling exactly through its update processor."""
    probe = ProcessedUpdates()
    emulator.idle_probe = probe
    async with polling(build_application(emulator, probe)) as app:
        yield app
