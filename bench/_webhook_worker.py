"""One Baraza worker for ``workers.py``: the real Application serving its webhook, at a given rate.

    python bench/_webhook_worker.py --api-root URL --token T --database PATH_OR_URL --port P --rate R

What ``baraza run`` does in webhook mode (``bot.webhook.serving``), except that the bulk rate is
an argument (the CLI takes Settings' 30 a second) and replies are not paced per chat: the bench's
respondents tap as fast as the bot answers, a script Telegram would hold to about one a second.
Stops on SIGINT or SIGTERM. Its CPU is read from /proc by the parent.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import warnings
from pathlib import Path

from bot.application import build_application
from bot.config import Settings, WebhookSettings
from bot.webhook import serving
from conversations.loader import load_questionnaire

URL = "https://bench.example.org/telegram/webhook"
SECRET = "bench-workers-SECRET"
UNPACED = 100_000.0  # messages a second per chat: never waits


async def main(args: argparse.Namespace) -> None:
    database = args.database if "://" in args.database else Path(args.database)
    settings = Settings(token=args.token, api_url=args.api_root, database=database,
                        moderators=frozenset({1}), messages_per_second=args.rate,
                        chat_messages_per_second=UNPACED)
    webhook = WebhookSettings(URL, "127.0.0.1", args.port, SECRET)
    application = build_application(settings, load_questionnaire(settings.questionnaire))
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with serving(application, webhook):
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-root", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", message=".*per_message.*")
    asyncio.run(main(parser.parse_args()))
