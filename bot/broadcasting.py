"""The broadcast sender: works through the persisted deliveries at Telegram's pace, once each.

One task per broadcast being sent, all sharing a fixed number of send slots, so that enough
requests are in flight to keep to the rate limit despite each request's latency, and no more.
Every call here is bulk traffic (``Traffic.BULK``): bot/traffic.py paces it at
Settings.messages_per_second behind any reply to a person, and waits out every 429 itself. This
module decides what a failed send means for its delivery:

- 429 (should one still reach here, from a bot without that limiter): wait ``retry_after`` and
  send again, not counted;
- 403 (the subscriber blocked the bot or left Telegram): 'blocked', and the respondent is marked
  blocked, so no broadcast writes to them again until they send /start;
- 400 (a request a retry cannot fix): 'failed' at once;
- no answer (the network is down, the request timed out) or Telegram's 5xx, which PTB both raise as
  NetworkError: an outage, not the subscriber's problem. Every broadcast pauses (a circuit breaker
  shared by all of them: wait, let one send through as a probe, resume once Telegram answers it,
  else wait twice as long, up to ``longest_pause``), and the deliveries go back to the queue
  without counting an attempt, so an outage of any length uses up nobody's retries. Only the send
  whose failure opened the breaker counts one, and a probe that fails while Telegram answers getMe,
  so that a request failing this way on its own is given up after ``max_attempts`` like any other
  instead of pausing everything again and again;
- anything else: retried with exponential backoff, and 'failed' after ``max_attempts`` attempts.

Each delivery is checked as it is taken, not when the queue was built: a subscriber who sent /stop
since Send is skipped, and a broadcast whose consultation closed stops (see
BroadcastRepository.begin_attempt).

Exactly once: a delivery is marked 'sending' before its call and 'sent' (with the message id)
right after it, each in its own commit. Only a crash between the two leaves a delivery whose
fate is unknown; those are sent again (README, "Broadcasts", says why and what that risks).
Tasks are plain asyncio tasks the Broadcaster owns rather than Application.create_task,
whose tasks Application.stop() would wait for until a whole broadcast was sent.

Which process runs it: the one answering people, or, for paid broadcasts, a sender process of
its own beside it (bot/sender.py; Settings.broadcast_sender).

Several workers: each claims batches of free deliveries and begins only its own
(storage/delivery_claims.py), and all of them take their sends from one shared budget
(bot/budget.py), so together they keep to the bot's rate. At start-up and at every heartbeat a
worker frees what dead workers left (their deliveries in flight are sent again, as after a
crash) and sends every unfinished broadcast alongside the others. One worker at a time edits a
broadcast's progress message and one makes its final report (leases), once no worker has any of
its deliveries left.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import aclosing, suppress
from dataclasses import dataclass
from datetime import timedelta

from telegram.ext import ExtBot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot import announcements
from bot.budget import SharedBudget
from bot.config import Settings
from bot.i18n import Catalogs, Translator
from bot.screens import Screen
from bot.traffic import Traffic
from bot.workers import WorkerIdentity
from storage import (
    Broadcast,
    Consultation,
    Database,
    DeliveryCounts,
    RecordNotFound,
    Recipient,
    background,
)
from storage.broadcasts import Taken

_logger = logging.getLogger(__name__)

# Enough requests in flight to reach the paid limit (1000 a second) through ~0.2 s of latency,
# and well inside PTB's pool of 256 connections, which handlers share.
PAID_CONCURRENCY = 200
# How long a worker may take to make a broadcast's final report before another makes it instead.
REPORT_LEASE = timedelta(minutes=1)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How the sender paces, batches and retries."""

    concurrency: int = 30  # send slots shared by all broadcasts (about one second's worth)
    batch_size: int = 60  # deliveries a worker claims at a time, per broadcast (2 s at 30/s)
    max_attempts: int = 5  # failed attempts before a delivery is given up
    first_backoff: float = 1.0  # seconds before the first retry; doubles after each failure
    first_pause: float = 1.0  # an outage: seconds before the first probe; doubles after each
    longest_pause: float = 30.0  # ... up to this (so a recovered network is noticed this soon)
    progress_every: float = 3.0  # seconds between updates of the moderator's progress message
    drain_timeout: float = 10.0  # on shutdown, how long sends in flight may take to finish
    paid: bool = False  # allow_paid_broadcast: Telegram Stars buy up to 1000 messages a second

    @classmethod
    def for_rate(cls, paid: bool) -> DeliveryPolicy:
        return cls(concurrency=PAID_CONCURRENCY, paid=True) if paid else cls()


