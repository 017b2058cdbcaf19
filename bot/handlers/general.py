"""Help, unknown commands, the button dispatcher and the error handler."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot import callbacks, screens
from bot.context import BarazaContext
from bot.handlers.replies import answer
from bot.handlers import broadcasts, moderation, onboarding, privacy, questions, roles, summaries
from conversations.flow import Problem

_logger = logging.getLogger(__name__)


async def help_command(update: Update, context: BarazaContext) -> None:
    """Explain the commands in the respondent's language (/help)."""
    entered = await context.services.turns.enter(update)
    if entered is None:
        return
    turn, _ = entered
    role, _ = await context.services.turns.role_of(turn.respondent.user_id)
    await context.bot.send_message(turn.respondent.chat_id, screens.help_text(turn.t, role).text)


async def unknown_command(update: Update, context: BarazaContext) -> None:
    """Answer a command the bot does not have."""
    entered = await context.services.turns.enter(update)
    if entered is None:
        return
    turn, _ = entered
    await context.bot.send_message(turn.respondent.chat_id,
                                   turn.t.directed(screens.unknown_command(turn.t)))


async def button(update: Update, context: BarazaContext) -> None:
    """Route an inline-button tap by its decoded action; forged data gets a polite refusal."""
    query = update.callback_query
    assert query is not None
    try:
        await _route(update, context, callbacks.decode(query.data))
    finally:
        await answer(context, query)  # a no-op when the handler already answered


async def _route(update: Update, context: BarazaContext, action: callbacks.Action | None) -> None:
    query = update.callback_query
    assert query is not None
    match action:
        case callbacks.PickLanguage():
            await onboarding.pick_language(update, context, action)
        case callbacks.Consent():
            await onboarding.consent(update, context, action)
        case callbacks.Resubscribe():
            await onboarding.resubscribe(update, context, action)
        case callbacks.Choose() | callbacks.Skip() | callbacks.Keep() | callbacks.Back():
            await questions.button(update, context, action)
        case callbacks.OpenConsultation():
            await onboarding.open_consultation(update, context, action)
        case callbacks.Moderate():
            await moderation.moderate(update, context, action)
        case callbacks.Announce():
            await broadcasts.button(update, context, action)
        case (callbacks.Summarise() | callbacks.Export() | callbacks.ReadComments()
              | callbacks.QuestionPage() | callbacks.Report()):
            await summaries.button(update, context, action)
        case callbacks.Forget():
            await privacy.forget_button(update, context, action)
        case callbacks.ManageRole():
            await roles.button(update, context, action)
        case _:
            user = query.from_user
            t = await context.services.turns.translator_for(user.id, user.language_code)
            await answer(context, query, screens.problem(t, Problem.INVALID), show_alert=True)


async def private_only(update: Update, context: BarazaContext) -> None:
    """Ask to be talked to privately when addressed in a group."""
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    services = context.services
    t = services.turns.translator(None, update.effective_user.language_code)
    await message.reply_text(screens.private_only(t).text)


async def error(update: object, context: BarazaContext) -> None:
    """Log a handler's error and tell the user to try again; the next update is handled as usual."""
    user = update.effective_user if isinstance(update, Update) else None
    if isinstance(context.error, Forbidden) and user is not None:
        # The user blocked the bot (or deleted their account): nothing to tell them, ever.
        _logger.info("User %s blocked the bot: %s", user.id, context.error)
        await context.services.db.respondents.mark_blocked(user.id)
        return
    _logger.error("Error while handling update %s", getattr(update, "update_id", update),
                  exc_info=context.error)
    if not isinstance(update, Update) or user is None:
        return
    try:
        t = await context.services.turns.translator_for(user.id, user.language_code)
        if update.effective_chat is not None and update.effective_chat.type == "private":
            await context.bot.send_message(update.effective_chat.id, t.directed(screens.try_again(t)))
    except TelegramError:
        _logger.warning("Could not tell user %s about the error", user.id, exc_info=True)
