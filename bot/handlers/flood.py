"""What a user who writes faster than the bot can answer gets: one request to slow down."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.context import SERVICES, Services

_logger = logging.getLogger(__name__)


async def slow_down(application: Application, update: Update, first: bool) -> None:
    """An update dropped because its user has too many waiting (bot/ordering.py).

    Its button, if it was one, stops spinning; the first one dropped since the user's queue was
    last empty also tells them, in their language, that what they sent meanwhile was not read.
    """
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        services: Services | None = application.bot_data.get(SERVICES)
        user, chat = update.effective_user, update.effective_chat
        if not first or services is None or user is None or chat is None or chat.type != "private":
            return
        t = await services.turns.translator_for(user.id, user.language_code)
        await application.bot.send_message(chat.id, t.directed(t._(
            "You are writing faster than I can answer, so I have skipped some of your latest "
            "messages. Please wait for my replies, then go on.")))
    except TelegramError:
        _logger.warning("Could not ask user %s to slow down", update.effective_user, exc_info=True)
