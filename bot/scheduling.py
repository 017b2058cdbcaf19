"""Consultations open and close on time: PTB's JobQueue, re-created from the database at start.

JobQueue jobs live in memory only, so the database is the schedule: at start-up every overdue
change is applied at once and every future one becomes a job again.

Several workers: a schedule set through one worker reaches the others when they re-read the
database (every REFRESH_EVERY), so it survives the worker that took it. Each worker then runs the
change at its time, and it happens once: the change is a conditional update (a consultation
closes only from open or draft), so only one worker's succeeds, and only that one tells the
listeners and writes the audit trail.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from telegram.ext import Application, CallbackContext

from bot.context import SERVICES, Services
from storage import AuditAction, Consultation, Database

_logger = logging.getLogger(__name__)
REFRESH_EVERY = timedelta(seconds=30)
REFRESH_JOB_NAME = "consultations:schedules"

# Which statuses a change may leave, per verb. Reopening keeps every answer given before.
TRANSITIONS = {"open": ("open", ("draft",)), "close": ("closed", ("draft", "open")),
               "reopen": ("open", ("closed",))}
# How the audit trail records each verb.
STATUS_ACTIONS = {"open": AuditAction.OPEN_CONSULTATION, "close": AuditAction.CLOSE_CONSULTATION,
                  "reopen": AuditAction.REOPEN_CONSULTATION}


def job_name(consultation_id: int, verb: str) -> str:
    return f"consultation:{consultation_id}:{verb}"


async def change_status(application: Application, consultation_id: int, verb: str) -> bool:
    """Open or close a consultation if its status allows, and tell the listeners (digests).

    Every change goes through here: a moderator's button, a schedule, a catch-up at start-up.
    Returns False when nothing changed.
    """
    services: Services = application.bot_data[SERVICES]
    status, allowed_from = TRANSITIONS[verb]
    if not await services.db.consultations.set_status(consultation_id, status,
                                                      expected=allowed_from):
        return False
    for listener in services.status_listeners:
        await listener(application, consultation_id, verb)
    return True


def schedule(application: Application, consultation: Consultation,
             now: datetime | None = None) -> None:
    """Replace the consultation's jobs with ones for its future opening and closing."""
    assert application.job_queue is not None
    now = now or datetime.now(UTC)
    for verb, moment in (("open", consultation.opens_at), ("close", consultation.closes_at)):
        name = job_name(consultation.id, verb)
        for job in application.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
        if moment is not None and moment > now:
            # A job that fires late (a stalled loop, a suspended machine) must still run:
            # APScheduler would otherwise drop it after one second's grace.
            application.job_queue.run_once(_run_transition, when=moment, name=name,
                                           data=(consultation.id, verb),
                                           job_kwargs={"misfire_grace_time": None,
                                                       "coalesce": True})


async def apply_schedule(application: Application, consultation: Consultation) -> None:
    """Apply what is already due (a time in the past), and schedule the rest."""
    now = datetime.now(UTC)
    for verb, moment in (("open", consultation.opens_at), ("close", consultation.closes_at)):
        if moment is not None and moment <= now and await change_status(
                application, consultation.id, verb):
            _logger.info("Consultation %s: %s (due %s)", consultation.id, verb, moment)
            await application.bot_data[SERVICES].db.audit.record(
                None, STATUS_ACTIONS[verb], consultation_id=consultation.id)
    schedule(application, consultation, now)


async def restore(application: Application, db: Database) -> None:
    """At start-up: apply what fell due while the bot was down, schedule the rest."""
    for consultation in await db.consultations.list(("draft", "open")):
        await apply_schedule(application, consultation)


def keep_current(application: Application, db: Database) -> None:
    """Re-read the schedules every REFRESH_EVERY: those set through another worker, too."""
    assert application.job_queue is not None

    async def refresh(context: CallbackContext) -> None:
        await restore(application, db)

    application.job_queue.run_repeating(refresh, interval=REFRESH_EVERY, first=REFRESH_EVERY,
                                        name=REFRESH_JOB_NAME)


async def _run_transition(context: CallbackContext) -> None:
    """Job callback: open or close a consultation on time."""
    consultation_id, verb = context.job.data  # type: ignore[union-attr, misc]
    if await change_status(context.application, consultation_id, verb):
        _logger.info("Consultation %s: %s on schedule", consultation_id, verb)
        await context.application.bot_data[SERVICES].db.audit.record(
            None, STATUS_ACTIONS[verb], consultation_id=consultation_id)
