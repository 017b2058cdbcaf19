"""Builds the python-telegram-bot Application: settings, resources and handlers."""

from __future__ import annotations

import logging
from pathlib import Path
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from telegram import BotCommand
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import screens
from bot.config import Sender, Settings
from bot.context import SERVICES, BarazaContext, Services
from bot import digests, retention, scheduling
from bot.broadcasting import Broadcaster
from bot.handlers import (
    access,
    broadcasts,
    flood,
    general,
    moderation,
    onboarding,
    privacy,
    questions,
    reports,
    roles,
    summaries,
)
from bot.i18n import SOURCE_LOCALE, Catalogs
from bot.ordering import PerUserUpdateProcessor
from bot.summaries import SummaryService
from bot.runtime import builder, started
from bot.sender import SenderProcess
from bot.turns import Turns
from bot.workers import Heartbeat, WorkerIdentity
from conversations.extract import message_context
from conversations.flow import Flow
from conversations.model import Questionnaire
from storage import ConsultationText, Database
from storage.postgresql import describe

_logger = logging.getLogger(__name__)
HEARTBEAT = "baraza.heartbeat"
SENDER = "baraza.sender"


def build_application(settings: Settings, questionnaire: Questionnaire,
                      catalogs: Catalogs | None = None,
                      update_processor: PerUserUpdateProcessor | None = None) -> Application:
    """The bot, ready for ``run_polling``; the database is opened in ``post_init``."""
    catalogs = (catalogs or Catalogs.load()).in_zone(settings.timezone)
    screens.check_screens_fit(questionnaire, catalogs)
    processor = update_processor or PerUserUpdateProcessor()

    async def post_init(application: Application) -> None:
        db = await Database.open(settings.database)
        turns = Turns(db, Flow(questionnaire), catalogs, settings.moderators)
        worker = WorkerIdentity()
        broadcaster, sender = None, None
        if settings.broadcast_sender is Sender.INLINE:
            broadcaster = Broadcaster.for_settings(application.bot, db, catalogs, settings, worker)
            heartbeat = Heartbeat(db, worker, listeners=(broadcaster.adopt,))
        else:
            sender = SenderProcess(settings, db.workers)
            heartbeat = Heartbeat(db, worker, listeners=(sender.keep_running,))
        await heartbeat.register()
        application.bot_data[HEARTBEAT] = heartbeat
        summary_service = SummaryService(turns, settings.min_group, settings.pseudonym_key)
        application.bot_data[SERVICES] = Services(
            turns, catalogs, broadcaster=broadcaster, summaries=summary_service,
            status_listeners=(digests.on_status,), worker=worker)
        await _ensure_a_consultation(db, questionnaire, catalogs)
        await retention.sync_moderators(db, settings.moderators)
        await retention.start(application, db, settings, worker.id)
        await summary_service.catch_up()
        await scheduling.restore(application, db)
        scheduling.keep_current(application, db)
        digests.start_weekly(application)
        await _register_commands(application, catalogs)
        if broadcaster is not None:
            await broadcaster.start()
        if sender is not None:
            application.bot_data[SENDER] = sender
            await sender.start()  # after the migrations above: it finds the schema current
        heartbeat.start(application)
        _logger.info("Baraza started: questionnaire %s v%s, database %s",
                     questionnaire.id, questionnaire.version, _database_name(settings.database))

    async def post_stop(application: Application) -> None:
        services: Services | None = application.bot_data.get(SERVICES)
        if services is not None and services.broadcaster is not None:
            await services.broadcaster.stop()  # while the bot can still finish its sends
        sender: SenderProcess | None = application.bot_data.get(SENDER)
        if sender is not None:
            await sender.stop()
        heartbeat: Heartbeat | None = application.bot_data.get(HEARTBEAT)
        if heartbeat is not None:
            await heartbeat.retire()  # the other workers take over what is left, at once

    async def post_shutdown(application: Application) -> None:
        services: Services | None = application.bot_data.get(SERVICES)
        if services is not None:
            await services.turns.db.close()

    application = (
        builder(settings, processor.activity)
        .concurrent_updates(processor)
        .context_types(ContextTypes(context=BarazaContext))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    processor.overflow = partial(flood.slow_down, application)
    add_handlers(application)
    return application


def add_handlers(application: Application) -> None:
    """Wire the handlers; private chats only, commands before free text."""
    private = filters.ChatType.PRIVATE
    application.add_handlers([
        CommandHandler("start", onboarding.start, filters=private),
        CommandHandler("language", onboarding.language, filters=private),
        CommandHandler("back", questions.back_command, filters=private),
        CommandHandler("help", general.help_command, filters=private),
        CommandHandler("stop", onboarding.stop, filters=private),
        CommandHandler("whoami", access.whoami, filters=private),
        CommandHandler("invite", access.invite, filters=private),
        CommandHandler("addmoderator", access.add_moderator, filters=private),
        CommandHandler("consultations", moderation.list_consultations, filters=private),
        CommandHandler("newconsultation", moderation.new_consultation, filters=private),
        CommandHandler("translate", moderation.translate, filters=private),
        CommandHandler("schedule", moderation.schedule_consultation, filters=private),
        CommandHandler("broadcast", broadcasts.broadcast, filters=private),
        CommandHandler("summary", summaries.summary_command, filters=private),
        CommandHandler("export", summaries.export_command, filters=private),
        CommandHandler("digest", summaries.digest_command, filters=private),
        CommandHandler("mydata", privacy.my_data, filters=private),
        CommandHandler("forget", privacy.forget, filters=private),
        CommandHandler("roles", roles.roles_command, filters=private),
        CommandHandler("revoke", roles.revoke_command, filters=private),
        CommandHandler("audit", roles.audit_command, filters=private),
        CommandHandler("report", reports.report_command, filters=private),
        MessageHandler(private & filters.COMMAND, general.unknown_command),
        MessageHandler(private & filters.UpdateType.MESSAGE & filters.TEXT, questions.text),
        MessageHandler(private & filters.UpdateType.MESSAGE & ~filters.TEXT, questions.unsupported),
        CallbackQueryHandler(general.button),
        MessageHandler(~private & filters.COMMAND, general.private_only),
    ])
    application.add_error_handler(general.error)


async def _ensure_a_consultation(db: Database, questionnaire: Questionnaire,
                                 catalogs: Catalogs) -> None:
    """One open consultation runs this questionnaire version, so citizens can answer at once.

    On a fresh installation, and after the questionnaire's version changes (a consultation is
    a run of one version; the older ones stay as they are, with their answers).
    """
    runnable = [c for c in await db.consultations.list()
                if (c.questionnaire_id, c.questionnaire_version)
                == (questionnaire.id, questionnaire.version)]
    if runnable:
        return
    texts = {t.locale: ConsultationText(
        t.pgettext(message_context(questionnaire.id, "title"), questionnaire.title),
        t._("Here citizens and officials answer the same questions about how open, "
            "consultative and responsive government is, and see where they agree."))
        for t in catalogs.all()}
    await db.consultations.create(questionnaire.id, questionnaire.version, texts,
                                  created_by=None, status="open")


async def _register_commands(application: Application, catalogs: Catalogs) -> None:
    """The command menu in every shipped language (and English for everyone else)."""
    for t in catalogs.all():
        commands = [BotCommand(name, description) for name, description in screens.commands(t)]
        language_code = None if t.locale == SOURCE_LOCALE else t.locale
        await application.bot.set_my_commands(commands, language_code=language_code)


@asynccontextmanager
async def running(application: Application, poll_timeout: float = 10) -> AsyncIterator[Application]:
    """Run the bot, polling, inside an event loop someone else owns (tests, the sandbox, benchmarks)."""
    async with started(application):
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0, timeout=poll_timeout, allowed_updates=["message", "callback_query"])
        try:
            yield application
        finally:
            if application.updater.running:
                await application.updater.stop()


def _database_name(location: Path | str) -> str:
    """The database for the log: a path, or a PostgreSQL URL without its password."""
    return describe(location) if isinstance(location, str) else str(location)
