"""The terminal sandbox: a person types, the bot's messages and buttons are printed as plain text."""

from __future__ import annotations

import asyncio

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, MessageHandler, filters

from emulator import BotApiEmulator
from emulator.terminal import chat_in_terminal

pytestmark = pytest.mark.usefixtures("bot_app")


def typed(*lines: str, end: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    for line in lines:
        reader.feed_data(f"{line}\n".encode())
    if end:
        reader.feed_eof()
    return reader


async def test_prints_numbered_buttons_and_clicks_by_number(emulator: BotApiEmulator) -> None:
    printed: list[str] = []
    amina = emulator.user(1001, "Amina")

    await chat_in_terminal(emulator, amina, typed("/start", "2", "9"), printed.append)

    assert printed == [
        "Karibu Amina! Are you ready?",
        "[1] Yes  [2] No",
        "[3] Don't know",
        "(notice) Saved",
        "(edited) You chose: No",
        "(there is no button 9)",
    ]


async def test_prints_media_as_placeholders_and_right_to_left_text_as_is(emulator: BotApiEmulator) -> None:
    printed: list[str] = []
    omar = emulator.user(1002, "عمر", language_code="ar")

    await chat_in_terminal(emulator, omar, typed("/files", "مرحبا"), printed.append)

    assert printed == ["[photo: 81 B]", "Your chart", "[document: answers.csv, 23 B]", "Got text مرحبا"]


async def test_quit_ends_the_chat_before_the_rest_is_sent(emulator: BotApiEmulator) -> None:
    printed: list[str] = []
    amina = emulator.user(1001, "Amina")

    await chat_in_terminal(emulator, amina, typed("/quit", "/start", end=False), printed.append)

    assert printed == [] and amina.messages == []


async def test_link_buttons_are_shown_but_send_nothing(
    emulator: BotApiEmulator, bot_app: Application
) -> None:
    printed: list[str] = []
    amina = emulator.user(1001, "Amina")
    await bot_app.bot.send_message(
        1001,
        "Read more",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Website", url="https://example.org")]]),
    )

    await chat_in_terminal(emulator, amina, typed("1"), printed.append)

    assert printed == [
        "Read more",
        "[1] Website",
        "(this button opens https://example.org; nothing is sent to the bot)",
    ]


async def test_shows_what_telegram_refused(emulator: BotApiEmulator, bot_app: Application) -> None:
    async def broken(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message
        try:
            await update.effective_message.reply_html("1 < 2")  # should have been escaped
        finally:
            raise ApplicationHandlerStop  # keep the tiny bot's echo out of it; the BadRequest is the point

    bot_app.add_handler(MessageHandler(filters.Regex("^compare$"), broken), group=-1)
    printed: list[str] = []

    await chat_in_terminal(emulator, emulator.user(1001, "Amina"), typed("compare"), printed.append)

    assert printed == [
        "(Telegram refused sendMessage: Bad Request: can't parse entities: "
        'Unsupported start tag "" at byte offset 2)'
    ]
