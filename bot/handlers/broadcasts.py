"""Moderators announce a consultation to every subscriber: /broadcast, preview, Send or Cancel, Stop."""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update

from bot import announcements, callbacks, screens
from bot.context import BarazaContext
from bot.handlers.replies import answer
from bot.handlers.access import permitted_command, permitted_tap
from bot.turns import Turn
from conversations.roles import Permission
from storage import AuditAction, Consultation
from storage.broadcasts import AlreadySending, Announcement, Audience


async def broadcast(update: Update, context: BarazaContext) -> None:
    """Offer the open consultations to announce (/broadcast)."""
    services = context.services
    permitted_turn = await permitted_command(update, context, Permission.BROADCAST)
    if permitted_turn is None:
        return
    turn, _ = permitted_turn
    t = turn.t
    open_ones = [c for c in await services.db.consultations.list(("open",)) if services.turns.runs(c)]
    if not open_ones:
        await context.bot.send_message(turn.respondent.chat_id,
                                       t.directed(announcements.nothing_to_announce(t)))
        return
    screen = announcements.chooser(t, open_ones)
    await context.bot.send_message(turn.respondent.chat_id, screen.text, reply_markup=screen.keyboard)


async def button(update: Update, context: BarazaContext, action: callbacks.Announce) -> None:
    """A broadcast button; the role is checked on every tap, so a forged one does nothing."""
    query = update.callback_query
    assert query is not None
    permitted_turn = await permitted_tap(update, context, Permission.BROADCAST)
    if permitted_turn is None:
        return
    turn, _ = permitted_turn
    match action.verb:
        case "pick":
            await _preview(context, turn, query, action.number)
        case "send":
            await _send(context, turn, query, action.number)
        case "cancel":
            await _cancel(context, turn, query, action.number)
        case "stop":
            await _stop(context, turn, query, action.number)
        case "everyone" | "unfinished":
            await _choose_audience(context, turn, query, action.number, Audience(action.verb))


async def _preview(context: BarazaContext, turn: Turn, query: CallbackQuery,
                   consultation_id: int) -> None:
    """Show the announcement and who would get it, as a draft to send or cancel."""
    services, t = context.services, turn.t
    consultation = await services.db.consultations.get(consultation_id)
    if consultation is None or not services.turns.runs(consultation):
        await answer(context, query, screens.problem(t, screens.Problem.INVALID), show_alert=True)
        return
    if consultation.status != "open":
        await answer(context, query, announcements.not_open(t), show_alert=True)
        return
    if not await services.db.broadcasts.audience(consultation.id):
        await answer(context, query)
        await _show(context, turn, query, screens.Screen(t.directed(announcements.no_subscribers(t))))
        return
    await answer(context, query)
    # Once a consultation was announced, the next broadcast is a reminder by default: those who
    # finished it are not asked again.
    last = await services.db.broadcasts.last_announcement(consultation.id)
    reach = Audience.UNFINISHED if last is not None else Audience.EVERYONE
    # The draft comes first, because the preview's buttons name it. The preview's message then
    # shows the progress, in the moderator's language.
    draft = await services.db.broadcasts.create(consultation.id, turn.respondent.user_id, t.locale,
                                                reach)
    screen = await _preview_screen(context, turn, consultation, draft.id, reach, last)
    shown = await _show(context, turn, query, screen)
    await services.db.broadcasts.show_progress_in(draft.id, shown.chat_id, shown.message_id,
                                                  screen.text)


async def _preview_screen(context: BarazaContext, turn: Turn, consultation: Consultation,
                          broadcast_id: int, reach: Audience,
                          last: Announcement | None) -> screens.Screen:
    services = context.services
    audience = announcements.audience_by_language(
        services.catalogs, await services.db.broadcasts.audience(consultation.id, reach))
    return announcements.preview(turn.t, services.catalogs, consultation, audience,
                                 broadcast_id, last, reach)


