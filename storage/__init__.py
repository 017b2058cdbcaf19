"""Persistence for Baraza: every SQL statement of the project lives in this package."""

from storage.database import Database
from storage.errors import RecordNotFound, StorageError
from storage.records import Respondent, Session
from storage.respondents import RespondentRepository
from storage.sessions import SessionRepository

__all__ = [
    "Database",
    "RecordNotFound",
    "Respondent",
    "RespondentRepository",
    "Session",
    "SessionRepository",
    "StorageError",
]
