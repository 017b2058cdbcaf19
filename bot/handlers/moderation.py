"""Moderators run consultations from the chat: create, translate, schedule, open, close, list."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks, screens
from bot.context import BarazaContext
from bot.handlers.replies import accessible, answer
from bot.handlers.access import permitted_command, permitted_tap
from bot.i18n import Translator
from bot.scheduling import STATUS_ACTIONS, apply_schedule, change_status
from bot.turns import Turn
from conversations.roles import Permission
from storage import AuditAction, Consultation, ConsultationText


LISTED = 20


def _status_name(t: Translator, status: str) -> str:
    return {"draft": t._("draft"), "open": t._("open"), "closed": t._("closed")}[status]


def consultation_list(t: Translator, consultations: list[Consultation]) -> screens.Screen:
    """Every consultation with its status and schedule, and buttons to open or close it.

    The newest first, as many as fit one message: titles are cut short and the list stops
    before the text (or the keyboard) would pass Telegram's limits.
    """
    footer = ["", t._("Create one: /newconsultation Title | Description"),
              t._("Translate it: /translate number language Title | Description"),
              t._("Schedule it (UTC): /schedule number 2030-01-31T09:00 2030-02-28T18:00")]
    lines = [t._("<b>Consultations</b>")]
    rows = []
    budget = screens.TELEGRAM_TEXT_LIMIT - len("\n".join(footer)) - 100
    for c in consultations[:LISTED]:
        number = t.isolate(str(c.id))
        entry = [f"#{number} · {_status_name(t, c.status)} · "
                 f"{escape(_shorten(screens.consultation_text(t, c).title))}"]
        if c.opens_at:
            entry.append("   " + t._("opens {moment}").format(moment=t.moment(c.opens_at)))
        if c.closes_at:
            entry.append("   " + t._("closes {moment}").format(moment=t.moment(c.closes_at)))
        if len("\n".join(lines + entry)) > budget:
            break
        lines += entry
        if c.status == "draft":
            rows.append([InlineKeyboardButton(t._("Open #{number}").format(number=number),
                                              callback_data=callbacks.encode(callbacks.Moderate("open", c.id)))])
        if c.status in ("draft", "open"):
            rows.append([InlineKeyboardButton(t._("Close #{number}").format(number=number),
                                              callback_data=callbacks.encode(callbacks.Moderate("close", c.id)))])
    if not consultations:
        lines.append(t._("There are none yet."))
    return screens.Screen(t.directed("\n".join(lines + footer)),
                          InlineKeyboardMarkup(rows) if rows else None)


def _shorten(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[:limit - 1] + "…"


async def _moderator(update: Update, context: BarazaContext) -> Turn | None:
    permitted_turn = await permitted_command(update, context, Permission.MANAGE_CONSULTATIONS)
    return None if permitted_turn is None else permitted_turn[0]


async def _reply(context: BarazaContext, turn: Turn, text: str) -> None:
    await context.bot.send_message(turn.respondent.chat_id, turn.t.directed(text))


async def list_consultations(update: Update, context: BarazaContext) -> None:
    """List the consultations with buttons to open and close them (/consultations)."""
    turn = await _moderator(update, context)
    if turn is None:
        return
    screen = consultation_list(turn.t, await context.services.db.consultations.list())
    await context.bot.send_message(turn.respondent.chat_id, screen.text, reply_markup=screen.keyboard)


def _title_and_description(text: str) -> ConsultationText | None:
    title, _, description = text.partition("|")
    title, description = title.strip(), description.strip()
    if not title or len(title) > 200 or len(description) > 1000:
        return None
    return ConsultationText(title, description)


async def new_consultation(update: Update, context: BarazaContext) -> None:
    """Create a draft consultation of the questionnaire (/newconsultation Title | Description)."""
    turn = await _moderator(update, context)
    if turn is None:
        return
    t = turn.t
    text = _title_and_description(" ".join(context.args or []))
    if text is None:
        await _reply(context, turn, t._("Please give a title (up to 200 characters), then "
                                        "optionally | and a description: /newconsultation "
                                        "Title | Description"))
        return
    q = context.services.questionnaire
    created = await context.services.db.consultations.create(
        q.id, q.version, {t.locale: text}, created_by=turn.respondent.user_id)
    await context.services.db.audit.record(turn.respondent.user_id,
                                           AuditAction.CREATE_CONSULTATION,
                                           consultation_id=created.id)
    await _reply(context, turn, t._("Consultation #{number} was created as a draft. Open it from "
                                    "/consultations when it is ready.").format(number=t.isolate(str(created.id))))


async def translate(update: Update, context: BarazaContext) -> None:
    """Give a consultation's title and description in a language (/translate 3 fr Titre | …)."""
    turn = await _moderator(update, context)
    if turn is None:
        return
    t, services = turn.t, context.services
    args = context.args or []
    consultation = await _consultation(context, args[0] if args else "")
    locale = services.catalogs.supported(args[1]) if len(args) > 1 else None
    text = _title_and_description(" ".join(args[2:]))
    if consultation is None or locale is None or text is None:
        await _reply(context, turn, t._("Usage: /translate number language Title | Description "
                                        "(languages: {languages})").format(
            languages=", ".join(services.catalogs.locales)))
        return
    await services.db.consultations.set_text(consultation.id, locale, text)
    await services.db.audit.record(turn.respondent.user_id, AuditAction.TRANSLATE_CONSULTATION,
                                   consultation_id=consultation.id, detail=locale)
    await _reply(context, turn, t._("Saved the {language} text of consultation #{number}.").format(
        language=t.isolate(services.catalogs.autonym(locale)), number=t.isolate(str(consultation.id))))


