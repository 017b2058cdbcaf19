"""The update queue behind getUpdates: long polling, confirmation by offset, redelivery, conflicts."""

from __future__ import annotations

import asyncio
from typing import Any

from .activity import Pulse
from .errors import CONFLICT, ApiError, bad_request

# Telegram's default when allowed_updates was never set: everything except these three.
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def update_type(update: dict[str, Any]) -> str:
    """The update's kind: its only key besides update_id."""
    return next(key for key in update if key != "update_id")


class UpdateQueue:
    """Updates wait here until a getUpdates call confirms them with a higher offset."""

    def __init__(self, pulse: Pulse) -> None:
        self._pulse = pulse
        self._next_id = 1
        self._pending: list[dict[str, Any]] = []
        self._delivered: set[int] = set()
        self._dropped: set[int] = set()
        self._allowed: frozenset[str] | None = None
        self._poll_generation = 0
        self._closed = False

    @property
    def next_id(self) -> int:
        """The update id the next update gets."""
        return self._next_id

    def continue_from(self, next_id: int) -> None:
        """Number later updates from ``next_id`` on (ids never go back, as on Telegram)."""
        self._next_id = max(self._next_id, next_id)

    def push(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (payload without update_id); returns it with its new update_id."""
        update = {"update_id": self._next_id, **payload}
        self._next_id += 1
        if self._wanted(update):
            self._pending.append(update)
        else:
            self._dropped.add(update["update_id"])
        self._pulse.fire()
        return update

    def delivered(self, update_id: int) -> bool:
        """True once a getUpdates response has carried the update (or it was dropped unseen)."""
        return update_id in self._delivered or update_id in self._dropped

    def was_dropped(self, update_id: int) -> bool:
        """True if the update was discarded without reaching the bot (filtered or dropped)."""
        return update_id in self._dropped

    def pending_count(self) -> int:
        """Updates not yet confirmed."""
        return len(self._pending)

    def pending_ids(self) -> list[int]:
        """Ids of updates not yet confirmed by a getUpdates offset."""
        return [u["update_id"] for u in self._pending]

    def close(self) -> None:
        """Let every waiting long poll return now, so the server can shut down without waiting."""
        self._closed = True
        self._pulse.fire()

    def reopen(self) -> None:
        """Long polls wait again (the server was restarted)."""
        self._closed = False

    def pending_updates(self) -> list[dict[str, Any]]:
        """The updates not yet confirmed, oldest first (what a webhook still has to deliver)."""
        return list(self._pending)

    def acknowledge(self, update_id: int) -> None:
        """A webhook POST of the update was answered 2xx: it is confirmed, as an offset would."""
        self._pending = [u for u in self._pending if u["update_id"] != update_id]
        self._delivered.add(update_id)
        self._pulse.fire()

    def allow(self, allowed_updates: Any) -> None:
        """setWebhook's allowed_updates: as getUpdates' (None or "" keeps the current choice)."""
        if allowed_updates not in (None, ""):
            self._set_allowed(allowed_updates)

    def end_polls(self) -> None:
        """A webhook was set: every getUpdates still waiting ends with 409."""
        self._poll_generation += 1
        self._pulse.fire()

    def drop_all(self) -> None:
        """deleteWebhook(drop_pending_updates=True): forget everything pending."""
        self._drop(self._pending)
        self._pending = []

    async def poll(self, offset: Any, limit: Any, timeout: Any, allowed_updates: Any) -> list[dict[str, Any]]:
        """getUpdates: confirm below offset, then return pending updates, waiting up to `timeout` seconds."""
        offset, limit, timeout = _as_int(offset, 0), _as_int(limit, 100), _as_float(timeout, 0.0)
        limit = min(limit, 100) if limit > 0 else 100
        self._poll_generation += 1
        generation = self._poll_generation
        self._pulse.fire()  # an older poll still waiting now loses with 409, as on Telegram
        if allowed_updates not in (None, ""):
            self._set_allowed(allowed_updates)
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT)
            batch = self._pending[:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closed:
                self._delivered.update(u["update_id"] for u in batch)
                self._pulse.fire()
                return batch
            await self._pulse.wait(remaining)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._drop(self._pending[:offset])  # a negative offset keeps only the last -offset updates
            self._pending = self._pending[offset:]

    def _set_allowed(self, allowed_updates: Any) -> None:
        if not isinstance(allowed_updates, list) or not all(isinstance(t, str) for t in allowed_updates):
            raise bad_request("can't parse allowed_updates JSON array")
        self._allowed = frozenset(allowed_updates) or None
        # Updates of other kinds are never delivered; dropping them keeps settle() from waiting on them.
        unwanted = [u for u in self._pending if not self._wanted(u)]
        self._drop(unwanted)
        self._pending = [u for u in self._pending if self._wanted(u)]

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = update_type(update)
        return kind in self._allowed if self._allowed else kind not in _NOT_BY_DEFAULT

    def _drop(self, updates: list[dict[str, Any]]) -> None:
        self._dropped.update(u["update_id"] for u in updates)
        self._pulse.fire()


def _as_int(value: Any, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request("wrong parameter value") from None


def _as_float(value: Any, default: float) -> float:
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise bad_request("wrong parameter value") from None
