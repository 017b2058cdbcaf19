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
from storage.privacy import PrivacyRepository
from storage.respondents import RespondentRepository
from storage.retention import RetentionRepository
from storage.roles import InvitationRepository, RoleRepository
from storage.question_totals import QuestionTotalRepository
from storage.schema import MIGRATIONS_DIR, load_migrations
from storage.sessions import SessionRepository
from storage.sqlite import SQLiteBackend
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

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        migrations_dir: Traversable = MIGRATIONS_DIR,
        clock: Clock = utc_now,
    ) -> Database:
        """Open the SQLite database at ``path`` (or ":memory:"), bringing its schema up to date."""
        backend = await SQLiteBackend.open(path, load_migrations(migrations_dir))
        return cls(backend, clock)

    @property
    def backend(self) -> Backend:
        """The backend the repositories run on (tests look at the database through it)."""
        return self._backend

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Make the repository writes inside commit together or not at all.

        Other tasks' writes wait until it ends, so keep it short: no network calls inside. A nested
        ``transaction()`` in the same task joins this one; it is no savepoint.
        """
        return self._backend.transaction()

    async def schema_version(self) -> int:
        """The schema version the database is at now (read-only; health checks compare it)."""
        return await self._backend.schema_version()

    async def close(self) -> None:
        """Close the connection once any open transaction has ended."""
        await self._backend.close()
