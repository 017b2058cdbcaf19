"""The ``baraza`` command: ``run`` (Telegram: long polling, or a webhook), ``sandbox`` (local, no token; ``--demo``
adds synthetic respondents) and ``report`` (a consultation's report as an HTML file)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from telegram.ext import Application

from bot import logs
from bot.application import build_application, running
from bot.config import ConfigError, Settings
from bot.i18n import CatalogError
from bot.ordering import TrackingUpdateProcessor
from bot.webhook import run_webhook
from conversations.loader import QuestionnaireError, load_questionnaire
from conversations.model import Questionnaire
from storage import Database, StorageError

if TYPE_CHECKING:
    from emulator.user import EmulatedUser

SANDBOX_TOKEN = "123456:SANDBOX"
SANDBOX_DB = "baraza-sandbox.db"
SANDBOX_USER = 1  # the Telegram id of the person chatting in the sandbox


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="baraza", description="Baraza: the METEP e-participation questionnaire on Telegram.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot against Telegram (needs TELEGRAM_BOT_TOKEN)")
    sandbox_parser = commands.add_parser("sandbox", help="chat with the bot in this terminal, "
                                                         "against a local Bot API emulator (no "
                                                         "token needed)")
    sandbox_parser.add_argument("--demo", action="store_true",
                                help="add a consultation answered by a few hundred synthetic "
                                     "citizens and officials, and make you a moderator")
    report_parser = commands.add_parser("report", help="write a consultation's report as one "
                                                       "HTML file (the database is BARAZA_DB)")
    report_parser.add_argument("number", type=int, help="the consultation's number")
    report_parser.add_argument("--lang", default="en", help="the report's language (default: en)")
    report_parser.add_argument("--out", help="the file to write (default: named for the "
                                             "consultation and language)")
    report_parser.add_argument("--comments", action="store_true",
                               help="include the comments (without names), as moderators get it")
    args = parser.parse_args(argv)
    # Opt in to PTB 23's RetryAfter.retry_after as a timedelta (handled in bot/broadcasting.py);
    # otherwise PTB's own rate limiter logs a deprecation warning at every 429.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    command = args.command or ("run" if os.environ.get("TELEGRAM_BOT_TOKEN") else "sandbox")
    logs.configure(os.environ.get("BARAZA_LOG_LEVEL", "INFO"),
                   secrets=(os.environ.get("TELEGRAM_BOT_TOKEN", "").strip(), SANDBOX_TOKEN,
                            os.environ.get("BARAZA_PSEUDONYM_KEY", "").strip()))
    try:
        if command == "run":
            run(Settings.from_env())
        elif command == "report":
            return asyncio.run(report(args.number, args.lang, args.out, args.comments))
        else:
            if args.command is None:
                print("TELEGRAM_BOT_TOKEN is not set: starting the local sandbox instead.",
                      file=sys.stderr)
            sandbox(demo=getattr(args, "demo", False))
    except (CatalogError, ConfigError, QuestionnaireError, StorageError) as error:
        print(f"baraza: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def run(settings: Settings) -> None:
    """Long-poll Telegram (or the server at TELEGRAM_API_URL), or serve its webhook, until interrupted."""
    questionnaire = load_questionnaire(settings.questionnaire)
    application = build_application(settings, questionnaire)
    if settings.webhook is not None:
        run_webhook(application, settings.webhook)
        return
    application.run_polling(allowed_updates=["message", "callback_query"])


async def report(number: int, locale: str, out: str | None, comments: bool) -> int:
    """Write consultation ``number``'s report, as /report sends it, to a file."""
    from bot.context import Services
    from bot.handlers.reports import build_report
    from bot.i18n import Catalogs
    from bot.summaries import SummaryService
    from bot.turns import Turns
    from conversations.flow import Flow
    from conversations.roles import Role
    from storage import Database

    env = {"TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN, **os.environ}  # no bot runs: any token will do
    settings = Settings.from_env(env)
    questionnaire = load_questionnaire(settings.questionnaire)
    catalogs = Catalogs.load().in_zone(settings.timezone)
    if catalogs.supported(locale) is None:
        print(f"baraza: no language {locale!r}; one of {', '.join(catalogs.locales)}",
              file=sys.stderr)
        return 2
    db = await Database.open(settings.database)
    try:
        turns = Turns(db, Flow(questionnaire), catalogs, settings.moderators)
        services = Services(turns, catalogs,
                            summaries=SummaryService(turns, settings.min_group))
        consultation = await db.consultations.get(number)
        if consultation is None or not turns.runs(consultation):
            print(f"baraza: no consultation #{number} of this questionnaire", file=sys.stderr)
            return 2
        t = catalogs.translator(catalogs.resolve(locale, None))
        data, name = await build_report(services, t, consultation,
                                        Role.MODERATOR if comments else Role.OFFICIAL)
    finally:
        await db.close()
    path = out or name
    with open(path, "wb") as file:
        file.write(data)
    print(path)
    return 0


def sandbox(demo: bool = False) -> None:
    """Run the same bot against the built-in emulator and chat with it here."""
    settings = sandbox_settings(os.environ)
    questionnaire = load_questionnaire(settings.questionnaire)
    logging.getLogger().setLevel(logging.WARNING)
    if demo:
        # The sandbox's user may then try /summary, By question, /report and /broadcast.
        settings = replace(settings, moderators=settings.moderators | {SANDBOX_USER})
    asyncio.run(_sandbox(settings, questionnaire, demo=demo))


def emulator_state_file(database: Path) -> Path:
    """Where the sandbox keeps its emulator's chats and numbering: beside its database."""
    return database.with_name(database.name + ".emulator.json")


def sandbox_settings(environ: Mapping[str, str]) -> Settings:
    """The sandbox's settings: its own token and always its own database, never BARAZA_DB's
    (which may be the production one)."""
    return Settings.from_env({**environ, "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,
                              "BARAZA_DB": SANDBOX_DB})


async def _fill_demo(application: Application, questionnaire: Questionnaire,
                     database: Path) -> None:
    """Add the demo consultation to the running sandbox's database (after start-up made sure a
    consultation is open for the user to answer)."""
    from bot import demo
    from bot.context import SERVICES

    services = application.bot_data[SERVICES]
    consultation = await demo.fill(services.db, questionnaire, services.catalogs)
    print(f"Demo data: consultation #{consultation.id} has synthetic respondents, and you are a "
          "moderator. Try /summary, /report (files the bot sends are saved in this directory) and "
          f"/broadcast; or write the report in any language with: BARAZA_DB={database} baraza "
          f"report {consultation.id} --lang fr")


async def _save_documents(user: EmulatedUser, directory: Path,
                          write: Callable[[str], None] = print) -> None:
    """Files the bot sends in the sandbox (a report, an export) are written here to be opened."""
    events = user.subscribe()
    try:
        while True:
            event = await events.get()
            events.task_done()
            message = event.message
            if event.kind != "message" or message is None or message.document is None:
                continue
            path = directory / Path(message.document_name or "document").name
            path.write_bytes(message.document)
            write(f"(saved as {path})")
    finally:
        user.unsubscribe(events)


async def _sandbox(settings: Settings, questionnaire: Questionnaire,
                   reader: asyncio.StreamReader | None = None,
                   write: Callable[[str], None] = print, *, demo: bool = False) -> None:
    from emulator import BotApiEmulator
    from emulator.persistence import StateFileError
    from emulator.terminal import chat_in_terminal

    # Telegram never reuses an update or message id, and the database remembers the last update
    # id of each respondent: the emulator continues its numbering (and the chat) where the
    # previous sandbox session left it, or every update would be taken for a redelivered one.
    database = await Database.open(settings.database)
    try:
        latest = await database.respondents.latest_update_id()
    finally:
        await database.close()
    state_file = emulator_state_file(settings.database)
    emulator = BotApiEmulator(token=settings.token)
    try:
        emulator.load_state(state_file, next_update_id=latest + 1)
    except StateFileError as error:
        # The database alone still keeps update ids growing; only the old chat is not shown.
        write(f"(the sandbox's saved chat is ignored: {error})")
        emulator.continue_updates_from(latest + 1)
    # The emulator asks the bot when an update is done: a reply held back for the chat's pace
    # (one message a second after a burst, as on Telegram) is then not taken for silence.
    processor = TrackingUpdateProcessor()
    emulator.idle_probe = processor.done
    await emulator.start()
    application = build_application(replace(settings, api_url=emulator.api_root), questionnaire,
                                    update_processor=processor)
    try:
        async with running(application):
            if demo:
                await _fill_demo(application, questionnaire, settings.database)
            user = emulator.user(SANDBOX_USER, first_name="You",
                                 language_code=os.environ.get("LANG", "en")[:2])
            write("Baraza sandbox: you are chatting with the bot through a local Bot API "
                  "emulator. Type /start; answer buttons by their number; /quit ends.")
            saver = asyncio.create_task(_save_documents(user, Path.cwd(), write))
            try:
                await chat_in_terminal(emulator, user, reader, write,
                                       after_each=lambda: emulator.save_state(state_file))
            finally:
                saver.cancel()
    finally:
        emulator.save_state(state_file)
        await emulator.stop()
