"""Concurrent updates, but each user's in order: a fast double tap is handled one after the other."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.traffic import Activity

_logger = logging.getLogger(__name__)

# Called for an update dropped because its user has too many waiting; the flag is True for the
# first one dropped since the user's queue was last empty (so that they are told only once).
Overflow = Callable[[Update, bool], Awaitable[None]]


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Processes updates of different users concurrently and those of one user sequentially.

    The user's lock is taken before PTB's concurrency limit, so updates waiting for their
    turn hold no slot: one user flooding the bot cannot hold up everyone else. A user's queue is
    bounded (``max_pending`` updates, the one being handled included): beyond it updates are
    dropped and handed to ``overflow``, which may tell the user once to slow down. A lock exists
    only while that user has updates in flight, so memory does not grow with the number of
    users who ever wrote, nor with how fast one of them writes.
    """

    def __init__(self, max_concurrent_updates: int = 64, max_pending: int = 20) -> None:
        super().__init__(max_concurrent_updates)
        self.max_pending = max_pending
        self.overflow: Overflow | None = None
        self.activity = Activity()  # bulk sends give way to the updates being handled
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._told: set[int] = set()  # users dropped from since their queue was last empty

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _key(update)
        if key is None:
            await super().process_update(update, coroutine)
            return
        if self._waiting.get(key, 0) >= self.max_pending:
            await self._drop(key, update, coroutine)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await super().process_update(update, coroutine)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]
                self._told.discard(key)

    async def _drop(self, key: int, update: object, coroutine: Awaitable[Any]) -> None:
        if isinstance(coroutine, Coroutine):
            coroutine.close()  # never run: the update is dropped
        first = key not in self._told
        self._told.add(key)
        if first:
            _logger.warning("User %s has %s updates waiting; dropping more until they are handled",
                            key, self.max_pending)
        if self.overflow is not None and isinstance(update, Update):
            await self.overflow(update, first)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the handlers (ordering and the concurrency limit are already applied)."""
        with self.activity.handling():
            await coroutine

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""


class TrackingUpdateProcessor(PerUserUpdateProcessor):
    """Also knows which updates are finished (handled or dropped): the emulator's idle probe.

    For a bot run in-process against the emulator (the sandbox, tests): it waits for each update
    exactly as long as the bot takes, a reply held back for its chat's pace included, instead of
    taking a pause of the bot for the end of its answer. Not for production: the set grows.
    """

    def __init__(self) -> None:
        super().__init__()
        self.finished: set[int] = set()

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await super().process_update(update, coroutine)
        finally:  # handled, or dropped (a flooding user's)
            self.finished.add(getattr(update, "update_id", -1))

    def done(self, update_id: int) -> bool:
        return update_id in self.finished


def _key(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None
