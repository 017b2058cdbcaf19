"""Per-question results for officials and moderators: "By question" pages and /report (HTML)."""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update
from telegram.ext import ExtBot

from bot import callbacks
from bot.context import BarazaContext, Services

from bot.i18n import Translator
from bot.question_screens import gaps_screen, question_page
from bot.report import ReportData, filename, render
from bot.screens import consultation_text
from bot.summaries import SummaryService
from bot.traffic import Traffic
from conversations.roles import Permission, Role
from storage import Consultation
from storage.clock import utc_now

MAX_REPORT_COMMENTS = 500  # the newest; /export has them all


async def report_command(update: Update, context: BarazaContext) -> None:
    """Send a consultation's report as an HTML file, or buttons to choose it (/report)."""
    from bot.handlers.summaries import consultation_command  # it imports this module

    await consultation_command(update, context, Permission.READ_SUMMARY, callbacks.Report)


async def send_gaps(bot: ExtBot[None], services: Services, chat_id: int, t: Translator,
                    consultation: Consultation, demo: bool = False,
                    traffic: Traffic | None = None) -> None:
    """The five largest perception gaps and lowest questions, with the By question button.

    ``traffic``: how the send is paced (a reply by default; a digest's is bulk).
    """
    results = await _service(services).question_results(consultation)
    screen = gaps_screen(t, services.questionnaire, consultation.id, results, demo=demo)
    await bot.send_message(chat_id, screen.text, reply_markup=screen.keyboard,
                           rate_limit_args=traffic)


async def show_page(context: BarazaContext, query: CallbackQuery, chat_id: int, t: Translator,
                    consultation: Consultation, action: callbacks.QuestionPage) -> None:
    """One pillar's per-question results: a new message, or the tapped one replaced (paging)."""
    services = context.services
    service = _service(services)
    results = await service.question_results(consultation)
    screen = question_page(t, services.questionnaire, consultation_text(t, consultation).title,
                           results, action.page, consultation.id,
                           demo=await service.is_demo(consultation))
    message = query.message
    # Only a page (a text message) is replaced; forged paging data on anything else gets a new one.
    if action.edit and isinstance(message, Message) and message.text is not None:
        if message.text_html == screen.text and message.reply_markup == screen.keyboard:
            return  # the same page again: Telegram refuses an edit that changes nothing
        await query.edit_message_text(screen.text, reply_markup=screen.keyboard)
        return
    await context.bot.send_message(chat_id, screen.text, reply_markup=screen.keyboard)


async def send_report(context: BarazaContext, chat_id: int, t: Translator,
                      consultation: Consultation, role: Role) -> None:
    """The report as one HTML file in the reader's language (comments for moderators only)."""
    document, name = await build_report(context.services, t, consultation, role)
    await context.bot.send_document(chat_id, document=document, filename=name,
                                    caption=t.directed(report_caption(t, consultation)))


async def build_report(services: Services, t: Translator, consultation: Consultation,
                       role: Role) -> tuple[bytes, str]:
    """The report's bytes and file name (the CLI's ``baraza report`` too)."""
    service = _service(services)
    summary = await service.summary(consultation)
    results = await service.question_results(consultation)
    comments, labelled = None, frozenset[str]()
    if role is Role.MODERATOR:
        comments = await services.db.summaries.comments(consultation.id, MAX_REPORT_COMMENTS)
        labelled = frozenset((await service.groups(consultation))[0])
    data = ReportData(consultation, summary, results, comments, labelled,
                      await service.is_demo(consultation), utc_now())
    html = render(t, services.questionnaire, data)
    return html.encode(), filename(t, consultation)


def report_caption(t: Translator, consultation: Consultation) -> str:
    return t._("The report of consultation #{number}: open it in a browser, share it or print it.").format(
        number=t.number(consultation.id))


def _service(services: Services) -> SummaryService:
    assert services.summaries is not None, "post_init builds the summary service"
    return services.summaries
