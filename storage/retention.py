"""Retention: what is kept only for a while, purged (or unlinked from Telegram ids) afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from storage.backend import Backend
from storage.clock import Clock, timestamp

RECORDS_KEPT = timedelta(days=30)  # deliveries, used or expired invitations, digest records
# Telegram keeps an unconfirmed update for 24 hours: after that no erasure can be redelivered.
ERASURES_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class Retained:
    """What one retention run did (counts only: it is logged)."""

    unlinked_sessions: int = 0  # finished answers kept for the results, without the Telegram id
    deleted_sessions: int = 0  # unfinished sessions of long-closed consultations
    respondents: int = 0  # records of people gone quiet (never consented, or nothing left)
    deliveries: int = 0
    invitations: int = 0
    digests: int = 0
    erasures: int = 0


class RetentionRepository:
    """Applies the retention periods in one transaction."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def apply(self, answers_kept: timedelta, unconsented_kept: timedelta,
                    records_kept: timedelta = RECORDS_KEPT) -> Retained:
        """Unlink answers of consultations closed longer than ``answers_kept``; purge the rest.

        A respondent's record goes once they have been quiet for ``answers_kept`` with no
        answers left linked to them, or for ``unconsented_kept`` without ever consenting
        (all that was kept was what it takes to greet them again); someone with a role stays.
        """
        now = self._clock()

        def cutoff(kept: timedelta) -> str:
            return timestamp(lambda: now - kept)

        async def run(sql: str, *params: object) -> int:
            return len(await self._backend.fetch(sql, params))

        closed = ("consultation_id IN (SELECT id FROM consultations WHERE status = 'closed'"
                  " AND closed_at < ?)")
        answers = cutoff(answers_kept)
        quiet = "coalesce(last_update_at, created_at) < ?"
        async with self._backend.transaction():
            return Retained(
                deleted_sessions=await run(
                    f"DELETE FROM sessions WHERE user_id IS NOT NULL AND finished_at IS NULL"
                    f" AND {closed} RETURNING id", answers),
                unlinked_sessions=await run(
                    f"UPDATE sessions SET user_id = NULL, cursor = NULL, prompt_message_id = NULL"
                    f" WHERE user_id IS NOT NULL AND {closed} RETURNING id", answers),
                respondents=await run(
                    "DELETE FROM respondents WHERE user_id NOT IN (SELECT user_id FROM roles) AND"
                    f" (({quiet} AND consented_at IS NULL) OR ({quiet} AND NOT EXISTS"
                    " (SELECT 1 FROM sessions WHERE sessions.user_id = respondents.user_id)))"
                    " RETURNING user_id", cutoff(unconsented_kept), answers),
                deliveries=await run(
                    "DELETE FROM deliveries WHERE broadcast_id IN (SELECT id FROM broadcasts"
                    " WHERE finished_at < ?) RETURNING user_id", cutoff(records_kept)),
                invitations=await run(
                    "DELETE FROM invitations WHERE used_at < ?1 OR expires_at < ?1"
                    " RETURNING token_hash", cutoff(records_kept)),
                digests=await run("DELETE FROM digests WHERE done_at < ? RETURNING id",
                                  cutoff(records_kept)),
                erasures=await run(
                    "DELETE FROM erasures WHERE erased_at < ? RETURNING update_id",
                    cutoff(ERASURES_KEPT)),
            )
