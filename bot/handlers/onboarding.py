"""Greeting, language choice, consent and choosing a consultation: everything before a question."""

from __future__ import annotations

from telegram import Update

from bot import callbacks, screens
from bot.context import BarazaContext
from bot.handlers.replies import accessible, answer, replace
from bot.handlers.access import INVITATION_PREFIX, redeem_invitation
from storage import Database, Respondent
from bot.handlers.delivery import continue_or_choose, show, show_current


async def start(update: Update, context: BarazaContext) -> None:
    """Greet a newcomer with the language picker, or resume where a respondent left off."""
    services = context.services
    entered = await services.turns.enter(update)
    if entered is None:
        return
    turn, _ = entered
    if context.args and context.args[0].startswith(INVITATION_PREFIX):
        await redeem_invitation(context, turn, context.args[0])
    if not turn.respondent.consented:
        screen = screens.language_picker(turn.t, services.catalogs, turn.t.locale, greeting=True)
        await context.bot.send_message(turn.respondent.chat_id, screen.text,
                                       reply_markup=screen.keyboard)
        return
    await continue_or_choose(context, turn, welcome_back=True)
    if not turn.respondent.subscribed:
        # They sent /stop: announcements begin again only if they say so.
        screen = screens.resubscribe_question(turn.t)
        await context.bot.send_message(turn.respondent.chat_id, screen.text,
                                       reply_markup=screen.keyboard)


async def resubscribe(update: Update, context: BarazaContext,
                      action: callbacks.Resubscribe) -> None:
    """The answer to "receive announcements again?" after /stop."""
    query = update.callback_query
    assert query is not None

    async def choose(db: Database, respondent: Respondent) -> None:
        if action.agreed and respondent.consented:
            await db.respondents.set_subscribed(respondent.user_id, True)

    entered = await context.services.turns.enter(update, write=choose)
    if entered is None or entered[0].repeated_tap:
        return
    turn, _ = entered
    await answer(context, query)
    await replace(context, turn.respondent.chat_id, query.message,
                  screens.resubscribed(turn.t, turn.respondent.subscribed))


async def stop(update: Update, context: BarazaContext) -> None:
    """Leave the announcements (/stop); answers and progress are kept."""
    entered = await context.services.turns.enter(
        update, write=lambda db, respondent: db.respondents.set_subscribed(respondent.user_id, False))
    if entered is None:
        return
    turn, _ = entered
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
    valid = locale is not None and locale == action.locale

    async def choose(db: Database, respondent: Respondent) -> None:
        if valid and locale is not None:
            await db.respondents.set_locale(respondent.user_id, locale)

    entered = await services.turns.enter(update, write=choose)
    if entered is None:
        return
    turn, _ = entered
    if not valid or locale is None:
        await answer(context, query, screens.problem(turn.t, screens.Problem.INVALID), show_alert=True)
        return
    if turn.repeated_tap:
        return
    t = turn.t  # already in the chosen language: the respondent was read after the write
    await answer(context, query)
    if not turn.respondent.consented:
        screen = screens.consent(t, services.questionnaire,
                                 len(services.questionnaire.visible({})))
        await replace(context, turn.respondent.chat_id, query.message, screen)
        return
    await replace(context, turn.respondent.chat_id, query.message,
                  screens.notice(t, screens.language_set(t, services.catalogs)))
    if turn.answering and turn.session is not None:
        await show_current(context, turn, turn.session)


async def consent(update: Update, context: BarazaContext, action: callbacks.Consent) -> None:
    """Begin when the respondent agrees; record nothing when they decline."""
    services = context.services
    query = update.callback_query
    assert query is not None and query.message is not None
    was_consented = False

    async def record(db: Database, respondent: Respondent) -> None:
        nonlocal was_consented
        was_consented = respondent.consented
        if action.agreed:
            await services.turns.consent(db, respondent)

    entered = await services.turns.enter(update, write=record)
    if entered is None or entered[0].repeated_tap:
        return
    turn, _ = entered
    if was_consented:
        # An old consent message: carry on where the respondent is, in a new message.
        await continue_or_choose(context, turn, welcome_back=True)
        return
    if not action.agreed:
        await replace(context, turn.respondent.chat_id, query.message, screens.declined(turn.t))
        return
    await continue_or_choose(context, turn, edit=accessible(query.message))


async def open_consultation(update: Update, context: BarazaContext,
                            action: callbacks.OpenConsultation) -> None:
    """Begin or resume the consultation a button (a list, an announcement) names."""
    services = context.services
    query = update.callback_query
    assert query is not None
    entered = await services.turns.enter(update, consultation_id=action.consultation)
    if entered is None or entered[0].repeated_tap:
        await answer(context, query)
        return
    turn, _ = entered
    t, consultation = turn.t, turn.consultation
    if consultation is None or not services.turns.runs(consultation):
        await answer(context, query, screens.problem(t, screens.Problem.INVALID), show_alert=True)
        return
    if consultation.status != "open":
        await answer(context, query, screens.consultation_closed(t), show_alert=True)
        return
    if not turn.respondent.consented:
        await answer(context, query)
        screen = screens.language_picker(t, services.catalogs, t.locale, greeting=True)
        await context.bot.send_message(turn.respondent.chat_id, screen.text,
                                       reply_markup=screen.keyboard)
        return
    await answer(context, query)
    session, step = await services.turns.begin(turn.respondent.user_id, consultation)
    notice = None if session.answers else screens.consultation_heading(t, consultation)
    await show(context, turn, session, step.events[0], notice=notice)