async def schedule_consultation(update: Update, context: BarazaContext) -> None:
    """Set when a consultation opens and closes by itself (/schedule 3 OPENS CLOSES, UTC)."""
    turn = await _moderator(update, context)
    if turn is None:
        return
    t, services = turn.t, context.services
    args = context.args or []
    consultation = await _consultation(context, args[0] if args else "")
    moments = [_moment(a) for a in args[1:3]]
    if (consultation is None or len(args) != 3 or any(m is False for m in moments)
            or (moments[0] and moments[1] and moments[0] >= moments[1])):
        await _reply(context, turn, t._("Usage: /schedule number OPENS CLOSES, times in UTC like "
                                        "2030-01-31T09:00, or - for none; it must close after it "
                                        "opens."))
        return
    opens_at, closes_at = (m or None for m in moments)
    await services.db.consultations.set_schedule(consultation.id, opens_at, closes_at)  # type: ignore[arg-type]
    await services.db.audit.record(turn.respondent.user_id, AuditAction.SCHEDULE_CONSULTATION,
                                   consultation_id=consultation.id, detail=" ".join(args[1:3]))
    updated = await services.db.consultations.get(consultation.id)
    assert updated is not None
    await apply_schedule(context.application, updated)
    await _reply(context, turn, t._("Schedule of consultation #{number} saved.").format(
        number=t.isolate(str(consultation.id))))


async def moderate(update: Update, context: BarazaContext, action: callbacks.Moderate) -> None:
    """Open or close a consultation from its button; the role is checked on every tap."""
    query = update.callback_query
    assert query is not None
    permitted_turn = await permitted_tap(update, context, Permission.MANAGE_CONSULTATIONS)
    if permitted_turn is None:
        return
    turn, _ = permitted_turn
    t = turn.t
    if await context.services.db.consultations.get(action.consultation) is None:
        await answer(context, query, screens.problem(t, screens.Problem.INVALID), show_alert=True)
        return
    if not await change_status(context.application, action.consultation, action.verb):
        await answer(context, query, t._("Nothing changed: that consultation is not in a state for this."))
        return
    await context.services.db.audit.record(turn.respondent.user_id, STATUS_ACTIONS[action.verb],
                                           consultation_id=action.consultation)
    message = (t._("Consultation #{number} is now open.") if action.verb == "open"
               else t._("Consultation #{number} is now closed.")).format(number=t.isolate(str(action.consultation)))
    await answer(context, query, message)
    screen = consultation_list(t, await context.services.db.consultations.list())
    message = accessible(query.message)
    if message is not None:
        await message.edit_text(screen.text, reply_markup=screen.keyboard)


async def _consultation(context: BarazaContext, number: str) -> Consultation | None:
    digits = number.lstrip("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 9:
        return None
    return await context.services.db.consultations.get(int(digits))


def _moment(text: str) -> datetime | None | bool:
    """A UTC time from ``2030-01-31T09:00``; None for "-"; False when it cannot be read."""
    if text == "-":
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
