"""An asyncio lock the task holding it may take again, so nested transactions join the outer one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class TaskLock:
    """Mutual exclusion between asyncio tasks, re-entrant for the task that holds it.

    Ownership is the task, not the context: a task spawned by the holder (gather, create_task) is
    another task and waits, so the holder must not await its own children's writes.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

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
        async with self._lock:
            self._owner = asyncio.current_task()
            try:
                yield True
            finally:
                self._owner = None
