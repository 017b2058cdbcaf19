"""Answering callback queries exactly once, whatever path a handler takes."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, MaybeInaccessibleMessage, Message
from telegram.error import BadRequest

from bot.context import BarazaContext
from bot.screens import Screen

_logger = logging.getLogger(__name__)


async def answer(context: BarazaContext, query: CallbackQuery, text: str | None = None, *,
                 show_alert: bool = False) -> None:
    """Answer the update's callback query; only the first call per update reaches Telegram.

    The button dispatcher calls this again when the handler is done (or failed), so no button
    is left spinning and none is answered twice. A query too old to answer (tapped while the
    bot was down) is logged, and the handler goes on: the edit that follows still matters.
    """
    if context.answered_callback:
        return
    context.answered_callback = True
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as error:
        _logger.info("Callback query %s could not be answered: %s", query.id, error)


def accessible(message: MaybeInaccessibleMessage | None) -> Message | None:
    """The message, when the bot can still edit it (Telegram hides messages older than 48 h)."""
    return message if message is not None and message.is_accessible else None  # type: ignore[return-value]


async def replace(context: BarazaContext, chat_id: int, message: MaybeInaccessibleMessage | None,
                  screen: Screen) -> None:
    """Show ``screen`` in place of the tapped message, or as a new message when it is too old."""
    editable = accessible(message)
    if editable is not None:
        await editable.edit_text(screen.text, reply_markup=screen.keyboard)
    else:
        await context.bot.send_message(chat_id, screen.text, reply_markup=screen.keyboard)