class Broadcaster:
    """Sends every unfinished broadcast; owned by the Application from post_init to post_stop."""

    def __init__(self, bot: ExtBot[None], db: Database, catalogs: Catalogs,
                 policy: DeliveryPolicy = DeliveryPolicy(), *,
                 worker: WorkerIdentity | None = None, rate: float | None = None) -> None:
        """``rate``: the bot's bulk messages per second, shared with the other workers."""
        self._bot = bot
        self._db = db
        self._catalogs = catalogs
        self._policy = policy
        self._worker = worker or WorkerIdentity()
        self._budget = SharedBudget(db.send_budget, rate) if rate else None
        self._slots = asyncio.Semaphore(policy.concurrency)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._newest = 0  # the newest unfinished broadcast seen (ids only grow)
        self._stopping = asyncio.Event()
        self._outage = _CircuitBreaker(policy.first_pause, policy.longest_pause)

    @classmethod
    def for_settings(cls, bot: ExtBot[None], db: Database, catalogs: Catalogs,
                     settings: Settings, worker: WorkerIdentity) -> Broadcaster:
        """The sender as configured: at the bot's bulk rate (Telegram's paid one when paid)."""
        return cls(bot, db, catalogs, DeliveryPolicy.for_rate(settings.paid_broadcast),
                   worker=worker, rate=settings.bulk_rate)

    @property
    def db(self) -> Database:
        return self._db

    async def start(self) -> None:
        """Resume every broadcast a previous run left unfinished."""
        await self.adopt()

    async def adopt(self) -> None:
        """Free what dead workers left, and send every unfinished broadcast along with the others.

        At start-up and at every heartbeat. A broadcast under way here already is left as it is.
        """
        if self._stopping.is_set():
            return
        requeued = await self._db.delivery_claims.requeue_orphaned(
            self._db.workers.cutoff(), keep=self._worker.id)
        if requeued.interrupted:
            _logger.warning("%s deliveries were interrupted mid-send; sending them again",
                            requeued.interrupted)
        if requeued.released:
            _logger.warning("%s deliveries claimed by a worker that stopped are free again",
                            requeued.released)
        await self._launch_unfinished(newer_than=0)

    async def pick_up(self) -> None:
        """Send the broadcasts moderators began since the last look (how a sender process learns).

        Only new ones: one this worker has sent already and that is still unfinished waits for
        other workers (their deliveries, or the report), and is looked at again by ``adopt``.
        """
        await self._launch_unfinished(newer_than=self._newest)

    @property
    def under_way(self) -> frozenset[int]:
        """The broadcasts this worker is sending (or reporting) now."""
        return frozenset(self._tasks)

    async def _launch_unfinished(self, newer_than: int) -> None:
        if self._stopping.is_set():
            return
        for broadcast in await self._db.broadcasts.unfinished():
            self._newest = max(self._newest, broadcast.id)
            if broadcast.id > newer_than:
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
        self._outage.wake()  # deliveries waiting out an outage give up waiting
        tasks = list(self._tasks.values())
        if self._budget is not None:
            await self._budget.close()
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
        with background():  # its statements wait behind people's updates (storage/locking.py)
            await self._send(broadcast_id)

    async def _send(self, broadcast_id: int) -> None:
        broadcast = await self._db.broadcasts.get(broadcast_id)
        if broadcast is None:
            return
        consultation = await self._db.consultations.get(broadcast.consultation_id)
        assert consultation is not None  # consultations are never deleted
        moderator = self._catalogs.translator(self._catalogs.resolve(broadcast.locale, None))
        progress = _Progress(self._bot, self._db, broadcast, consultation, moderator)
        progress_lease = f"broadcast:{broadcast_id}:progress"
        ticker = asyncio.create_task(self._tick(progress, progress_lease))
        try:
            await self._deliver_all(broadcast.id, consultation)
        finally:
            ticker.cancel()
            with suppress(asyncio.CancelledError):
                await ticker
            # What this worker claimed and never began is free for the others again, and so is
            # the progress message.
            await asyncio.shield(self._let_go(broadcast_id, progress_lease))
        if self._stopping.is_set():
            return
        if await self._db.delivery_claims.remaining(broadcast_id):
            return  # other workers are still sending some: whichever ends last reports
        report_lease = f"broadcast:{broadcast_id}:report"
        if not await self._db.leases.acquire(report_lease, self._worker.id, REPORT_LEASE):
            return  # another worker is reporting it
        # Reported before it is marked finished: a crash in between reports twice, never not at all.
        await progress.finish()
        await self._db.broadcasts.finish(broadcast.id)
        await self._db.leases.release(report_lease, self._worker.id)
        _logger.info("Broadcast %s finished", broadcast.id)

    async def _let_go(self, broadcast_id: int, progress_lease: str) -> None:
        await self._db.delivery_claims.release(self._worker.id, broadcast_id)
        await self._db.leases.release(progress_lease, self._worker.id)

    async def _tick(self, progress: _Progress, lease: str) -> None:
        """Keep the progress message current, while this worker holds its lease."""
        ttl = timedelta(seconds=self._policy.progress_every * 3)
        while True:
            if await self._db.leases.acquire(lease, self._worker.id, ttl):
                await progress.update()
            await asyncio.sleep(self._policy.progress_every)

    async def _deliver_all(self, broadcast_id: int, consultation: Consultation) -> None:
        """Deliver every pending recipient, a bounded number at a time, until none is left."""
        screens: dict[tuple[str, bool], Screen] = {}
        # Deliveries under way (sending, or waiting to retry); bounds memory and tasks.
        admitted = asyncio.Semaphore(self._policy.concurrency * 2)

        async def deliver(recipient: Recipient, screen: Screen) -> None:
            try:
                await self._deliver(broadcast_id, recipient, screen)
            except RecordNotFound:
                # The recipient used /forget while theirs was on the wire: nothing to record.
                _logger.info("Broadcast %s: a recipient was erased while being sent to",
                             broadcast_id)
            finally:
                admitted.release()

        async with asyncio.TaskGroup() as group, aclosing(self._recipients(broadcast_id)) as queue:
            async for recipient in queue:
                await admitted.acquire()
                if self._stopping.is_set():
                    admitted.release()
                    break
                # Someone who finished the consultation is not told their views are wanted.
                key = (self._catalogs.resolve(recipient.locale, None), recipient.finished)
                if key not in screens:
                    screens[key] = announcements.announcement(
                        self._catalogs.translator(key[0]), consultation, answered=key[1])
                group.create_task(deliver(recipient, screens[key]))

    async def _recipients(self, broadcast_id: int) -> AsyncIterator[Recipient]:
        """Pending recipients this worker claimed, a batch at a time, until none is free."""
        while not self._stopping.is_set():
            batch = await self._db.delivery_claims.claim(broadcast_id, self._worker.id,
                                                         self._policy.batch_size)
            if not batch:
                return
            for recipient in batch:
                yield recipient

    async def _deliver(self, broadcast_id: int, recipient: Recipient, screen: Screen) -> None:
        """Send one announcement, retrying as the error allows, and record what became of it."""
        repo, user_id = self._db.broadcasts, recipient.user_id
        failures = recipient.attempts
        paid = {"allow_paid_broadcast": True} if self._policy.paid else {}
        while True:
            ticket = await self._outage.admit(self._stopping)  # waits while Telegram is away
            if ticket is None:
                return  # shutting down: it stays pending
            try:
                async with self._slots:
                    if self._stopping.is_set():
                        return
                    if self._outage.open and not ticket.probe:
                        continue  # it opened while this one waited for a slot: wait for it
                    taken = await repo.begin_attempt(broadcast_id, user_id, self._worker.id)
                    if taken is not Taken.SEND:
                        return  # skipped (unsubscribed, blocked), or the broadcast was stopped
                    if self._budget is not None:
                        # The bot's rate, shared by every worker. Waited for as 'sending', as
                        # for the limiter's bulk pace: a crash meanwhile sends it again, once.
                        await self._budget.take()
                    try:
                        message = await self._bot.send_message(
                            recipient.chat_id, screen.text, reply_markup=screen.keyboard,
                            rate_limit_args=Traffic.BULK, **paid)
                    except BadRequest as error:  # a NetworkError in PTB's hierarchy, so first
                        self._outage.answered(ticket)
                        _logger.warning("Broadcast %s to %s refused: %s",
                                        broadcast_id, user_id, error)
                        await repo.mark_failed(broadcast_id, user_id, str(error))
                        return
                    except NetworkError as error:
                        # No answer, or a 5xx: the delivery waits for the network, its attempts
                        # spared, unless the failure looks like this request's own (see
                        # _CircuitBreaker.failed): then it counts, so that a request that keeps
                        # failing is given up like any other instead of pausing all forever.
                        reachable = ticket.probe and await self._reachable()
                        own = self._outage.failed(ticket, error, reachable=reachable)
                        failures += own
                        if failures >= self._policy.max_attempts:
                            _logger.warning("Broadcast %s to %s failed %s times, giving up: %s",
                                            broadcast_id, user_id, failures, error)
                            await repo.mark_failed(broadcast_id, user_id, str(error))
                            return
                        await repo.retry_later(broadcast_id, user_id, str(error), counted=own)
                        continue
                    except RetryAfter as error:
                        self._outage.answered(ticket)
                        await repo.retry_later(broadcast_id, user_id, str(error), counted=False)
                        delay = _seconds(error)
                    except Forbidden as error:
                        self._outage.answered(ticket)
                        async with self._db.transaction():
                            await repo.mark_blocked(broadcast_id, user_id, str(error))
                            await self._db.respondents.mark_blocked(user_id)
                        return
                    except TelegramError as error:
                        self._outage.answered(ticket)
                        failures += 1
                        if failures >= self._policy.max_attempts:
                            _logger.warning("Broadcast %s to %s failed %s times, giving up: %s",
                                            broadcast_id, user_id, failures, error)
                            await repo.mark_failed(broadcast_id, user_id, str(error))
                            return
                        await repo.retry_later(broadcast_id, user_id, str(error), counted=True)
                        delay = self._policy.first_backoff * 2 ** (failures - 1)
                    else:
                        self._outage.answered(ticket)
                        # Shielded: once Telegram has the message, its row must say so even if
                        # this task is being cancelled at shutdown.
                        await asyncio.shield(
                            repo.mark_sent(broadcast_id, user_id, message.message_id))
                        return
            finally:
                self._outage.unused(ticket)  # a probe that sent nothing lets another one probe
            if await self._stopped_within(delay):
                return  # the delivery is pending again; the next start sends it

    async def _reachable(self) -> bool:
        """Whether Telegram answers at all (getMe): an outage, or only one request failing?"""
        try:
            await self._bot.get_me()
        except BadRequest:
            return True
        except NetworkError:
            return False
        except TelegramError:
            return True
        return True

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait before a retry; True when the sender is stopping instead."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True