async def _choose_audience(context: BarazaContext, turn: Turn, query: CallbackQuery,
                           broadcast_id: int, reach: Audience) -> None:
    """Whom a draft reaches: every subscriber, or those who have not finished (a reminder)."""
    services, t = context.services, turn.t
    draft = await services.db.broadcasts.get(broadcast_id)
    if draft is None:
        await answer(context, query, screens.problem(t, screens.Problem.INVALID), show_alert=True)
        return
    consultation = await services.db.consultations.get(draft.consultation_id)
    if consultation is None or not await services.db.broadcasts.set_audience(broadcast_id, reach):
        await answer(context, query, announcements.not_a_draft(t))
        return
    await answer(context, query)
    last = await services.db.broadcasts.last_announcement(consultation.id)
    screen = await _preview_screen(context, turn, consultation, broadcast_id, reach, last)
    shown = await _show(context, turn, query, screen)
    await services.db.broadcasts.show_progress_in(broadcast_id, shown.chat_id, shown.message_id,
                                                  screen.text)


async def _send(context: BarazaContext, turn: Turn, query: CallbackQuery, broadcast_id: int) -> None:
    """Queue a delivery to every subscriber and hand the broadcast to the sender."""
    services, t = context.services, turn.t
    draft = await services.db.broadcasts.get(broadcast_id)
    if draft is None:
        await answer(context, query, screens.problem(t, screens.Problem.INVALID), show_alert=True)
        return
    consultation = await services.db.consultations.get(draft.consultation_id)
    if draft.status == "draft" and (consultation is None or consultation.status != "open"):
        await answer(context, query, announcements.not_open(t), show_alert=True)
        return
    try:
        started = await services.db.broadcasts.start(broadcast_id)
    except AlreadySending:
        # Two moderators, or /broadcast twice: one broadcast at a time, or everyone gets it twice.
        await answer(context, query, announcements.already_sending(t), show_alert=True)
        return
    if started is None:
        await answer(context, query, announcements.not_a_draft(t))
        return
    await answer(context, query, announcements.starting(t))
    await services.db.audit.record(turn.respondent.user_id, AuditAction.BROADCAST,
                                   consultation_id=draft.consultation_id, detail=str(started))
    services.send_broadcast(broadcast_id)


async def _cancel(context: BarazaContext, turn: Turn, query: CallbackQuery,
                  broadcast_id: int) -> None:
    """Drop a draft; nothing is sent."""
    t = turn.t
    if await context.services.db.broadcasts.get(broadcast_id) is None:
        await answer(context, query, screens.problem(t, screens.Problem.INVALID), show_alert=True)
        return
    if not await context.services.db.broadcasts.cancel(broadcast_id):
        await answer(context, query, announcements.not_a_draft(t))
        return
    await answer(context, query)
    await _show(context, turn, query, screens.Screen(t.directed(announcements.cancelled(t))))


async def _stop(context: BarazaContext, turn: Turn, query: CallbackQuery, broadcast_id: int) -> None:
    """Stop a broadcast being sent; the sender reports what went out."""
    services, t = context.services, turn.t
    if await services.db.broadcasts.get(broadcast_id) is None:
        await answer(context, query, screens.problem(t, screens.Problem.INVALID), show_alert=True)
        return
    if not await services.db.broadcasts.stop(broadcast_id):
        await answer(context, query, announcements.not_sending(t))
        return
    await answer(context, query, announcements.stopping(t))
    await services.db.audit.record(turn.respondent.user_id, AuditAction.STOP_BROADCAST,
                                   detail=str(broadcast_id))
    services.send_broadcast(broadcast_id)  # in case it is not being sent right now


async def _show(context: BarazaContext, turn: Turn, query: CallbackQuery,
                screen: screens.Screen) -> Message:
    """Put the screen in place of the tapped message, or in a new one if that is out of reach."""
    if isinstance(query.message, Message):
        edited = await query.message.edit_text(screen.text, reply_markup=screen.keyboard)
        if isinstance(edited, Message):
            return edited
    return await context.bot.send_message(turn.respondent.chat_id, screen.text,
                                          reply_markup=screen.keyboard)
