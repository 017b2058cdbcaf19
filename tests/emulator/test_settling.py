"""Settling: each user's action returns exactly when the bot is done with that user's chat."""

from __future__ import annotations

import asyncio
import random

import pytest
from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes, MessageHandler, filters

from emulator import BotApiEmulator
from emulator.ptb import ProcessedUpdates

from .tinybot import CHOICES, build_application, polling


@pytest.mark.parametrize("concurrency", [1, 50], ids=["sequential-bot", "concurrent-bot"])
async def test_fifty_users_clicking_at_once_each_settle_on_their_own_chat(
    emulator: BotApiEmulator, concurrency: int
) -> None:
    probe = ProcessedUpdates(max_concurrent_updates=concurrency)
    emulator.idle_probe = probe
    app = build_application(emulator, probe)
    app.bot_data["delay"] = 0.005
    rng = random.Random(7)

    async def person(number: int) -> None:
        user = emulator.user(2000 + number, f"User{number}")
        await user.send("/start")
        assert user.buttons == ["Yes", "No", "Don't know"], user.transcript()
        choice = rng.choice(list(CHOICES.values()))
        await user.click(choice)
        # Settled means this user's own press was answered and their question edited, nothing less.
        assert user.last_message is not None and user.last_message.text == f"You chose: {choice}", (
            user.transcript()
        )
        assert [a.text for a in user.callback_answers] == ["Saved"]

    async with polling(app):
        await asyncio.gather(*(person(n) for n in range(50)))

    assert emulator.unanswered_callback_queries() == []
    assert emulator.errors == []


async def test_without_a_probe_settles_after_the_bot_goes_quiet_in_the_chat(emulator: BotApiEmulator) -> None:
    emulator.quiet = 0.4
    app = build_application(emulator)

    async def slow_pair(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message
        await asyncio.sleep(0.05)
        await update.effective_message.reply_text("first")
        await asyncio.sleep(0.1)  # shorter than the quiet period: still the same answer
        await update.effective_message.reply_text("second")
        raise ApplicationHandlerStop

    app.add_handler(MessageHandler(filters.Regex("^pair$"), slow_pair), group=-1)
    amina = emulator.user(1001, "Amina")

    async with polling(app):
        await amina.send("pair")
        assert [m.text for m in amina.messages] == ["first", "second"]


async def test_a_bot_that_never_polls_times_out_with_the_transcript(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina")

    with pytest.raises(TimeoutError, match=r"(?s)never fetched by getUpdates.*Amina: hello"):
        await amina.send("hello", timeout=0.2)


async def test_a_bot_that_never_finishes_times_out(emulator: BotApiEmulator) -> None:
    probe = ProcessedUpdates()
    emulator.idle_probe = probe
    app = build_application(emulator, probe)
    release = asyncio.Event()

    async def stuck(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await release.wait()
        raise ApplicationHandlerStop

    app.add_handler(MessageHandler(filters.Regex("^stuck$"), stuck), group=-1)
    amina = emulator.user(1001, "Amina")
    async with polling(app):
        with pytest.raises(TimeoutError, match="never finished update"):
            await amina.send("stuck", timeout=0.2)
        release.set()
        await emulator.settle()


async def test_settle_waits_for_every_chat(emulator: BotApiEmulator) -> None:
    probe = ProcessedUpdates(max_concurrent_updates=8)
    emulator.idle_probe = probe
    users = [emulator.user(3000 + n, f"U{n}") for n in range(5)]

    async with polling(build_application(emulator, probe)):
        for user in users:
            await user.send("/start", settle=False)
        await emulator.settle()

    assert all(len(user.messages) == 1 for user in users)