@dataclass(eq=False)
class _Ticket:
    """Leave to begin one send, from the circuit breaker."""

    epoch: int  # the breaker's state when it was given: a failure from an older one is old news
    probe: bool  # the one send let through to find out whether Telegram can be reached again
    settled: bool = False  # its outcome was reported


class _CircuitBreaker:
    """Pauses every broadcast while Telegram cannot be reached, instead of failing their deliveries.

    Closed, sends go out. A send that gets no answer (or a 5xx) opens it: no send begins for a
    pause; then one send goes out as a probe while the rest keep waiting. Any answer from Telegram
    to a send (sent, 403, 429...) closes it, and the waiting sends resume. A probe that fails opens
    it again, unless Telegram answers getMe meanwhile: then only that request fails, and the others
    resume. Each pause is twice the last (up to ``longest`` seconds) until a send is answered.
    Sends that were in flight when it opened fail as well; they tell nothing new and change nothing.
    """

    def __init__(self, first: float, longest: float) -> None:
        self._first = first
        self._longest = longest
        self._pause = first  # the next pause
        self._reopens_at: float | None = None  # None: closed
        self._probing = False
        self._since = 0.0  # when the outage began
        self._epoch = 0
        self._changed = asyncio.Event()

    @property
    def open(self) -> bool:
        return self._reopens_at is not None

    async def admit(self, stopping: asyncio.Event) -> _Ticket | None:
        """Wait until a send may begin (None: ``stopping`` was set instead)."""
        loop = asyncio.get_running_loop()
        while not stopping.is_set():
            if self._reopens_at is None:
                return _Ticket(self._epoch, probe=False)
            now = loop.time()
            if not self._probing and now >= self._reopens_at:
                self._probing = True
                return _Ticket(self._epoch, probe=True)
            changed = self._changed
            timeout = None if self._probing else self._reopens_at - now
            with suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout)
        return None

    def answered(self, ticket: _Ticket) -> None:
        """Telegram answered a send: it can be reached."""
        ticket.settled = True
        self._pause = self._first
        if self._reopens_at is not None:
            _logger.info("Telegram answers again after %.1f s; broadcasts resume",
                         asyncio.get_running_loop().time() - self._since)
            self._close()

    def failed(self, ticket: _Ticket, error: TelegramError, *, reachable: bool) -> bool:
        """A send got no answer, or a server error; ``reachable``: Telegram answered getMe since.

        True when the failure is likely the request's own, so that it counts as an attempt: the
        send that opened the breaker (Telegram was answering until then), or a probe that failed
        while getMe was answered. An outage counts one attempt, for one delivery.
        """
        ticket.settled = True
        if ticket.epoch != self._epoch:
            return False  # began before the breaker last changed: nothing new
        if ticket.probe and reachable:
            _logger.warning("Telegram answers, yet a send failed (%s); broadcasts resume", error)
            self._close()
            return True
        now = asyncio.get_running_loop().time()
        opened = self._reopens_at is None
        if opened:
            self._since = now
            _logger.warning("Telegram out of reach (%s); broadcasts pause, next try in %.1f s",
                            error, self._pause)
        else:
            _logger.warning("Telegram still out of reach (%s); next try in %.1f s",
                            error, self._pause)
        self._reopens_at = now + self._pause
        self._pause = min(self._pause * 2, self._longest)
        self._probing = False
        self._notify()
        return opened

    def unused(self, ticket: _Ticket) -> None:
        """The ticket's send never went out (nothing to send, or shutting down)."""
        if ticket.settled:
            return
        ticket.settled = True
        if ticket.probe and ticket.epoch == self._epoch and self._probing:
            self._probing = False
            self._notify()

    def wake(self) -> None:
        """Let every waiting send look again (the sender is stopping)."""
        self._notify()

    def _close(self) -> None:
        self._reopens_at = None
        self._probing = False
        self._notify()

    def _notify(self) -> None:
        self._epoch += 1
        self._changed.set()
        self._changed = asyncio.Event()


