"""Persistence for Baraza: every SQL statement of the project lives in this package."""

from storage.broadcasts import Broadcast, BroadcastRepository, DeliveryCounts, Recipient
from storage.database import Database
from storage.errors import RecordNotFound, StorageError
from storage.consultations import ConsultationRepository
from storage.records import Consultation, ConsultationStatus, ConsultationText, Invitation, Respondent, Session, StoredRole
from storage.roles import InvitationRepository, RoleRepository
from storage.respondents import RespondentRepository
from storage.sessions import SessionRepository
from storage.tx import Tx
from storage.summaries import (
    Comment,
    DigestRepository,
    ExportedAnswer,
    ExportRepository,
    SecretRepository,
    Subscriber,
    SummaryRepository,
)

__all__ = [
    "Broadcast",
    "BroadcastRepository",
    "DeliveryCounts",
    "Recipient",
    "Consultation",
    "ConsultationRepository",
    "ConsultationStatus",
    "ConsultationText",
    "Invitation",
    "InvitationRepository",
    "RoleRepository",
    "StoredRole",
    "Database",
    "RecordNotFound",
    "Respondent",
    "RespondentRepository",
    "Session",
    "SessionRepository",
    "StorageError",
    "Comment",
    "DigestRepository",
    "ExportedAnswer",
    "ExportRepository",
    "SecretRepository",
    "Subscriber",
    "SummaryRepository",
    "Tx",
]
