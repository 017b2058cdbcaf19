"""Moderators run consultations from the chat: create, translate, schedule, open, close, list."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import arguments, callbacks, screens
from bot.arguments import Invalid
from bot.context import BarazaContext
from bot.handlers.replies import accessible, answer
from bot.handlers.access import permitted_command, permitted_tap
from bot.i18n import Translator
from bot.scheduling import STATUS_ACTIONS, apply_schedule, change_status
from bot.turns import Turn
from conversations.roles import Permission
from storage import AuditAction, Consultation, ConsultationStatus, ConsultationText


LISTED = 20


def _status_name(t: Translator, status: ConsultationStatus) -> str:
    return {ConsultationStatus.DRAFT: t._("draft"), ConsultationStatus.OPEN: t._("open"),
            ConsultationStatus.CLOSED: t._("closed")}[status]


def _button(text: str, verb: str, consultation_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text, callback_data=callbacks.encode(callbacks.Moderate(verb, consultation_id)))


def consultation_list(t: Translator, consultations: list[Consultation]) -> screens.Screen:
    """Every consultation with its status and schedule, and buttons to act on it.

    A draft can be opened or deleted, an open one closed, a closed one reopened. The newest
    first, as many as fit one message: titles are cut short and the list stops before the
    text (or the keyboard) would pass Telegram's limits.
    """
    footer = ["", t._("Create one: /newconsultation Title | Description"),
              t._("Edit or translate it: /translate number language Title | Description"),
              t._("Schedule it (times in {zone}): /schedule number 2030-01-31T09:00 "
                  "2030-02-28T18:00").format(zone=t.isolate(t.zone_name))]
    lines = [t._("<b>Consultations</b>")]
    rows = []
    budget = screens.TELEGRAM_TEXT_LIMIT - len("\n".join(footer)) - 100
    for c in consultations[:LISTED]:
        number = t.isolate(str(c.id))
        entry = [f"#{number} · {_status_name(t, c.status)} · "
                 f"{escape(_shorten(screens.consultation_text(t, c).title))}"]
        if c.opens_at and c.status is ConsultationStatus.DRAFT:
            entry.append("   " + t._("opens {moment}").format(moment=t.moment(c.opens_at)))
        if c.closes_at and c.status is not ConsultationStatus.CLOSED:
            entry.append("   " + t._("closes {moment}").format(moment=t.moment(c.closes_at)))
        if len("\n".join(lines + entry)) > budget:
            break
        lines += entry
        match c.status:
            case ConsultationStatus.DRAFT:
                rows.append([_button(t._("Open #{number}").format(number=number), "open", c.id),
                             _button(t._("Delete #{number}").format(number=number), "delete",
                                     c.id)])
            case ConsultationStatus.OPEN:
                rows.append([_button(t._("Close #{number}").format(number=number), "close", c.id)])
            case ConsultationStatus.CLOSED:
                rows.append([_button(t._("Reopen #{number}").format(number=number), "reopen",
                                     c.id)])
    if not consultations:
        lines.append(t._("There are none yet."))
    return screens.Screen(t.directed("\n".join(lines + footer)),
                          InlineKeyboardMarkup(rows) if rows else None)


def close_question(t: Translator, consultation: Consultation, halfway: int) -> screens.Screen:
    """Closing asks first, saying whom it stops."""
    number = t.isolate(str(consultation.id))
    title = t.isolate(escape(_shorten(screens.consultation_text(t, consultation).title)))
    lines = [t._("Close consultation #{number}, {title}?").format(number=number, title=title)]
    if halfway:
        lines.append(t.ngettext(
            "{count} person is halfway through it and will not be able to finish.",
            "{count} people are halfway through it and will not be able to finish.",
            halfway).format(count=t.number(halfway)))
    else:
        lines.append(t._("Nobody is halfway through it."))
    lines.append(t._("Every answer given so far is kept, and you can reopen it later."))
    keyboard = InlineKeyboardMarkup([[
        _button(t._("Yes, close #{number}").format(number=number), "close_ok", consultation.id),
        _button(t._("Keep it open"), "list", consultation.id)]])
    return screens.Screen(t.directed("\n".join(lines)), keyboard)


def delete_question(t: Translator, consultation: Consultation) -> screens.Screen:
    """Deleting a draft asks first."""
    number = t.isolate(str(consultation.id))
    title = t.isolate(escape(_shorten(screens.consultation_text(t, consultation).title)))
    text = t._("Delete the draft #{number}, {title}, with its texts in every language? This "
               "cannot be undone.").format(number=number, title=title)
    keyboard = InlineKeyboardMarkup([[
        _button(t._("Yes, delete #{number}").format(number=number), "delete_ok", consultation.id),
        _button(t._("Keep it"), "list", consultation.id)]])
    return screens.Screen(t.directed(text), keyboard)


def _shorten(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[:limit - 1] + "…"


async def _moderator(update: Update, context: BarazaContext) -> Turn | None:
    permitted_turn = await permitted_command(update, context, Permission.MANAGE_CONSULTATIONS)
    return None if permitted_turn is None else permitted_turn[0]


async def _reply(context: BarazaContext, turn: Turn, text: str) -> None:
    await context.bot.send_message(turn.respondent.chat_id, turn.t.directed(text))


async def _refuse(context: BarazaContext, turn: Turn, problems: list[str]) -> None:
    """Every problem of a command, one per line; nothing was changed."""
    t = turn.t
    await _reply(context, turn, "\n".join([t._("Nothing was changed:"),
                                           *("• " + problem for problem in problems)]))


async def list_consultations(update: Update, context: BarazaContext) -> None:
    """List the consultations with buttons to open and close them (/consultations)."""
    turn = await _moderator(update, context)
    if turn is None:
        return
    screen = consultation_list(turn.t, await context.services.db.consultations.list())
    await context.bot.send_message(turn.respondent.chat_id, screen.text, reply_markup=screen.keyboard)


def _title_and_description(t: Translator, text: str) -> ConsultationText | Invalid:
    title, _, description = text.partition("|")
    title, description = title.strip(), description.strip()
    if not title:
        return Invalid(t._("The title is missing: write it after the language, then optionally "
                           "| and a description."))
    if len(title) > screens.MAX_TITLE:
        return Invalid(t._("The title has {length} characters; the limit is {limit}.").format(
            length=t.number(len(title)), limit=t.number(screens.MAX_TITLE)))
    if len(description) > screens.MAX_DESCRIPTION:
        return Invalid(t._("The description has {length} characters; the limit is {limit}.").format(
            length=t.number(len(description)), limit=t.number(screens.MAX_DESCRIPTION)))
    return ConsultationText(title, description)


async def new_consultation(update: Update, context: BarazaContext) -> None:
    """Create a draft consultation of the questionnaire (/newconsultation Title | Description)."""
    turn = await _moderator(update, context)
    if turn is None:
        return
    t = turn.t
    if not context.args:
        await _reply(context, turn, t._("Please give a title (up to 200 characters), then "
                                        "optionally | and a description: /newconsultation "
                                        "Title | Description"))
        return
    text = _title_and_description(t, " ".join(context.args))
    if isinstance(text, Invalid):
        await _refuse(context, turn, [text.reason])
        return
    q = context.services.questionnaire
    created = await context.services.db.consultations.create(
        q.id, q.version, {t.locale: text}, created_by=turn.respondent.user_id)
    await context.services.db.audit.record(turn.respondent.user_id,
                                           AuditAction.CREATE_CONSULTATION,
                                           consultation_id=created.id)
    await _reply(context, turn, t._("Consultation #{number} was created as a draft. Open it from "
                                    "/consultations when it is ready.").format(number=t.isolate(str(created.id))))


async def _named(context: BarazaContext, t: Translator, text: str) -> Consultation | Invalid:
    """The consultation a command's first argument names, or what is wrong with it."""
    number = arguments.consultation_number(t, text)
    if isinstance(number, Invalid):
        return number
    consultation = await context.services.db.consultations.get(number)
    return consultation if consultation is not None else arguments.no_such_consultation(t, number)


