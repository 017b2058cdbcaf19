"""Answering: option buttons, Skip, Back, and typed comments."""

from __future__ import annotations

from telegram import ReplyParameters, Update

from bot import callbacks, screens
from bot.context import BarazaContext
from bot.handlers.replies import accessible, answer
from bot.handlers.delivery import refresh, show, show_current
from bot.turns import Move, Turn
from conversations.flow import Flow, Problem, Progress, Rejected, Step


QuestionAction = callbacks.Choose | callbacks.Skip | callbacks.Keep | callbacks.Back


def _move(action: QuestionAction) -> Move:
    """The engine call a button stands for."""
    def move(flow: Flow, progress: Progress) -> Step:
        match action:
            case callbacks.Choose(_, question_id, option_id):
                return flow.choose(progress, question_id, option_id)
            case callbacks.Skip(_, question_id):
                return flow.skip(progress, question_id)
            case callbacks.Keep(_, question_id):
                return flow.keep(progress, question_id)
            case callbacks.Back(_, question_id):
                return flow.back(progress, question_id)
    return move


async def button(update: Update, context: BarazaContext, action: QuestionAction) -> None:
    """Record a tapped answer (or go back) and show the next screen in the same message."""
    services = context.services
    query = update.callback_query
    assert query is not None and query.message is not None
    entered = await services.turns.enter(update, _move(action), consultation_id=action.consultation)
    if entered is None:
        await answer(context, query)
        return
    turn, step = entered
    t, session = turn.t, turn.session
    if turn.consultation is None or session is None:
        # Not a consultation of ours, or one this respondent never began: a forged button.
        await answer(context, query, screens.problem(t, Problem.INVALID), show_alert=True)
        return
    if turn.consultation.status != "open":
        await answer(context, query, screens.consultation_closed(t), show_alert=True)
        return
    if step is None:
        await answer(context, query, screens.problem(t, Problem.ALREADY_ANSWERED))
        return
    (event,) = step.events
    if isinstance(event, Rejected):
        await answer(context, query, screens.problem(t, event.problem),
                           show_alert=event.problem in (Problem.INVALID, Problem.NOTHING_BEFORE))
        if event.problem in (Problem.STALE, Problem.ALREADY_ANSWERED):
            await refresh(context, turn, session, query.message)
        return
    await answer(context, query)
    # Edit in place only the message known to show the current question: its content is
    # certain to change. A Back from any other message gets a fresh message instead.
    in_place = not isinstance(action, callbacks.Back) or (
        query.message.message_id == session.prompt_message_id)
    target = accessible(query.message) if in_place else None
    await show(context, turn, session, event, edit=target)


async def back_command(update: Update, context: BarazaContext) -> None:
    """Go back to the previous question (/back)."""
    entered = await context.services.turns.enter(update, lambda flow, progress: flow.back(progress))
    if entered is None:
        return
    turn, step = entered
    await _reply_to_step(context, turn, step)


async def text(update: Update, context: BarazaContext) -> None:
    """Take a typed message as a comment, or as an option by its label or number ("yes", "2")."""
    message = update.effective_message
    assert message is not None and message.text is not None
    typed = message.text
    entered = await context.services.turns.enter(update, typed=typed)
    if entered is None:
        return
    turn, step = entered
    await _reply_to_step(context, turn, step, length=len(typed.strip()))


async def unsupported(update: Update, context: BarazaContext) -> None:
    """Explain that stickers, photos, voice and the like cannot be read, and show the question."""
    entered = await context.services.turns.enter(update)
    if entered is None:
        return
    turn, _ = entered
    notice = screens.unsupported_message(turn.t)
    if not turn.answering or turn.session is None:
        await context.bot.send_message(turn.respondent.chat_id,
                                       turn.t.directed(notice + "\n" + _not_answering(turn)))
        return
    await show_current(context, turn, turn.session, notice=notice)


def _not_answering(turn: Turn) -> str:
    """Why there is no question to answer, and what to do."""
    if turn.session is None:
        return screens.not_started(turn.t)
    if turn.consultation is not None and turn.consultation.status != "open":
        return screens.consultation_closed(turn.t)
    return screens.problem(turn.t, Problem.FINISHED)


async def _reply_to_step(context: BarazaContext, turn: Turn, step: Step | None,
                         length: int | None = None) -> None:
    """Answer a typed input: the next screen, or what went wrong and the question again."""
    t, session, chat_id = turn.t, turn.session, turn.respondent.chat_id
    if session is None or step is None:
        await context.bot.send_message(chat_id, t.directed(_not_answering(turn)))
        return
    (event,) = step.events
    if not isinstance(event, Rejected):
        notice = None
        if step.saved is not None:
            notice = screens.typed_answer_recorded(t, context.services.questionnaire, step.saved)
        await show(context, turn, session, event, notice=notice)
        return
    notice = screens.problem(t, event.problem, limit=event.limit, length=length)
    if event.problem is Problem.EXPECTED_BUTTON and session.prompt_message_id is not None:
        # A reminder, not the question again: it points at the question's message instead.
        await context.bot.send_message(
            chat_id, t.directed(notice),
            reply_parameters=ReplyParameters(session.prompt_message_id,
                                             allow_sending_without_reply=True))
    elif event.problem in (Problem.FINISHED, Problem.TEXT_TOO_LONG):
        await context.bot.send_message(chat_id, t.directed(notice))
    else:
        await show_current(context, turn, session, notice=notice)
