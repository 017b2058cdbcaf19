"""Telegram's flood control, modelled as token buckets: overall and per chat."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class RateLimit:
    """How many sending requests per second the emulator accepts before answering 429."""

    per_second: float = 30.0
    per_chat_per_second: float | None = None


class _Bucket:
    """A token bucket holding at most one second's worth of requests (at least one)."""

    def __init__(self, rate: float, now: float) -> None:
        self._rate = rate
        self._capacity = max(rate, 1.0)
        self._tokens = self._capacity
        self._stamp = now

    def _refill(self, now: float) -> None:
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def wait_needed(self, now: float) -> float:
        """Seconds until a request could pass; 0 when it can pass now."""
        self._refill(now)
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate

    def take(self) -> None:
        self._tokens -= 1


class RateLimiter:
    """Applies a RateLimit; answers with the whole seconds to wait, as Telegram's retry_after does."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._clock = clock
        self._global = _Bucket(limit.per_second, clock())
        self._chats: dict[int, _Bucket] = {}

    def acquire(self, chat_id: int | None) -> int | None:
        """Take a token for the request, or return retry_after (>= 1 second) if over the budget."""
        now = self._clock()
        buckets = [self._global]
        if chat_id is not None and self._limit.per_chat_per_second:
            bucket = self._chats.get(chat_id)
            if bucket is None:
                bucket = self._chats[chat_id] = _Bucket(self._limit.per_chat_per_second, now)
            buckets.append(bucket)
        wait = max(bucket.wait_needed(now) for bucket in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.take()
        return None
