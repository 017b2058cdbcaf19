"""Greeting, language choice and consent: everything before the first question."""

from __future__ import annotations

from dataclasses import replace

from telegram import Update

from bot import callbacks, screens
from bot.context import BarazaContext
from bot.handlers.delivery import refresh, show, show_current


async def start(update: Update, context: BarazaContext) -> None:
    """Greet a newcomer with the language picker, or resume where a respondent left off."""
    services = context.services
    entered = await services.turns.enter(update)
    if entered is None:
        return
    turn, _ = entered
    session = turn.session
    if not turn.respondent.consented or session is None:
        screen = screens.language_picker(turn.t, services.catalogs, turn.t.locale, greeting=True)
        await context.bot.send_message(turn.respondent.chat_id, screen.text,
                                       reply_markup=screen.keyboard)
        return
    notice = None if session.finished else turn.t._("Welcome back! Let's continue.")
    await show_current(context, turn, session, notice=notice)


async def language(update: Update, context: BarazaContext) -> None:
    """Offer the languages again (/language)."""
    services = context.services
    entered = await services.turns.enter(update)
    if entered is None:
        return
    turn, _ = entered
    screen = screens.language_picker(turn.t, services.catalogs, turn.t.locale, greeting=False)
    await context.bot.send_message(turn.respondent.chat_id, screen.text, reply_markup=screen.keyboard)


async def pick_language(update: Update, context: BarazaContext,
                        action: callbacks.PickLanguage) -> None:
    """Store the chosen language, then ask for consent or continue the questionnaire."""
    services = context.services
    query = update.callback_query
    assert query is not None and query.message is not None
    locale = services.catalogs.supported(action.locale)
    entered = await services.turns.enter(update)
    if entered is None:
        await query.answer()
        return
    turn, _ = entered
    if locale is None or locale != action.locale:
        await query.answer(screens.problem(turn.t, screens.Problem.INVALID), show_alert=True)
        return
    if turn.repeated_tap:
        await query.answer()
        return
    await services.turns.set_locale(turn.respondent.user_id, locale)
    t = services.catalogs.translator(locale)
    await query.answer()
    session = turn.session
    if not turn.respondent.consented or session is None:
        screen = screens.consent(t, services.questionnaire,
                                 len(services.questionnaire.visible({})))
        await query.message.edit_text(screen.text, reply_markup=screen.keyboard)
        return
    await query.message.edit_text(t.directed(screens.language_set(t, services.catalogs)))
    await show_current(context, replace(turn, t=t), session)


async def consent(update: Update, context: BarazaContext, action: callbacks.Consent) -> None:
    """Begin the questionnaire when the respondent agrees; record nothing when they decline."""
    services = context.services
    query = update.callback_query
    assert query is not None and query.message is not None
    entered = await services.turns.enter(update)
    if entered is None or entered[0].repeated_tap:
        await query.answer()
        return
    turn, _ = entered
    if turn.session is not None:
        # Consent was given before: this is an old consent message.
        await query.answer(screens.problem(turn.t, screens.Problem.STALE))
        await refresh(context, turn, turn.session, query.message)
        return
    await query.answer()
    if not action.agreed:
        await query.message.edit_text(screens.declined(turn.t).text)
        return
    session, step = await services.turns.start_session(turn.respondent.user_id)
    await show(context, turn, session, step.events[0], edit=query.message)