class _Progress:
    """The moderator's progress message, edited in place only when its text changes."""

    def __init__(self, bot: ExtBot[None], db: Database, broadcast: Broadcast,
                 consultation: Consultation, t: Translator) -> None:
        self._bot = bot
        self._db = db
        self._broadcast = broadcast
        self._consultation = consultation
        self._t = t
        self._shown = broadcast.progress_text

    async def update(self) -> None:
        """Show the current counts, if they changed."""
        counts, broadcast = await self._state()
        await self._show(counts, broadcast, finished=False)

    async def finish(self) -> None:
        """The final counts in place, and the report as a new message (so it notifies)."""
        counts, broadcast = await self._state()
        await self._show(counts, broadcast, finished=True)
        chat_id = self._broadcast.progress_chat_id or self._broadcast.created_by
        if not chat_id:
            return  # its moderator used /forget: there is nobody to report to
        try:
            await self._bot.send_message(
                chat_id, announcements.report(self._t, self._consultation, counts,
                                              broadcast.status, broadcast.stop_reason),
                rate_limit_args=Traffic.BULK)
        except TelegramError as error:
            _logger.warning("Could not report broadcast %s: %s", self._broadcast.id, error)

    async def _state(self) -> tuple[DeliveryCounts, Broadcast]:
        broadcast = await self._db.broadcasts.get(self._broadcast.id)
        assert broadcast is not None
        return await self._db.broadcasts.counts(broadcast.id), broadcast

    async def _show(self, counts: DeliveryCounts, broadcast: Broadcast, *, finished: bool) -> None:
        chat_id, message_id = self._broadcast.progress_chat_id, self._broadcast.progress_message_id
        if chat_id is None or message_id is None:
            return
        screen = announcements.progress(self._t, self._consultation, self._broadcast.id, counts,
                                        broadcast.status, finished, broadcast.stop_reason)
        if screen.text == self._shown:
            return
        # Stored before the edit: after a crash in between, the next text differs anyway (the
        # counts only move on), so the message is never edited to the text it already shows.
        self._shown = screen.text
        await self._db.broadcasts.set_progress_text(self._broadcast.id, screen.text)
        try:
            await self._bot.edit_message_text(screen.text, chat_id, message_id,
                                              reply_markup=screen.keyboard,
                                              rate_limit_args=Traffic.BULK)
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
