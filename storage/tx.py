"""What one transaction run in a single hand-off to the database thread can do."""

from __future__ import annotations

import sqlite3

from storage.audit import AuditStatements
from storage.clock import Clock
from storage.consultations import ConsultationStatements
from storage.privacy import PrivacyStatements
from storage.respondents import RespondentStatements
from storage.sessions import SessionStatements
from storage.summaries import SummaryStatements


class Tx:
    """The repositories an update's hot path needs, as synchronous statements in one transaction.

    Work given to ``Database.atomically`` runs on the connection's thread, so it must not await
    or block on anything but SQLite: read, decide with plain functions, write, return.
    """

    def __init__(self, connection: sqlite3.Connection, clock: Clock) -> None:
        self.respondents = RespondentStatements(connection, clock)
        self.sessions = SessionStatements(connection, clock)
        self.consultations = ConsultationStatements(connection)
        self.summaries = SummaryStatements(connection)
        self.privacy = PrivacyStatements(connection, clock)
        self.audit = AuditStatements(connection, clock)
