"""What-if variants of the Baraza bot process, for explaining figures (never the shipped code).

``inline-sqlite``: aiosqlite runs each statement on the event loop's thread instead of handing it
to its worker thread and waiting for the result (one thread hop, a self-pipe wake-up and a GIL
hand-over per statement). Statements block the loop while they run, so this only shows what the
hops cost; a real change would batch a whole transaction into one hop instead.

``previous-limiter``: Baraza's rate limiter before bot/traffic.py, PTB's AIORateLimiter with one
bucket for every call naming a chat, replies and broadcasts alike (24 calls per 0.8 s, i.e. the
bulk rate of 30 a second with a shallower bucket; a 429 retried three times and pausing all).
"""

from __future__ import annotations

from typing import Any


def inline_sqlite() -> None:
    import aiosqlite
    import aiosqlite.core as core

    original = aiosqlite.connect

    def connect(database: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("check_same_thread", False)
        return original(database, *args, **kwargs)

    async def execute_inline(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    aiosqlite.connect = connect
    core.connect = connect
    core.Connection._execute = execute_inline


def previous_limiter() -> None:
    from telegram.ext import AIORateLimiter

    import bot.runtime

    class Previous(AIORateLimiter):
        async def process_request(self, callback: Any, args: Any, kwargs: Any, endpoint: str,
                                  data: Any, rate_limit_args: Any) -> Any:
            # It knows no traffic classes: Baraza's Traffic marks are ignored, as they were absent.
            return await super().process_request(callback, args, kwargs, endpoint, data, None)

    def build(bulk_rate: float, *_: Any, **__: Any) -> AIORateLimiter:
        return Previous(overall_max_rate=bulk_rate * 0.8, overall_time_period=0.8, max_retries=3)

    # Where builder() finds it: a what-if patching a name nobody reads would measure Baraza.
    if not hasattr(bot.runtime, "TrafficLimiter"):
        raise RuntimeError("bot.runtime no longer builds the limiter: patch where it is built")
    bot.runtime.TrafficLimiter = build  # type: ignore[assignment,misc]


VARIANTS = {"inline-sqlite": inline_sqlite, "previous-limiter": previous_limiter}
