"""Pacing the bot's Bot API calls: conversation per chat, bulk at the flood limit.

Telegram limits two things (its Bot FAQ; README, "Traffic"): bulk notifications to many chats
(about 30 messages a second, 1000 with ``allow_paid_broadcast``), and messages into one chat
(about one a second, short bursts tolerated). Replies to people who have just written are not
bulk. So each call is one of two classes, marked by the caller with PTB's ``rate_limit_args``:

- ``Traffic.CONVERSATION`` (the default, for every call not marked): replies, edits and callback
  answers to someone whose update is being handled. Paced only per chat, never by a global
  bucket: a person tapping at human speed never waits, a script hammering one chat is held to
  the per-chat limit, and nobody else notices either.
- ``Traffic.BULK``: broadcasts, digests, progress reports. Paced per chat as well, and together
  at the bulk rate. Conversation never waits for a bulk slot, so a reply never queues behind bulk.

A 429 pauses only what it applies to: that chat (a per-chat limit), and, when the call was bulk,
every bulk call (the flood limit). The call is then tried again once ``retry_after`` has passed,
as often as Telegram asks: nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import math
import warnings
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from enum import Enum
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

_logger = logging.getLogger(__name__)

# Telegram's rate for broadcasts with allow_paid_broadcast (paid in Telegram Stars).
PAID_BULK_RATE = 1000.0
# Longest a bulk send waits for the updates being handled (Activity.give_way). Under load an
# update takes tens of milliseconds, and bulk sends let go before it ends slow it down again
# (bench/RESULTS.md: with 0.05 s a reply's p95 was 4x its idle figure during a 300/s broadcast).
# A send held back keeps its broadcast slot, so a steady stream of updates slows a broadcast to
# 30 slots a second at worst (200 paid), never below the shipped bulk rate of 30; sends let go
# together are at most those 30 (or 200), inside Telegram's bucket, which refilled meanwhile.
BULK_YIELD = 1.0
# A chat is paced a little below the rate given: a request that left late and one that left on
# time can reach Telegram closer together than they were sent, and its bucket counts arrivals.
CHAT_MARGIN = 0.9
# Over this many paces for chats, the idle ones are forgotten (memory grows with busy chats only).
_SWEEP_AT = 1024

Result = bool | dict[str, Any] | list[dict[str, Any]]


class Traffic(Enum):
    """What a Bot API call is, for pacing (PTB's ``rate_limit_args``)."""

    CONVERSATION = "conversation"
    BULK = "bulk"


class Pace:
    """A rate with bursts, as the generic cell rate algorithm keeps it: one number per pace.

    ``reserve`` hands out send times in call order: up to ``burst`` at once, then one every
    ``1 / rate`` seconds. ``pause`` holds every send back until a moment (a 429's retry_after);
    once it has passed, a burst may go again, as Telegram's own bucket has refilled by then.
    """

    __slots__ = ("_interval", "_tolerance", "_due", "paused_until")

    def __init__(self, rate: float, burst: float = 1) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a pace needs a positive rate and a burst of at least 1, "
                             f"got {rate} and {burst}")
        self._interval = 1 / rate
        self._tolerance = (burst - 1) * self._interval
        self._due = -math.inf  # the theoretical time of the next send at the steady rate
        self.paused_until = -math.inf

    def reserve(self, now: float) -> float:
        """Take the next send time; returns how many seconds from ``now`` it is."""
        start = max(now, self._due - self._tolerance, self.paused_until)
        self._due = max(self._due, start) + self._interval
        return start - now

    def pause(self, until: float) -> None:
        """Nothing goes out before ``until``."""
        self.paused_until = max(self.paused_until, until)

    def idle(self, now: float) -> bool:
        """Whether forgetting this pace changes nothing (its bucket is full, no pause)."""
        return self._due <= now and self.paused_until <= now


class Activity:
    """Whether the bot is busy with someone's update, for bulk sends to give way to it.

    The update processor counts the updates being handled; the limiter takes out those only
    waiting for their chat's turn (they need no CPU), and adds the conversation calls on the
    wire (inside an update or not). A bulk send about to go waits up to
    ``BULK_YIELD`` seconds for that count to reach zero: in a process that sends hundreds of
    messages a second, the event loop then works on the reply first. Waits are bounded, so a
    steady stream of updates delays each bulk send by at most that much, never starves them.
    """

    def __init__(self) -> None:
        self._handling = 0
        self._waiting = 0
        self._replying = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextmanager
    def handling(self) -> Iterator[None]:
        """An update is being handled."""
        self._handling += 1
        self._changed()
        try:
            yield
        finally:
            self._handling -= 1
            self._changed()

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """A reply waits for its chat's turn (or a 429's pause): it needs nothing meanwhile."""
        self._waiting += 1
        self._changed()
        try:
            yield
        finally:
            self._waiting -= 1
            self._changed()

    @contextmanager
    def replying(self) -> Iterator[None]:
        """A conversation call is on the wire (one outside any update too: a slow-down notice)."""
        self._replying += 1
        self._changed()
        try:
            yield
        finally:
            self._replying -= 1
            self._changed()

    async def give_way(self, longest: float) -> None:
        """Wait until no update is being worked on, or ``longest`` seconds."""
        if self._quiet.is_set():
            return
        with suppress(TimeoutError):
            async with asyncio.timeout(longest):
                await self._quiet.wait()

    def _changed(self) -> None:
        if self._handling - self._waiting > 0 or self._replying > 0:
            self._quiet.clear()
        else:
            self._quiet.set()