async def translate(update: Update, context: BarazaContext) -> None:
    """Give or edit a consultation's title and description in a language (/translate 3 fr …)."""
    turn = await _moderator(update, context)
    if turn is None:
        return
    t, services = turn.t, context.services
    args = context.args or []
    if not args:
        await _reply(context, turn, t._("Usage: /translate number language Title | Description "
                                        "(languages: {languages})").format(
            languages=arguments.languages(t, services.catalogs)))
        return
    consultation = await _named(context, t, args[0])
    locale: str | Invalid = (arguments.language(t, services.catalogs, args[1]) if len(args) > 1
                             else Invalid(t._("The language is missing. The languages are: "
                                              "{languages}.").format(
                                 languages=arguments.languages(t, services.catalogs))))
    text = _title_and_description(t, " ".join(args[2:]))
    problems = arguments.reasons([consultation, locale, text])
    if problems:
        await _refuse(context, turn, problems)
        return
    assert isinstance(consultation, Consultation) and isinstance(locale, str)
    assert isinstance(text, ConsultationText)
    await services.db.consultations.set_text(consultation.id, locale, text)
    await services.db.audit.record(turn.respondent.user_id, AuditAction.TRANSLATE_CONSULTATION,
                                   consultation_id=consultation.id, detail=locale)
    await _reply(context, turn, t._("Saved the {language} text of consultation #{number}.").format(
        language=t.isolate(services.catalogs.autonym(locale)), number=t.isolate(str(consultation.id))))


