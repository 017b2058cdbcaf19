"""Keeping data no longer than needed: the retention run (at start and daily, on PTB's JobQueue),
and the environment's moderators made the database's at every start.

With several workers, one run serves them all: a worker runs retention only if it takes the
retention lease, which then stays held for LEASE, so workers starting together (or running their
daily jobs at their own times) apply it once per LEASE between them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

from telegram.ext import Application, CallbackContext

from bot.config import Settings
from storage import AuditAction, Database

_logger = logging.getLogger(__name__)
JOB_NAME = "retention"
EVERY = timedelta(days=1)
LEASE = timedelta(hours=1)
LEASE_NAME = "retention"


async def apply(db: Database, settings: Settings, worker_id: str) -> None:
    """One retention run, logged with what it did; none when another worker ran it lately."""
    if not await db.leases.acquire(LEASE_NAME, worker_id, LEASE):
        _logger.info("Retention was applied by another worker within the last %s", LEASE)
        return
    done = await db.retention.apply(timedelta(days=settings.retention_days),
                                    timedelta(days=settings.unconsented_days))
    counts = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in asdict(done).items())
    _logger.info("Retention (answers unlinked %s days after a consultation closes): %s",
                 settings.retention_days, counts)


async def start(application: Application, db: Database, settings: Settings,
                worker_id: str) -> None:
    """Apply retention now, then every day."""
    await apply(db, settings, worker_id)
    assert application.job_queue is not None

    async def daily(context: CallbackContext) -> None:
        await apply(db, settings, worker_id)

    application.job_queue.run_repeating(daily, interval=EVERY, first=EVERY, name=JOB_NAME)


async def sync_moderators(db: Database, moderators: frozenset[int]) -> None:
    """BARAZA_MODERATORS manages its moderators: an id removed there loses the role now."""
    for user_id in await db.roles.sync_environment(moderators):
        await db.audit.record(None, AuditAction.REVOKE, target_id=user_id,
                              detail="BARAZA_MODERATORS")
        _logger.info("Moderator %s was removed from BARAZA_MODERATORS: role taken away", user_id)
