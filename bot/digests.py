"""Digests: the summary, sent to subscribed officials and moderators when a consultation closes and
every week while it is open.

Nothing here lives only in memory. A digest is recorded as due in the database before anything is
sent: the final one in the very transaction that closes its consultation (a trigger of migration
0003), a weekly one together with the claim of its week. Who has had it is recorded as each send
succeeds. A sweep sends every due digest to the subscribers still owed it: at start-up (once the
application is running), right after a consultation closes, and every hour. A crash therefore
delays a digest but never loses it; the one duplicate it can cause is to a subscriber whose send
was on the wire at that instant (sent again, like a broadcast's uncertain delivery).

Several workers sweep, each on its own JobQueue, yet each digest is sent by one at a time: a
worker sends a digest only while it holds the digest's lease in the database, and one that finds
it held leaves it to its holder. Whoever takes it next finds only the subscribers still owed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, CallbackContext

from bot.context import SERVICES, Services
from bot.handlers.summaries import render_chart, send_summary, summaries_of
from bot.summary_screens import digest_heading
from bot.traffic import Traffic
from conversations.roles import Permission, allows
from storage.locking import background
from storage.summaries import DueDigest
from storage.workers import DEAD_AFTER

_logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)
CHECK_EVERY = timedelta(hours=1)
MAX_ATTEMPTS = 5  # failed sends to one subscriber (one per sweep) before giving up on them
JOB_NAME = "digests:weekly"
SWEEP_JOB_NAME = "digests:sweep"
_LOCK = "baraza.digests.lock"
# How long a worker may go between two sends of a digest before another may take it over.
LEASE = timedelta(minutes=5)
# APScheduler drops a job that starts over a second late (its default misfire grace time); one
# asked for during start-up runs when the job queue starts, however long start-up took.
_RUN_HOWEVER_LATE = {"misfire_grace_time": None, "coalesce": True}


async def on_status(application: Application, consultation_id: int, verb: str) -> None:
    """Status listener: a consultation closed, so its final digest (already recorded as due, in
    the same commit) is sent by a sweep of its own, and whoever closed it is answered at once."""
    if verb == "close":
        request_sweep(application)


def request_sweep(application: Application) -> None:
    """Send the due digests soon, in a job: during start-up, once the application runs."""
    if application.job_queue is None:  # the hourly check is not running either
        _logger.warning("No job queue: due digests are not sent")
        return
    application.job_queue.run_once(_sweep_job, when=0, name=SWEEP_JOB_NAME,
                                   job_kwargs=_RUN_HOWEVER_LATE)


def start_weekly(application: Application) -> None:
    """At start-up: as soon as the application runs, and then every hour, claim the weekly
    digests that are due and send every digest still owed to someone."""
    assert application.job_queue is not None
    for job in application.job_queue.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()
    application.job_queue.run_repeating(_hourly, interval=CHECK_EVERY, first=CHECK_EVERY,
                                        name=JOB_NAME, job_kwargs=_RUN_HOWEVER_LATE)
    # A repeating job asked for during start-up would first run an interval later, not at once.
    application.job_queue.run_once(_hourly, when=0, name=JOB_NAME, job_kwargs=_RUN_HOWEVER_LATE)


async def _hourly(context: CallbackContext) -> None:
    """Job callback: claim each open consultation's weekly digest once a week, then sweep."""
    await claim_weeks(context.application)
    await sweep(context.application)


async def _sweep_job(context: CallbackContext) -> None:
    await sweep(context.application)


async def claim_weeks(application: Application) -> int:
    """Record a weekly digest as due for each open consultation whose week is up; how many."""
    services: Services = application.bot_data[SERVICES]
    claimed = 0
    for consultation in await services.db.consultations.list(("open",)):
        if (services.turns.runs(consultation)
                and await services.db.digests.claim_weekly(consultation.id, WEEK)):
            claimed += 1
    return claimed


async def sweep(application: Application) -> int:
    """Send every due digest to the subscribers still owed it; returns how many sends succeeded.

    One sweep at a time: one asked for while another runs waits, then finds what is left.
    """
    lock: asyncio.Lock = application.bot_data.setdefault(_LOCK, asyncio.Lock())
    # Bulk: its statements wait behind people's updates (storage/locking.py).
    with background():
        async with lock:
            return await _sweep(application)