def _schedule_problems(t: Translator, consultation: Consultation | Invalid,
                       opens: datetime | None | Invalid, closes: datetime | None | Invalid,
                       now: datetime) -> list[str]:
    """What is wrong with a schedule, field by field (empty: it can be saved)."""
    problems = arguments.reasons([consultation, opens, closes])
    if isinstance(consultation, Consultation):
        number = t.isolate(str(consultation.id))
        if consultation.status is ConsultationStatus.CLOSED:
            problems.append(t._("Consultation #{number} is closed: reopen it from /consultations "
                                "first.").format(number=number))
        elif consultation.status is ConsultationStatus.OPEN and isinstance(opens, datetime):
            problems.append(t._("Consultation #{number} is open already: give - as the opening "
                                "time.").format(number=number))
    if isinstance(opens, datetime) and opens <= now:
        problems.append(t._("The opening time, {moment}, has passed: give a later one, or - to "
                            "open it from /consultations.").format(moment=t.moment(opens)))
    if isinstance(closes, datetime) and closes <= now:
        problems.append(t._("The closing time, {moment}, has passed: give a later one, or - "
                            "for none.").format(moment=t.moment(closes)))
    if isinstance(opens, datetime) and isinstance(closes, datetime) and closes <= opens:
        problems.append(t._("The closing time, {closes}, is not after the opening time, "
                            "{opens}.").format(closes=t.moment(closes), opens=t.moment(opens)))
    return problems


async def schedule_consultation(update: Update, context: BarazaContext) -> None:
    """Set when a consultation opens and closes by itself (/schedule 3 OPENS CLOSES)."""
    turn = await _moderator(update, context)
    if turn is None:
        return
    t, services = turn.t, context.services
    args = context.args or []
    if not args:
        await _reply(context, turn, t._("Usage: /schedule number OPENS CLOSES, times in {zone} "
                                        "like 2030-01-31T09:00, or - for none; it must close "
                                        "after it opens.").format(zone=t.isolate(t.zone_name)))
        return
    consultation = await _named(context, t, args[0])
    if len(args) != 3:
        await _refuse(context, turn, [t._("Give the number, the opening time and the closing "
                                          "time (- for none), for example: /schedule 3 "
                                          "2030-01-31T09:00 2030-02-28T18:00")])
        return
    opens, closes = arguments.moment(t, args[1]), arguments.moment(t, args[2])
    problems = _schedule_problems(t, consultation, opens, closes, datetime.now(UTC))
    if problems:
        await _refuse(context, turn, problems)
        return
    assert isinstance(consultation, Consultation)
    opens_at = opens.astimezone(UTC) if isinstance(opens, datetime) else None
    closes_at = closes.astimezone(UTC) if isinstance(closes, datetime) else None
    await services.db.consultations.set_schedule(consultation.id, opens_at, closes_at)
    await services.db.audit.record(turn.respondent.user_id, AuditAction.SCHEDULE_CONSULTATION,
                                   consultation_id=consultation.id, detail=" ".join(args[1:3]))
    updated = await services.db.consultations.get(consultation.id)
    assert updated is not None
    await apply_schedule(context.application, updated)
    lines = [t._("Schedule of consultation #{number} saved.").format(
        number=t.isolate(str(consultation.id)))]
    if opens_at:
        lines.append(t._("It opens {moment}.").format(moment=t.moment(opens_at)))
    if closes_at:
        lines.append(t._("It closes {moment}.").format(moment=t.moment(closes_at)))
    await _reply(context, turn, "\n".join(lines))


