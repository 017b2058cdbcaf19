"""An asyncio lock the task holding it may take again, so nested transactions join the outer one;
and work marked as ``background`` waits for it behind everyone else.

A bot's broadcast writes a few statements per announcement, hundreds a second; a person's update
writes a few. On one connection they queue for the same lock, and in arrival order a reply would
wait behind every announcement's statements queued before it. Marked as background, they let any
other waiter go first (the database's counterpart of bot/traffic.py, where bulk sends give way to
replies), and take the lock whenever nobody else wants it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

_in_background: ContextVar[bool] = ContextVar("baraza_storage_background", default=False)


@contextmanager
def background() -> Iterator[None]:
    """Statements run inside (in this task and the tasks it starts) wait behind any others."""
    token = _in_background.set(True)
    try:
        yield
    finally:
        _in_background.reset(token)


class TaskLock:
    """Mutual exclusion between asyncio tasks, re-entrant for the task that holds it.

    Ownership is the task, not the context: a task spawned by the holder (gather, create_task) is
    another task and waits, so the holder must not await its own children's writes. Released, it
    passes straight to the first waiter not in ``background``, else to the first one in it.
    """

    def __init__(self) -> None:
        self._locked = False
        self._owner: asyncio.Task[Any] | None = None
        # Waiters in arrival order: those in the foreground, then those in background().
        self._waiters: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (
            deque(), deque())

    @property
    def held_by_current_task(self) -> bool:
        """Whether the running task holds the lock."""
        task = asyncio.current_task()
        return task is not None and task is self._owner

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[bool]:
        """Hold the lock; yields True for the outermost hold, False if this task already held it."""
        if self.held_by_current_task:
            yield False
            return
        await self._acquire()
        self._owner = asyncio.current_task()
        try:
            yield True
        finally:
            self._owner = None
            self._release()

    async def _acquire(self) -> None:
        if not self._locked:
            self._locked = True
            return
        queue = self._waiters[_in_background.get()]
        handed = asyncio.get_running_loop().create_future()
        queue.append(handed)
        try:
            await handed
        except asyncio.CancelledError:
            if handed.done() and not handed.cancelled():
                self._release()  # handed over just as it was cancelled: pass it on
            else:
                queue.remove(handed)
            raise

    def _release(self) -> None:
        # Handed over without unlocking, so that nobody arriving meanwhile takes it first.
        for queue in self._waiters:
            while queue:
                handed = queue.popleft()
                if not handed.done():
                    handed.set_result(None)
                    return
        self._locked = False
