"""Running the emulator as a process: `python -m emulator --port 0 --token ...` prints its URL."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from .ratelimit import RateLimit
from .server import BotApiEmulator


async def run_emulator(
    host: str = "127.0.0.1",
    port: int = 0,
    token: str = "123456:TEST",
    *,
    username: str = "baraza_test_bot",
    rate_limit: RateLimit | None = None,
    chat_as: int | None = None,
    announce: Callable[[str], None] = lambda url: print(url, flush=True),
) -> None:
    """Serve until cancelled; announce(api_root) once listening. With chat_as, chat in this terminal."""
    emulator = BotApiEmulator(token, username=username, rate_limit=rate_limit, host=host, port=port)
    await emulator.start()
    try:
        announce(emulator.api_root)
        if chat_as is None:
            await asyncio.Event().wait()
        else:
            from .terminal import chat_in_terminal

            await chat_in_terminal(emulator, emulator.user(chat_as, "You"))
    finally:
        await emulator.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="A local Telegram Bot API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="123456:TEST")
    parser.add_argument("--username", default="baraza_test_bot")
    parser.add_argument(
        "--rate-limit", type=float, default=None, help="sending requests per second before 429"
    )
    parser.add_argument("--chat-as", type=int, default=None, help="chat in this terminal as this user id")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    limit = RateLimit(per_second=args.rate_limit) if args.rate_limit else None
    serve = run_emulator(
        args.host, args.port, args.token, username=args.username, rate_limit=limit, chat_as=args.chat_as
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way to stop it
        asyncio.run(serve)