async def moderate(update: Update, context: BarazaContext, action: callbacks.Moderate) -> None:
    """A consultation's button: open, close (after asking), reopen, delete a draft (after asking)."""
    query = update.callback_query
    assert query is not None
    permitted_turn = await permitted_tap(update, context, Permission.MANAGE_CONSULTATIONS)
    if permitted_turn is None:
        return
    turn, _ = permitted_turn
    t, db = turn.t, context.services.db
    consultation = await db.consultations.get(action.consultation)
    if consultation is None:
        await answer(context, query, screens.problem(t, screens.Problem.INVALID), show_alert=True)
        return
    number = t.isolate(str(action.consultation))
    match action.verb:
        case "close" if consultation.status is not ConsultationStatus.CLOSED:
            halfway = await db.sessions.unfinished_count(consultation.id)
            await answer(context, query)
            await _show(context, query, close_question(t, consultation, halfway))
            return
        case "delete" if consultation.status is ConsultationStatus.DRAFT:
            await answer(context, query)
            await _show(context, query, delete_question(t, consultation))
            return
        case "delete_ok":
            if not await db.consultations.delete_draft(consultation.id):
                await answer(context, query, _unchanged(t))
                return
            await db.audit.record(turn.respondent.user_id, AuditAction.DELETE_CONSULTATION,
                                  consultation_id=consultation.id)
            await answer(context, query, t._("Draft #{number} was deleted.").format(number=number))
        case "open" | "close_ok" | "reopen":
            verb = "close" if action.verb == "close_ok" else action.verb
            if not await change_status(context.application, consultation.id, verb):
                await answer(context, query, _unchanged(t))
                return
            await db.audit.record(turn.respondent.user_id, STATUS_ACTIONS[verb],
                                  consultation_id=consultation.id)
            if verb == "reopen":
                await _drop_past_closing(context, consultation)
            message = {"open": t._("Consultation #{number} is now open."),
                       "close": t._("Consultation #{number} is now closed; its answers are kept."),
                       "reopen": t._("Consultation #{number} is open again; every answer given "
                                     "before is kept.")}[verb]
            await answer(context, query, message.format(number=number))
        case "list":
            await answer(context, query)
        case _:
            await answer(context, query, _unchanged(t))
            return
    await _show(context, query, consultation_list(t, await db.consultations.list()))


def _unchanged(t: Translator) -> str:
    return t._("Nothing changed: that consultation is not in a state for this.")


async def _drop_past_closing(context: BarazaContext, consultation: Consultation) -> None:
    """A reopened consultation must not be closed again at the next start by a time gone by."""
    if consultation.closes_at is not None and consultation.closes_at <= datetime.now(UTC):
        await context.services.db.consultations.set_schedule(consultation.id,
                                                             consultation.opens_at, None)
    updated = await context.services.db.consultations.get(consultation.id)
    if updated is not None:
        await apply_schedule(context.application, updated)


async def _show(context: BarazaContext, query: CallbackQuery, screen: screens.Screen) -> None:
    """Put the screen in place of the tapped message (unless it is too old to edit)."""
    message = accessible(query.message)
    if message is not None:
        await message.edit_text(screen.text, reply_markup=screen.keyboard)
