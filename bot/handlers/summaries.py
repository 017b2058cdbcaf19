"""Summaries for officials and moderators: /summary, /export, /digest and their buttons."""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ExtBot

from bot import arguments, callbacks, exports, screens
from bot.handlers import reports
from bot.context import BarazaContext, Services
from bot.handlers.access import permitted, permitted_tap, turn_for
from bot.handlers.replies import answer
from bot.i18n import SOURCE_LOCALE, Translator
from bot.question_screens import demo_note
from bot.summaries import SummaryService
from bot.summary_screens import (
    chart_caption,
    chart_png,
    chooser,
    comment_pages,
    digest_toggled,
    export_caption,
    export_too_large,
    left_out_note,
    not_answered,
    nothing_answered,
    summary_screen,
)
from bot.traffic import Traffic
from bot.turns import Turn
from conversations.roles import Permission, Role
from conversations.summaries import Summary
from storage import AuditAction, Consultation

_logger = logging.getLogger(__name__)

MAX_COMMENTS = 100  # the newest; /export has them all
MAX_COMMENT_MESSAGES = 5

SummaryButton = (callbacks.Summarise | callbacks.Export | callbacks.ReadComments
                 | callbacks.QuestionPage | callbacks.Report)
_NEEDS = {callbacks.Summarise: Permission.READ_SUMMARY, callbacks.Export: Permission.EXPORT,
          callbacks.ReadComments: Permission.READ_COMMENTS,
          callbacks.QuestionPage: Permission.READ_SUMMARY, callbacks.Report: Permission.READ_SUMMARY}


def summaries_of(services: Services) -> SummaryService:
    """The summary service (built in post_init)."""
    assert services.summaries is not None, "post_init builds the summary service"
    return services.summaries


async def send_summary(bot: ExtBot[None], services: Services, chat_id: int, t: Translator,
                       consultation: Consultation, role: Role, *, summary: Summary | None = None,
                       heading: str | None = None, chart: bytes | None = None,
                       draw: bool = True, traffic: Traffic | None = None) -> None:
    """The summary as text, then the perception gaps, then its chart (skipped while nobody has
    finished, or when it would have no bar).

    ``chart`` is one already drawn; without it the chart is drawn here, unless ``draw`` is False
    (it could not be drawn). The text is what matters: a chart that cannot be drawn or sent is
    logged and left out (a blocked bot, ``Forbidden``, is still raised). ``traffic``: how the
    sends are paced (bot/traffic.py; a reply by default, digests are bulk).
    """
    questionnaire = services.questionnaire
    summary = summary or await summaries_of(services).summary(consultation)
    screen = summary_screen(t, questionnaire, consultation, summary, role)
    text = screen.text if heading is None else heading + "\n\n" + screen.text
    demo = await summaries_of(services).is_demo(consultation)
    if demo:
        text = t.directed(demo_note(t)) + "\n" + text
    await bot.send_message(chat_id, text, reply_markup=screen.keyboard,
                           rate_limit_args=traffic)
    if summary.everyone.finished == 0:
        return
    await reports.send_gaps(bot, services, chat_id, t, consultation, demo=demo, traffic=traffic)
    if not has_bars(summary):
        return
    if chart is None and draw:
        chart = await render_chart(services, t, consultation, summary)
    if chart is None:
        return
    try:
        caption = chart_caption(t, consultation)
        if demo:
            caption = t.directed(demo_note(t)) + "\n" + caption
        await bot.send_photo(chat_id, photo=chart, caption=caption,
                             rate_limit_args=traffic)
    except Forbidden:
        raise
    except TelegramError:
        _logger.warning("Could not send the chart of consultation %s to chat %s; the text was sent",
                        consultation.id, chat_id, exc_info=True)


def has_bars(summary: Summary) -> bool:
    """Whether the chart would show anything: a group's score shown somewhere."""
    return any(f.mean is not None for line in (*summary.pillars, summary.overall)
               for f in (line.citizens, line.officials))


async def render_chart(services: Services, t: Translator, consultation: Consultation,
                       summary: Summary) -> bytes | None:
    """The chart's PNG, drawn in a worker thread so other users are not kept waiting.

    None when it cannot be drawn, whatever the reason (logged): the summary goes without it.
    """
    english = services.catalogs.translator(SOURCE_LOCALE)
    try:
        return await asyncio.to_thread(chart_png, t, english, services.questionnaire,
                                       consultation, summary)
    except Exception:
        _logger.exception("Could not draw the chart of consultation %s in %r",
                          consultation.id, t.locale)
        return None


async def summary_command(update: Update, context: BarazaContext) -> None:
    """Show a consultation's summary, or buttons to choose the consultation (/summary)."""
    await consultation_command(update, context, Permission.READ_SUMMARY, callbacks.Summarise)


async def export_command(update: Update, context: BarazaContext) -> None:
    """Send every answer of a consultation as a CSV, or buttons to choose it (/export)."""
    await consultation_command(update, context, Permission.EXPORT, callbacks.Export)


async def consultation_command(update: Update, context: BarazaContext, permission: Permission,
                               action: type[callbacks.Summarise] | type[callbacks.Export]
                               | type[callbacks.Report]) -> None:
    """/summary, /export, /report: act on the consultation named (or the only one), else offer
    buttons; the role is checked first and a wrong number is said, never taken for none."""
    turn = await turn_for(update, context)
    if turn is None:
        return
    role = await permitted(context, turn, permission)
    if role is not None:
        number = await command_number(context, turn)
        if number is not False:
            await choose_or_act(context, turn, action, role, number)


