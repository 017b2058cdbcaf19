"""The broadcast sender: works through the persisted deliveries at Telegram's pace, once each.

One task per broadcast being sent, all sharing a fixed number of send slots, so that enough
requests are in flight to keep to the rate limit despite each request's latency, and no more.
Pacing is PTB's AIORateLimiter (Settings.messages_per_second, retrying a 429 a few times itself);
this module decides what a failed send means for its delivery:

- 429 (flood control the limiter gave up on): wait ``retry_after`` and send again, not counted;
- 403 (the subscriber blocked the bot or left Telegram): 'blocked', and the respondent is marked
  blocked, so no broadcast writes to them again until they send /start;
- 400 (a request a retry cannot fix): 'failed' at once;
- anything else (network trouble, Telegram's 5xx): retried with exponential backoff, and 'failed'
  after ``max_attempts`` attempts.

Exactly once: a delivery is marked 'sending' before its call and 'sent' (with the message id)
right after it, each in its own commit. Only a crash between the two leaves a delivery whose
fate is unknown; at start-up those are sent again (README, "Broadcasts", says why and what that
risks). Tasks are plain asyncio tasks the Broadcaster owns rather than Application.create_task,
whose tasks Application.stop() would wait for until a whole broadcast was sent.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import aclosing, suppress
from dataclasses import dataclass
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot import announcements
from bot.i18n import Catalogs, Translator
from bot.screens import Screen
from storage import Broadcast, Consultation, Database, DeliveryCounts, Recipient

_logger = logging.getLogger(__name__)

# Enough requests in flight to reach the paid limit (1000 a second) through ~0.2 s of latency,
# and well inside PTB's pool of 256 connections, which handlers share.
PAID_CONCURRENCY = 200


@dataclass(frozen=True)
class DeliveryPolicy:
    """How the sender paces, batches and retries."""

    concurrency: int = 30  # send slots shared by all broadcasts (about one second's worth)
    batch_size: int = 200  # recipients read from the database at a time, per broadcast
    max_attempts: int = 5  # failed attempts before a delivery is given up
    first_backoff: float = 1.0  # seconds before the first retry; doubles after each failure
    progress_every: float = 3.0  # seconds between updates of the moderator's progress message
    drain_timeout: float = 10.0  # on shutdown, how long sends in flight may take to finish
    paid: bool = False  # allow_paid_broadcast: Telegram Stars buy up to 1000 messages a second

    @classmethod
    def for_rate(cls, paid: bool) -> DeliveryPolicy:
        return cls(concurrency=PAID_CONCURRENCY, paid=True) if paid else cls()


class Broadcaster:
    """Sends every unfinished broadcast; owned by the Application from post_init to post_stop."""

    def __init__(self, bot: Bot, db: Database, catalogs: Catalogs,
                 policy: DeliveryPolicy = DeliveryPolicy()) -> None:
        self._bot = bot
        self._db = db
        self._catalogs = catalogs
        self._policy = policy
        self._slots = asyncio.Semaphore(policy.concurrency)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """Resume every broadcast a previous run left unfinished."""
        requeued = await self._db.broadcasts.requeue_interrupted()
        if requeued:
            _logger.warning("%s deliveries were interrupted mid-send; sending them again", requeued)
        for broadcast in await self._db.broadcasts.unfinished():
            self.launch(broadcast.id)

    def launch(self, broadcast_id: int) -> None:
        """Send (or finish reporting) a broadcast, unless that is under way already."""
        if self._stopping.is_set() or broadcast_id in self._tasks:
            return
        task = asyncio.create_task(self._run(broadcast_id), name=f"broadcast-{broadcast_id}")
        self._tasks[broadcast_id] = task
        task.add_done_callback(lambda done: self._ended(broadcast_id, done))

    async def stop(self) -> None:
        """Start no more sends, let those in flight finish (for a while), then end every task."""
        self._stopping.set()
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, unfinished = await asyncio.wait(tasks, timeout=self._policy.drain_timeout)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)

    def _ended(self, broadcast_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.pop(broadcast_id, None)
        if not task.cancelled() and task.exception() is not None:
            # Its deliveries stay in the database; the next start resumes them.
            _logger.error("Broadcast %s stopped on an error", broadcast_id,
                          exc_info=task.exception())

    # -- one broadcast ------------------------------------------------------------------------

    async def _run(self, broadcast_id: int) -> None:
        broadcast = await self._db.broadcasts.get(broadcast_id)
        if broadcast is None:
            return
        consultation = await self._db.consultations.get(broadcast.consultation_id)
        assert consultation is not None  # consultations are never deleted
        moderator = self._catalogs.translator(self._catalogs.resolve(broadcast.locale, None))
        progress = _Progress(self._bot, self._db, broadcast, consultation, moderator)
        await progress.update()
        ticker = asyncio.create_task(self._tick(progress))
        try:
            await self._deliver_all(broadcast.id, consultation)
        finally:
            ticker.cancel()
            with suppress(asyncio.CancelledError):
                await ticker
        if self._stopping.is_set():
            return
        # Reported before it is marked finished: a crash in between reports twice, never not at all.
        await progress.finish()
        await self._db.broadcasts.finish(broadcast.id)
        _logger.info("Broadcast %s finished", broadcast.id)

    async def _tick(self, progress: _Progress) -> None:
        while True:
            await asyncio.sleep(self._policy.progress_every)
            await progress.update()

    async def _deliver_all(self, broadcast_id: int, consultation: Consultation) -> None:
        """Deliver every pending recipient, a bounded number at a time, until none is left."""
        screens: dict[str, Screen] = {}
        # Deliveries under way (sending, or waiting to retry); bounds memory and tasks.
        admitted = asyncio.Semaphore(self._policy.concurrency * 2)

        async def deliver(recipient: Recipient, screen: Screen) -> None:
            try:
                await self._deliver(broadcast_id, recipient, screen)
            finally:
                admitted.release()

        async with asyncio.TaskGroup() as group, aclosing(self._recipients(broadcast_id)) as queue:
            async for recipient in queue:
                await admitted.acquire()
                if self._stopping.is_set():
                    admitted.release()
                    break
                locale = self._catalogs.resolve(recipient.locale, None)
                if locale not in screens:
                    screens[locale] = announcements.announcement(
                        self._catalogs.translator(locale), consultation)
                group.create_task(deliver(recipient, screens[locale]))

    async def _recipients(self, broadcast_id: int) -> AsyncIterator[Recipient]:
        """Pending recipients in user order, read in batches (never all at once)."""
        after = 0
        while not self._stopping.is_set():
            batch = await self._db.broadcasts.pending(broadcast_id, after, self._policy.batch_size)
            if not batch:
                return
            for recipient in batch:
                yield recipient
            after = batch[-1].user_id

    async def _deliver(self, broadcast_id: int, recipient: Recipient, screen: Screen) -> None:
        """Send one announcement, retrying as the error allows, and record what became of it."""
        repo, user_id = self._db.broadcasts, recipient.user_id
        failures = recipient.attempts
        paid = {"allow_paid_broadcast": True} if self._policy.paid else {}
        while True:
            async with self._slots:
                if self._stopping.is_set() or not await repo.begin_attempt(broadcast_id, user_id):
                    return  # shutting down, or stopped by a moderator: it stays pending
                try:
                    message = await self._bot.send_message(
                        recipient.chat_id, screen.text, reply_markup=screen.keyboard, **paid)
                except RetryAfter as error:
                    await repo.retry_later(broadcast_id, user_id, str(error), counted=False)
                    delay = _seconds(error)
                except Forbidden as error:
                    async with self._db.transaction():
                        await repo.mark_blocked(broadcast_id, user_id, str(error))
                        await self._db.respondents.mark_blocked(user_id)
                    return
                except BadRequest as error:
                    _logger.warning("Broadcast %s to %s refused: %s", broadcast_id, user_id, error)
                    await repo.mark_failed(broadcast_id, user_id, str(error))
                    return
                except TelegramError as error:
                    failures += 1
                    if failures >= self._policy.max_attempts:
                        _logger.warning("Broadcast %s to %s failed %s times, giving up: %s",
                                        broadcast_id, user_id, failures, error)
                        await repo.mark_failed(broadcast_id, user_id, str(error))
                        return
                    await repo.retry_later(broadcast_id, user_id, str(error), counted=True)
                    delay = self._policy.first_backoff * 2 ** (failures - 1)
                else:
                    # Shielded: once Telegram has the message, its row must say so even if this
                    # task is being cancelled at shutdown.
                    await asyncio.shield(repo.mark_sent(broadcast_id, user_id, message.message_id))
                    return
            if await self._stopped_within(delay):
                return  # the delivery is pending again; the next start sends it

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait before a retry; True when the sender is stopping instead."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True


class _Progress:
    """The moderator's progress message, edited in place only when its text changes."""

    def __init__(self, bot: Bot, db: Database, broadcast: Broadcast, consultation: Consultation,
                 t: Translator) -> None:
        self._bot = bot
        self._db = db
        self._broadcast = broadcast
        self._consultation = consultation
        self._t = t
        self._shown = broadcast.progress_text

    async def update(self) -> None:
        """Show the current counts, if they changed."""
        counts, status = await self._state()
        await self._show(counts, status, finished=False)

    async def finish(self) -> None:
        """The final counts in place, and the report as a new message (so it notifies)."""
        counts, status = await self._state()
        await self._show(counts, status, finished=True)
        chat_id = self._broadcast.progress_chat_id or self._broadcast.created_by
        try:
            await self._bot.send_message(
                chat_id, announcements.report(self._t, self._consultation, counts, status))
        except TelegramError as error:
            _logger.warning("Could not report broadcast %s: %s", self._broadcast.id, error)

    async def _state(self) -> tuple[DeliveryCounts, str]:
        broadcast = await self._db.broadcasts.get(self._broadcast.id)
        assert broadcast is not None
        return await self._db.broadcasts.counts(broadcast.id), broadcast.status

    async def _show(self, counts: DeliveryCounts, status: str, *, finished: bool) -> None:
        chat_id, message_id = self._broadcast.progress_chat_id, self._broadcast.progress_message_id
        if chat_id is None or message_id is None:
            return
        screen = announcements.progress(self._t, self._consultation, self._broadcast.id, counts,
                                        status, finished)
        if screen.text == self._shown:
            return
        # Stored before the edit: after a crash in between, the next text differs anyway (the
        # counts only move on), so the message is never edited to the text it already shows.
        self._shown = screen.text
        await self._db.broadcasts.set_progress_text(self._broadcast.id, screen.text)
        try:
            await self._bot.edit_message_text(screen.text, chat_id, message_id,
                                              reply_markup=screen.keyboard)
        except TelegramError as error:
            _logger.warning("Could not update the progress of broadcast %s: %s",
                            self._broadcast.id, error)


def _seconds(error: RetryAfter) -> float:
    """RetryAfter's wait, whether PTB gives it as seconds or as a timedelta."""
    with warnings.catch_warnings():
        # PTB 22 warns that the int form will become a timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = error.retry_after
    return max(1.0, wait.total_seconds() if isinstance(wait, timedelta) else float(wait))