class TrafficLimiter(BaseRateLimiter[Traffic]):
    """The bot's rate limiter: conversation paced per chat, bulk per chat and at the bulk rate."""

    def __init__(self, bulk_rate: float, chat_rate: float = 1.0, chat_burst: float = 3, *,
                 bulk_burst: float | None = None, paid_rate: float = PAID_BULK_RATE,
                 activity: Activity | None = None, bulk_yield: float = BULK_YIELD,
                 clock: Callable[[], float] | None = None) -> None:
        # A bulk bucket shallower than Telegram's second's worth: the two then never drift into
        # a 429 (bench/RESULTS-broadcast-summary.md: 92-94% of the limit with 1 s, 97.8% with 0.8).
        if bulk_burst is None:
            bulk_burst = max(1, 0.8 * bulk_rate)
        self._bulk = Pace(bulk_rate, bulk_burst)
        self._paid = Pace(paid_rate, max(1, 0.8 * paid_rate))
        self._chat_rate = chat_rate
        self._chat_burst = chat_burst
        self._chats: dict[int | str, Pace] = {}
        self._sweep_at = _SWEEP_AT
        self._activity = activity or Activity()
        self._bulk_yield = bulk_yield
        self._clock = clock

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def chats_paced(self) -> int:
        """How many chats have a pace in memory (those with recent or paused sends)."""
        return len(self._chats)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Traffic | None,
    ) -> Result:
        """Wait for the call's turn, make it, and on a 429 pause what it applies to and retry."""
        traffic = rate_limit_args or Traffic.CONVERSATION
        chat = _chat_key(data) if _counts(endpoint) else None
        bulk = None
        if traffic is Traffic.BULK and chat is not None:
            bulk = self._paid if data.get("allow_paid_broadcast") else self._bulk
        while True:
            if chat is not None:
                if bulk is None:
                    with self._activity.waiting():
                        await self._wait(self._chat(chat))
                else:
                    await self._wait(self._chat(chat))
            if bulk is not None:
                await self._wait(bulk)
                await self._activity.give_way(self._bulk_yield)
            try:
                if traffic is Traffic.CONVERSATION:
                    with self._activity.replying():
                        return await callback(*args, **kwargs)
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = retry_after_seconds(error)
                until = self._now() + seconds
                if chat is not None:
                    self._chat(chat).pause(until)
                if bulk is not None:
                    bulk.pause(until)
                    _logger.warning("Flood control: bulk sends pause for %.1f s (%s to %s)",
                                    seconds, endpoint, chat)
                elif chat is not None:
                    _logger.info("Flood control in chat %s: it pauses for %.1f s (%s)",
                                 chat, seconds, endpoint)
                else:
                    _logger.info("Flood control on %s: retrying in %.1f s", endpoint, seconds)
                    await asyncio.sleep(seconds)

    async def _wait(self, pace: Pace) -> None:
        delay = pace.reserve(self._now())
        while delay > 0:
            await asyncio.sleep(delay)
            delay = pace.paused_until - self._now()  # a 429 may have paused it meanwhile

    def _chat(self, chat: int | str) -> Pace:
        pace = self._chats.get(chat)
        if pace is None:
            if len(self._chats) >= self._sweep_at:
                now = self._now()
                self._chats = {key: p for key, p in self._chats.items() if not p.idle(now)}
                self._sweep_at = max(_SWEEP_AT, 2 * len(self._chats))
            pace = self._chats[chat] = Pace(self._chat_rate * CHAT_MARGIN, self._chat_burst)
        return pace

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()


def retry_after_seconds(error: RetryAfter) -> float:
    """RetryAfter's wait in seconds (at least one), whether PTB gives it as seconds or timedelta."""
    with warnings.catch_warnings():
        # PTB 22 warns that the int form will become a timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = error.retry_after
    return max(1.0, wait.total_seconds() if isinstance(wait, timedelta) else float(wait))


def _counts(endpoint: str) -> bool:
    """Whether Telegram counts the call against its limits: it puts or changes a message."""
    return endpoint.startswith(("send", "edit", "copy", "forward")) and endpoint != "sendChatAction"


def _chat_key(data: dict[str, Any]) -> int | str | None:
    chat = data.get("chat_id")
    if isinstance(chat, str) and chat.lstrip("-").isdigit():
        return int(chat)
    return chat if isinstance(chat, int | str) else None
