"""The ``baraza`` command: ``run`` (Telegram, long polling) and ``sandbox`` (local, no token)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bot import logs
from bot.application import build_application, running
from bot.config import ConfigError, Settings
from bot.i18n import CatalogError
from conversations.loader import QuestionnaireError, load_questionnaire
from conversations.model import Questionnaire
from storage import Database, StorageError

SANDBOX_TOKEN = "123456:SANDBOX"
SANDBOX_DB = "baraza-sandbox.db"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="baraza", description="Baraza: the METEP e-participation questionnaire on Telegram.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot against Telegram (needs TELEGRAM_BOT_TOKEN)")
    commands.add_parser("sandbox", help="chat with the bot in this terminal, against a local "
                                        "Bot API emulator (no token needed)")
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
        else:
            if args.command is None:
                print("TELEGRAM_BOT_TOKEN is not set: starting the local sandbox instead.",
                      file=sys.stderr)
            sandbox()
    except (CatalogError, ConfigError, QuestionnaireError, StorageError) as error:
        print(f"baraza: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def run(settings: Settings) -> None:
    """Long-poll Telegram (or the server at TELEGRAM_API_URL) until interrupted."""
    questionnaire = load_questionnaire(settings.questionnaire)
    application = build_application(settings, questionnaire)
    application.run_polling(allowed_updates=["message", "callback_query"])


def sandbox() -> None:
    """Run the same bot against the built-in emulator and chat with it here."""
    settings = sandbox_settings(os.environ)
    questionnaire = load_questionnaire(settings.questionnaire)
    logging.getLogger().setLevel(logging.WARNING)
    asyncio.run(_sandbox(settings, questionnaire))


def emulator_state_file(database: Path) -> Path:
    """Where the sandbox keeps its emulator's chats and numbering: beside its database."""
    return database.with_name(database.name + ".emulator.json")


def sandbox_settings(environ: Mapping[str, str]) -> Settings:
    """The sandbox's settings: its own token and always its own database, never BARAZA_DB's
    (which may be the production one)."""
    return Settings.from_env({**environ, "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,
                              "BARAZA_DB": SANDBOX_DB})


async def _sandbox(settings: Settings, questionnaire: Questionnaire,
                   reader: asyncio.StreamReader | None = None,
                   write: Callable[[str], None] = print) -> None:
    from dataclasses import replace

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
    await emulator.start()
    application = build_application(replace(settings, api_url=emulator.api_root), questionnaire)
    try:
        async with running(application):
            user = emulator.user(1, first_name="You", language_code=os.environ.get("LANG", "en")[:2])
            write("Baraza sandbox: you are chatting with the bot through a local Bot API "
                  "emulator. Type /start; answer buttons by their number; /quit ends.")
            await chat_in_terminal(emulator, user, reader, write,
                                   after_each=lambda: emulator.save_state(state_file))
    finally:
        emulator.save_state(state_file)
        await emulator.stop()
