"""Greeting, language choice, consent and choosing a consultation: everything before a question."""

from __future__ import annotations

from dataclasses import replace

from telegram import Message, Update

from bot import callbacks, screens
from bot.context import BarazaContext
from bot.handlers.access import redeem_invitation
from bot.handlers.delivery import continue_or_choose, show, show_current


async def start(update: Update, context: BarazaContext) -> None:
    """Greet a newcomer with the language picker, or resume where a respondent left off."""
    services = context.services
    entered = await services.turns.enter(update)
    if entered is None:
        return
    turn, _ = entered
    if context.args:
        await redeem_invitation(context, turn, context.args[0])
    if not turn.respondent.consented:
        screen = screens.language_picker(turn.t, services.catalogs, turn.t.locale, greeting=True)
        await context.bot.send_message(turn.respondent.chat_id, screen.text,
                                       reply_markup=screen.keyboard)
        return
    if not turn.respondent.subscribed:
        await services.turns.set_subscribed(turn.respondent.user_id, True)
    await continue_or_choose(context, turn, welcome_back=True)


async def stop(update: Update, context: BarazaContext) -> None:
    """Leave the announcements (/stop); answers and progress are kept."""
    entered = await context.services.turns.enter(update)
    if entered is None:
        return
    turn, _ = entered
    await context.services.turns.set_subscribed(turn.respondent.user_id, False)
    await context.bot.send_message(turn.respondent.chat_id,
                                   turn.t.directed(screens.unsubscribed(turn.t)))


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
    if not turn.respondent.consented:
        screen = screens.consent(t, services.questionnaire,
                                 len(services.questionnaire.visible({})))
        await query.message.edit_text(screen.text, reply_markup=screen.keyboard)
        return
    await query.message.edit_text(t.directed(screens.language_set(t, services.catalogs)))
    turn = replace(turn, t=t)
    if turn.answering and turn.session is not None:
        await show_current(context, turn, turn.session)


async def consent(update: Update, context: BarazaContext, action: callbacks.Consent) -> None:
    """Begin when the respondent agrees; record nothing when they decline."""
    services = context.services
    query = update.callback_query
    assert query is not None and query.message is not None
    entered = await services.turns.enter(update)
    if entered is None or entered[0].repeated_tap:
        await query.answer()
        return
    turn, _ = entered
    if turn.respondent.consented:
        # An old consent message: consent was given before.
        await query.answer(screens.problem(turn.t, screens.Problem.STALE))
        return
    await query.answer()
    if not action.agreed:
        await query.message.edit_text(screens.declined(turn.t).text)
        return
    await services.turns.consent(turn.respondent.user_id)
    await continue_or_choose(context, turn, edit=_message(query.message))


async def open_consultation(update: Update, context: BarazaContext,
                            action: callbacks.OpenConsultation) -> None:
    """Begin or resume the consultation a button (a list, an announcement) names."""
    services = context.services
    query = update.callback_query
    assert query is not None
    entered = await services.turns.enter(update, consultation_id=action.consultation)
    if entered is None or entered[0].repeated_tap:
        await query.answer()
        return
    turn, _ = entered
    t, consultation = turn.t, turn.consultation
    if consultation is None or not services.turns.runs(consultation):
        await query.answer(screens.problem(t, screens.Problem.INVALID), show_alert=True)
        return
    if consultation.status != "open":
        await query.answer(screens.consultation_closed(t), show_alert=True)
        return
    if not turn.respondent.consented:
        await query.answer()
        screen = screens.language_picker(t, services.catalogs, t.locale, greeting=True)
        await context.bot.send_message(turn.respondent.chat_id, screen.text,
                                       reply_markup=screen.keyboard)
        return
    await query.answer()
    session, step = await services.turns.begin(turn.respondent.user_id, consultation)
    notice = None if session.answers else screens.consultation_heading(t, consultation)
    await show(context, turn, session, step.events[0], notice=notice)


def _message(message: object) -> Message | None:
    return message if isinstance(message, Message) else None
