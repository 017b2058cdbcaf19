"""Telegram's flood control, modelled as token buckets: bulk notifications and per chat.

Telegram limits bulk notifications (about 30 messages a second to chats that have not written to
the bot recently) and messages into one chat (about one a second, short bursts tolerated).
Replies to someone who has just written do not count against the bulk limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

# Methods that deliver or change a message in a chat; polling and callback answers are not throttled.
RATE_LIMITED_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "editmessagetext",
        "editmessagereplymarkup",
        "editmessagecaption",
    }
)


_UNLIMITED = 1e12


@dataclass(frozen=True)
class RateLimit:
    """How many sending requests per second the emulator accepts before answering 429."""

    # Bulk: messages to chats whose user has not written within ``recent`` seconds.
    per_second: float = 30.0
    per_chat_per_second: float | None = None
    per_chat_burst: float = 1.0  # messages one chat may get at once before its rate applies
    recent: float = 60.0


class Refusal(Enum):
    """Which limit a 429 came from."""

    BULK = "bulk"
    CHAT = "chat"


class _Bucket:
    """A token bucket holding ``capacity`` requests (at least one)."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self._rate = rate
        self._capacity = max(capacity, 1.0)
        self._tokens = self._capacity
        self._stamp = now
        self.blocked_until = -math.inf

    def _refill(self, now: float) -> None:
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def wait_needed(self, now: float) -> float:
        """Seconds until a request could pass; 0 when it can pass now."""
        self._refill(now)
        if now < self.blocked_until:
            return self.blocked_until - now
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate

    def take(self) -> None:
        self._tokens -= 1


class RateLimiter:
    """Applies a RateLimit; answers with the whole seconds to wait, as Telegram's retry_after does."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._clock = clock
        self._bulk = _Bucket(limit.per_second, limit.per_second, clock())
        self._chats: dict[int, _Bucket] = {}
        self._written: dict[int, float] = {}
        self.refused: dict[Refusal, int] = {Refusal.BULK: 0, Refusal.CHAT: 0}

    def wrote(self, chat_id: int) -> None:
        """The user of the chat wrote to the bot now: replies to them are not bulk for a while."""
        self._written[chat_id] = self._clock()

    def is_bulk(self, chat_id: int | None) -> bool:
        """Whether a message to the chat counts as a bulk notification (its user is not writing)."""
        if chat_id is None:
            return True
        written = self._written.get(chat_id)
        return written is None or self._clock() - written > self._limit.recent

    def block(self, chat_id: int | None, seconds: float) -> None:
        """Answer 429 for ``seconds`` to every message to the chat (None: to every bulk message)."""
        bucket = self._bulk if chat_id is None else self._chat(chat_id, self._clock())
        bucket.blocked_until = self._clock() + seconds

    def acquire(self, chat_id: int | None) -> int | None:
        """Take a token for the request, or return retry_after (>= 1 second) if over the budget."""
        now = self._clock()
        buckets: list[tuple[Refusal, _Bucket]] = []
        if self.is_bulk(chat_id):
            buckets.append((Refusal.BULK, self._bulk))
        if chat_id is not None and (self._limit.per_chat_per_second or chat_id in self._chats):
            buckets.append((Refusal.CHAT, self._chat(chat_id, now)))
        waits = [(bucket.wait_needed(now), refusal) for refusal, bucket in buckets]
        wait, refusal = max(waits, default=(0.0, Refusal.BULK), key=lambda w: w[0])
        if wait > 0:
            self.refused[refusal] += 1
            return max(1, math.ceil(wait))
        for _, bucket in buckets:
            bucket.take()
        return None

    def _chat(self, chat_id: int, now: float) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            limited = self._limit.per_chat_per_second is not None
            bucket = self._chats[chat_id] = _Bucket(  # unlimited: only block() holds it back
                self._limit.per_chat_per_second or _UNLIMITED,
                self._limit.per_chat_burst if limited else _UNLIMITED, now)
        return bucket
