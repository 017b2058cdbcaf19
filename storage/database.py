"""The Baraza database: open (and migrate) it, run transactions, and reach the repositories."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from importlib.resources.abc import Traversable
from pathlib import Path

from storage.audit import AuditRepository
from storage.backend import Backend
from storage.broadcasts import BroadcastRepository
from storage.clock import Clock, utc_now
from storage.consultations import ConsultationRepository
from storage.delivery_claims import DeliveryClaimRepository
from storage.leases import LeaseRepository
from storage.privacy import PrivacyRepository
from storage.respondents import RespondentRepository
from storage.retention import RetentionRepository
from storage.roles import InvitationRepository, RoleRepository
from storage.postgresql import MIGRATIONS_DIR as POSTGRESQL_MIGRATIONS_DIR
from storage.postgresql import PostgresBackend, is_postgres_url
from storage.question_totals import QuestionTotalRepository
from storage.schema import MIGRATIONS_DIR, load_migrations
from storage.send_budget import SendBudgetRepository
from storage.sessions import SessionRepository
from storage.sqlite import SQLiteBackend
from storage.workers import WorkerRepository
from storage.summaries import (
    DigestRepository,
    ExportRepository,
    SecretRepository,
    SummaryRepository,
)


class Database:
    """One process's database: a backend (its connections) and the repositories over it."""

    def __init__(self, backend: Backend, clock: Clock = utc_now) -> None:
        self._backend = backend
        self.respondents = RespondentRepository(backend, clock)
        self.sessions = SessionRepository(backend, clock)
        self.consultations = ConsultationRepository(backend, clock)
        self.roles = RoleRepository(backend, clock)
        self.invitations = InvitationRepository(backend, clock)
        self.broadcasts = BroadcastRepository(backend, clock)
        self.summaries = SummaryRepository(backend, clock)
        self.exports = ExportRepository(backend, clock)
        self.digests = DigestRepository(backend, clock)
        self.secrets = SecretRepository(backend, clock)
        self.audit = AuditRepository(backend, clock)
        self.privacy = PrivacyRepository(backend, clock)
        self.retention = RetentionRepository(backend, clock)
        self.question_totals = QuestionTotalRepository(backend, clock)
        # Several workers sharing the database (migration 0008).
        self.workers = WorkerRepository(backend, clock)
        self.leases = LeaseRepository(backend, clock)
        self.send_budget = SendBudgetRepository(backend, clock)
        self.delivery_claims = DeliveryClaimRepository(backend)

    @classmethod
    async def open(
        cls,
        location: str | Path,
        *,
        migrations_dir: Traversable | None = None,
        clock: Clock = utc_now,
    ) -> Database:
        """Open the database, bringing its schema up to date.

        ``location`` is a PostgreSQL URL (``postgresql://user:password@host:port/dbname``) or an
        SQLite file's path (or ":memory:"). ``migrations_dir`` defaults to that dialect's
        shipped migrations.
        """
        backend: Backend
        if isinstance(location, str) and is_postgres_url(location):
            backend = await PostgresBackend.open(
                location, load_migrations(migrations_dir or POSTGRESQL_MIGRATIONS_DIR))
        else:
            backend = await SQLiteBackend.open(
                location, load_migrations(migrations_dir or MIGRATIONS_DIR))
        return cls(backend, clock)

    @property
    def backend(self) -> Backend:
        """The backend the repositories run on (tests look at the database through it)."""
        return self._backend

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Make the repository writes inside commit together or not at all.

        Keep it short, no network calls inside: on SQLite other tasks' statements wait until it
        ends; on PostgreSQL the rows it wrote stay locked until then. A nested ``transaction()``
        in the same task joins this one; it is no savepoint.
        """
        return self._backend.transaction()

    async def schema_version(self) -> int:
        """The schema version the database is at now (read-only; health checks compare it)."""
        return await self._backend.schema_version()

    async def close(self) -> None:
        """Close the connections once any open transaction has ended."""
        await self._backend.close()