async def _sweep(application: Application) -> int:
    """One sweep, under the sweep lock."""
    services: Services = application.bot_data[SERVICES]
    sent = 0
    held_elsewhere = False
    for digest in await services.db.digests.due():
        lease = f"digest:{digest.id}"
        if not await services.db.leases.acquire(lease, services.worker.id, LEASE):
            held_elsewhere = True  # another worker is sending it
            continue
        try:
            sent += await _send_due(application, services, digest, lease)
        except Exception:  # it stays due; the next sweep tries again, and others go on
            _logger.exception("Could not send digest %s of consultation %s", digest.id,
                              digest.consultation_id)
        finally:
            await services.db.leases.release(lease, services.worker.id)
    if held_elsewhere:
        _look_again_later(application)
    return sent


def _look_again_later(application: Application) -> None:
    """Sweep again once a worker holding a digest would count as dead: should it have been
    killed, its digest is sent then rather than at the next hourly sweep."""
    if application.job_queue is not None:
        application.job_queue.run_once(_sweep_job, when=DEAD_AFTER + timedelta(seconds=1),
                                       name=SWEEP_JOB_NAME, job_kwargs=_RUN_HOWEVER_LATE)


async def _send_due(application: Application, services: Services, digest: DueDigest,
                    lease: str) -> int:
    """Send one due digest to everyone still owed it; finish it unless someone is to be retried.

    The lease is renewed before each send; should another worker have taken it over meanwhile
    (this one stalled for longer than LEASE), the rest is left to that one.
    """
    digests = services.db.digests
    consultation = await services.db.consultations.get(digest.consultation_id)
    closed = digest.kind == "final"
    if (consultation is None or not services.turns.runs(consultation)
            or (not closed and consultation.status != "open")):
        # Another questionnaire's; or a weekly digest overtaken by the close (the final says it).
        await digests.finish(digest.id)
        return 0
    owed = await digests.owed(digest.id)
    summary = await summaries_of(services).summary(consultation) if owed else None
    if summary is None or summary.everyone.finished == 0:  # nothing to say, or nobody to say it to
        await digests.finish(digest.id)
        return 0
    charts: dict[str, bytes | None] = {}  # one drawing per language; None: it could not be drawn
    sent, retry = 0, False
    for item in owed:
        if not await services.db.leases.acquire(lease, services.worker.id, LEASE):
            _logger.warning("Digest %s was taken over by another worker", digest.id)
            return sent
        subscriber = item.subscriber
        role, _ = await services.turns.role_of(subscriber.user_id)
        if not allows(role, Permission.READ_SUMMARY):
            continue
        t = services.catalogs.translator(services.catalogs.resolve(subscriber.locale, None))
        if t.locale not in charts:
            charts[t.locale] = await render_chart(services, t, consultation, summary)
        try:
            await send_summary(application.bot, services, subscriber.chat_id, t, consultation, role,
                               summary=summary, chart=charts[t.locale], draw=False,
                               heading=digest_heading(t, consultation, closed),
                               traffic=Traffic.BULK)
        except Forbidden as error:
            await services.db.respondents.mark_blocked(subscriber.user_id)
            await digests.record_failure(digest.id, subscriber.user_id, str(error), give_up=True)
        except TelegramError as error:
            give_up = isinstance(error, BadRequest) or item.attempts + 1 >= MAX_ATTEMPTS
            retry = retry or not give_up
            _logger.warning("Could not send the digest of consultation %s to user %s%s",
                            consultation.id, subscriber.user_id,
                            "" if give_up else " (to be tried again)", exc_info=True)
            await digests.record_failure(digest.id, subscriber.user_id, str(error), give_up=give_up)
        else:
            await digests.record_sent(digest.id, subscriber.user_id)
            sent += 1
    if not retry:
        await digests.finish(digest.id)
    _logger.info("%s digest of consultation %s sent to %s subscribers",
                 "Final" if closed else "Weekly", consultation.id, sent)
    return sent

