"""What-if variants of the Baraza bot process, for explaining figures (never the shipped code).

``inline-sqlite``: aiosqlite runs each statement on the event loop's thread instead of handing it
to its worker thread and waiting for the result (one thread hop, a self-pipe wake-up and a GIL
hand-over per statement). Statements block the loop while they run, so this only shows what the
hops cost; a real change would batch a whole transaction into one hop instead.
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


VARIANTS = {"inline-sqlite": inline_sqlite}
