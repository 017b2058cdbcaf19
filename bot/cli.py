"""The ``baraza`` command: ``run`` (Telegram: long polling, or a webhook) and ``sandbox`` (local, no token)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from bot.application import build_application, running
from bot.config import ConfigError, Settings
from bot.webhook import run_webhook
from conversations.loader import QuestionnaireError, load_questionnaire
from storage import StorageError

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
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=os.environ.get("BARAZA_LOG_LEVEL", "INFO").upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        if command == "run":
            run(Settings.from_env())
        else:
            if args.command is None:
                print("TELEGRAM_BOT_TOKEN is not set: starting the local sandbox instead.",
                      file=sys.stderr)
            sandbox()
    except (ConfigError, QuestionnaireError, StorageError) as error:
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


def sandbox() -> None:
    """Run the same bot against the built-in emulator and chat with it here."""
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN}
    env.setdefault("BARAZA_DB", SANDBOX_DB)
    settings = Settings.from_env(env)
    questionnaire = load_questionnaire(settings.questionnaire)
    logging.getLogger().setLevel(logging.WARNING)
    asyncio.run(_sandbox(settings, questionnaire))


async def _sandbox(settings: Settings, questionnaire) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from emulator import BotApiEmulator
    from emulator.terminal import chat_in_terminal

    emulator = BotApiEmulator(token=settings.token)
    await emulator.start()
    application = build_application(replace(settings, api_url=emulator.api_root), questionnaire)
    try:
        async with running(application):
            user = emulator.user(1, first_name="You", language_code=os.environ.get("LANG", "en")[:2])
            print("Baraza sandbox: you are chatting with the bot through a local Bot API "
                  "emulator. Type /start; answer buttons by their number; /quit ends.")
            await chat_in_terminal(emulator, user)
    finally:
        await emulator.stop()
