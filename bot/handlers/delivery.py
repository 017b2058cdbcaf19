"""Sending what the engine decided: question screens, scores and notices."""

from __future__ import annotations

from contextlib import suppress

from telegram import MaybeInaccessibleMessage, Message
from telegram.error import BadRequest

from bot import screens, summary_screens
from bot.context import BarazaContext
from bot.handlers.replies import accessible
from bot.turns import Turn
from conversations.flow import AskQuestion, Completed, Event, Step
from storage import Session


async def show(context: BarazaContext, turn: Turn, session: Session, event: Event,
               *, edit: Message | None = None, notice: str | None = None) -> None:
    """Show a question or the scores, editing ``edit`` in place when given, else as a new message."""
    services = context.services
    if isinstance(event, AskQuestion):
        screen = screens.question(turn.t, services.questionnaire, session.consultation_id, event,
                                  notice)
    elif isinstance(event, Completed):
        comparison = await _comparison(context, turn, session, event)
        screen = screens.scores(turn.t, services.questionnaire, event.scores, comparison)
    else:
        raise TypeError(f"not a screen: {event!r}")
    if edit is not None:
        await edit.edit_text(screen.text, reply_markup=screen.keyboard)
        message_id = edit.message_id
    else:
        sent = await context.bot.send_message(turn.respondent.chat_id, screen.text,
                                              reply_markup=screen.keyboard)
        message_id = sent.message_id
    if isinstance(event, AskQuestion):
        await services.turns.shown(session, message_id)
    previous = session.prompt_message_id
    if previous is not None and previous != message_id:
        # That message still shows a question with its buttons; now another one does the job.
        # The respondent may have deleted it (or cleared the chat): nothing is lost then.
        with suppress(BadRequest):
            await context.bot.edit_message_reply_markup(turn.respondent.chat_id, previous,
                                                        reply_markup=None)


async def _comparison(context: BarazaContext, turn: Turn, session: Session,
                      event: Completed) -> list[str]:
    """Citizens' and officials' averages beside the respondent's scores, once groups are big enough."""
    services = context.services
    consultation = await services.db.consultations.get(session.consultation_id)
    if services.summaries is None or consultation is None or not services.turns.runs(consultation):
        return []
    summary = await services.summaries.summary(consultation)
    return summary_screens.comparison(turn.t, services.questionnaire, event.scores, summary)


async def show_current(context: BarazaContext, turn: Turn, session: Session,
                       *, edit: Message | None = None, notice: str | None = None) -> None:
    """Show where the respondent is now (after a problem, a restart or a language change)."""
    turns = context.services.turns
    step: Step = turns.flow.resume(turns.progress(session))
    await show(context, turn, session, step.events[0], edit=edit, notice=notice)


async def refresh(context: BarazaContext, turn: Turn, session: Session,
                  tapped: MaybeInaccessibleMessage) -> None:
    """After a tap on an outdated message, make it show the current question.

    The message recorded as the prompt already shows the current question, so it is left
    alone (editing it to the same content is an error); any other message of ours with
    buttons shows something else, and is edited in place where the respondent is looking.
    """
    if tapped.message_id == session.prompt_message_id or session.finished:
        return
    await show_current(context, turn, session, edit=accessible(tapped))


async def continue_or_choose(context: BarazaContext, turn: Turn, *, edit: Message | None = None,
                             welcome_back: bool = False) -> None:
    """Resume the consultation being answered, else begin the open one, or offer a choice."""
    turns, t = context.services.turns, turn.t
    chat_id = turn.respondent.chat_id
    if turn.answering and turn.session is not None:
        notice = t._("Welcome back! Let's continue.") if welcome_back else None
        await show_current(context, turn, turn.session, edit=edit, notice=notice)
        return
    if turn.session is not None and turn.session.finished and welcome_back:
        await show_current(context, turn, turn.session)
        edit = None
    candidates = await turns.open_consultations(turn.respondent.user_id)
    if len(candidates) == 1:
        session, step = await turns.begin(turn.respondent.user_id, candidates[0])
        notice = screens.consultation_heading(t, candidates[0])
        await show(context, turn, session, step.events[0], edit=edit, notice=notice)
        return
    if candidates:
        screen = screens.consultation_chooser(t, candidates)
    elif turn.session is not None and turn.session.finished:
        return  # the scores were shown; nothing else is open
    else:
        screen = screens.notice(t, screens.nothing_open(t))
    if edit is not None:
        await edit.edit_text(screen.text, reply_markup=screen.keyboard)
    else:
        await context.bot.send_message(chat_id, screen.text, reply_markup=screen.keyboard)