async def digest_command(update: Update, context: BarazaContext) -> None:
    """Start or stop receiving the summary weekly and when a consultation closes (/digest)."""
    turn = await turn_for(update, context)
    if turn is None or await permitted(context, turn, Permission.READ_SUMMARY) is None:
        return
    from bot.digests import WEEK  # bot.digests imports this module: import it when used

    digests = context.services.db.digests
    subscribed = await digests.toggle(turn.respondent.user_id)
    next_weekly = await digests.next_weekly(WEEK) if subscribed else None
    await context.bot.send_message(turn.respondent.chat_id,
                                   digest_toggled(turn.t, subscribed, next_weekly))


async def button(update: Update, context: BarazaContext, action: SummaryButton) -> None:
    """A summary, export or comments button; the role is checked on every tap."""
    services = context.services
    query = update.callback_query
    assert query is not None
    permitted_turn = await permitted_tap(update, context, _NEEDS[type(action)])
    if permitted_turn is None:
        return
    turn, role = permitted_turn
    t = turn.t
    consultation = await services.db.consultations.get(action.consultation)
    if consultation is None or not services.turns.runs(consultation):
        await answer(context, query, screens.problem(t, screens.Problem.INVALID), show_alert=True)
        return
    await answer(context, query)
    if isinstance(action, callbacks.QuestionPage):
        await reports.show_page(context, query, turn.respondent.chat_id, t, consultation, action)
        return
    await _act(context, turn, action, consultation, role)


async def command_number(context: BarazaContext, turn: Turn) -> int | None | Literal[False]:
    """The consultation number after the command (/summary 7); None when none was given;
    False after saying what is wrong with what was given (/export abc exports nothing)."""
    args = context.args or []
    if not args:
        return None
    number = (arguments.consultation_number(turn.t, args[0]) if len(args) == 1 else
              arguments.Invalid(turn.t._("Give one consultation number, such as 3.")))
    if isinstance(number, arguments.Invalid):
        await context.bot.send_message(turn.respondent.chat_id, turn.t.directed(number.reason))
        return False
    return number


async def choose_or_act(context: BarazaContext, turn: Turn,
                        action: type[callbacks.Summarise] | type[callbacks.Export]
                        | type[callbacks.Report], role: Role, number: int | None = None) -> None:
    """Act on the consultation named by its number, or the only one with answers, or offer the
    newest of them."""
    chat_id, t = turn.respondent.chat_id, turn.t
    answered = await summaries_of(context.services).answered()
    if number is not None:
        named = [c for c in answered if c.id == number]
        if named:
            await _act(context, turn, action(number), named[0], role)
        else:
            await context.bot.send_message(chat_id, not_answered(t, number))
    elif not answered:
        await context.bot.send_message(chat_id, t.directed(nothing_answered(t)))
    elif len(answered) == 1:
        await _act(context, turn, action(answered[0].id), answered[0], role)
    else:
        screen = chooser(t, answered, action)
        await context.bot.send_message(chat_id, screen.text, reply_markup=screen.keyboard)


async def _act(context: BarazaContext, turn: Turn, action: SummaryButton,
               consultation: Consultation, role: Role) -> None:
    chat_id, t, services = turn.respondent.chat_id, turn.t, context.services
    match action:
        case callbacks.Summarise():
            await send_summary(context.bot, services, chat_id, t, consultation, role)
        case callbacks.Export():
            await _send_export(context, turn, consultation)
        case callbacks.Report():
            await reports.send_report(context, chat_id, t, consultation, role)
        case callbacks.ReadComments():
            comments = await services.db.summaries.comments(consultation.id, MAX_COMMENTS + 1)
            shown, _ = await summaries_of(services).groups(consultation)
            pages = comment_pages(t, services.questionnaire, consultation,
                                  comments[:MAX_COMMENTS], len(comments) > MAX_COMMENTS,
                                  MAX_COMMENT_MESSAGES, labelled=shown)
            for page in pages:
                await context.bot.send_message(chat_id, page)


async def _send_export(context: BarazaContext, turn: Turn, consultation: Consultation) -> None:
    services, t, chat_id = context.services, turn.t, turn.respondent.chat_id
    key = await summaries_of(services).pseudonym_key()
    shown, left_out = await summaries_of(services).groups(consultation)
    notes = [left_out_note(t, role, count, summaries_of(services).min_group)
             for role, count in left_out.items()]
    file = await exports.export(services.db.exports.answers(consultation.id),
                                services.questionnaire, consultation.id, key,
                                roles=shown, notes=notes)
    await services.db.audit.record(turn.respondent.user_id, AuditAction.EXPORT,
                                   consultation_id=consultation.id)
    if file.data is None:
        await context.bot.send_message(chat_id, export_too_large(t, exports.UPLOAD_LIMIT // 2**20))
        return
    caption = export_caption(t, consultation, file.respondents, file.compressed)
    await context.bot.send_document(
        chat_id, document=file.data, filename=file.filename,
        caption="\n".join([caption, *(t.directed(note) for note in notes)]))
