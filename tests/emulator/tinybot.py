"""A tiny real python-telegram-bot Application for driving the emulator in tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from emulator import BotApiEmulator
from emulator.files import tiny_png
from emulator.ptb import ProcessedUpdates

TOKEN = "123456:TEST"
CHOICES = {"yes": "Yes", "no": "No", "unsure": "Don't know"}


def readiness_keyboard() -> InlineKeyboardMarkup:
    """Three answers, two rows."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes", callback_data="ready:yes"),
                InlineKeyboardButton("No", callback_data="ready:no"),
            ],
            [InlineKeyboardButton("Don't know", callback_data="ready:unsure")],
        ]
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet in HTML and ask a question with buttons."""
    assert update.effective_message and update.effective_user
    await update.effective_message.reply_text(
        f"Karibu <b>{update.effective_user.first_name}</b>! Are you ready?",
        parse_mode=ParseMode.HTML,
        reply_markup=readiness_keyboard(),
    )


async def ready(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press, then replace the question with the choice."""
    query = update.callback_query
    assert query and query.data
    choice = CHOICES[query.data.split(":", 1)[1]]
    delay = context.bot_data.get("delay", 0.0)
    if delay:
        await asyncio.sleep(delay)
    await query.answer("Saved")
    await query.edit_message_text(f"You chose: <i>{choice}</i>", parse_mode=ParseMode.HTML)


async def stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Buttons the bot does not know (forged or from an old version) get an alert."""
    assert update.callback_query
    await update.callback_query.answer("This button has expired", show_alert=True)


async def ignore(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Deliberately never answers: the emulator must report it."""


async def files(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a chart and a CSV export."""
    assert update.effective_chat
    chat_id = update.effective_chat.id
    await context.bot.send_photo(
        chat_id, tiny_png(40, 30), caption="Your <b>chart</b>", parse_mode=ParseMode.HTML
    )
    await context.bot.send_document(chat_id, b"question,answer\nq1,yes\n", filename="answers.csv")


async def describe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say what kind of message arrived, proving PTB parsed the update."""
    message = update.effective_message
    assert message
    if message.sticker:
        kind = f"sticker {message.sticker.emoji}"
    elif message.photo:
        photo = await message.photo[-1].get_file()
        data = await photo.download_as_bytearray()
        kind = f"photo of {len(data)} bytes"
    elif message.voice:
        kind = "voice note"
    elif message.location:
        kind = f"location {message.location.latitude:.2f}"
    elif message.document:
        kind = f"document {message.document.file_name}"
    else:
        kind = f"text {message.text}"
    await message.reply_text(f"Got {kind}")


def build_application(
    emulator: BotApiEmulator, probe: ProcessedUpdates | None = None, token: str = TOKEN
) -> Application:
    """An Application talking to the emulator, with the tiny bot's handlers."""
    builder = (
        ApplicationBuilder().token(token).base_url(emulator.base_url).base_file_url(emulator.base_file_url)
    )
    if probe is not None:
        builder = builder.concurrent_updates(probe)
    app = builder.build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("files", files))
    app.add_handler(CallbackQueryHandler(ready, pattern=r"^ready:"))
    app.add_handler(CallbackQueryHandler(ignore, pattern=r"^ignore"))
    app.add_handler(CallbackQueryHandler(stale))
    app.add_handler(MessageHandler(filters.ALL & ~filters.COMMAND, describe))
    return app


@asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:
    """Run the Application's long polling for the duration of the block."""
    await app.initialize()
    await app.start()
    assert app.updater
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
