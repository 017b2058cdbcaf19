"""Persistence for Baraza: every SQL statement of the project lives in this package."""

from storage.audit import AuditAction, AuditEntry, AuditRepository
from storage.broadcasts import Broadcast, BroadcastRepository, DeliveryCounts, Recipient
from storage.database import Database
from storage.locking import background
from storage.errors import (
    ConstraintViolated,
    DuplicateKey,
    MissingParent,
    RecordNotFound,
    StorageError,
)
from storage.consultations import ConsultationRepository
from storage.privacy import Erased, PersonalData, PrivacyRepository
from storage.records import (
    Consultation,
    ConsultationStatus,
    ConsultationText,
    Invitation,
    OpenInvitation,
    Respondent,
    Session,
    StoredRole,
)
from storage.retention import Retained, RetentionRepository
from storage.roles import InvitationRepository, RoleRepository
from storage.respondents import RespondentRepository
from storage.sessions import SessionRepository
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
    "AuditAction",
    "AuditEntry",
    "AuditRepository",
    "Erased",
    "OpenInvitation",
    "PersonalData",
    "PrivacyRepository",
    "Retained",
    "RetentionRepository",
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
    "background",
    "ConstraintViolated",
    "DuplicateKey",
    "MissingParent",
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
]
