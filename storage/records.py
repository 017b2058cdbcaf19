"""What the repositories return: immutable snapshots of stored rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from conversations.model import Answer


@dataclass(frozen=True)
class Respondent:
    """A person who has written to the bot, and where and how to answer them."""

    user_id: int
    chat_id: int
    locale: str | None
    consented: bool
    last_update_id: int
    last_tap: str | None = None  # the previous button tap, to recognise a double tap
    subscribed: bool = False  # receives announcements of consultations
    consultation_id: int | None = None  # the consultation being answered


@dataclass(frozen=True)
class Session:
    """One respondent's run through one questionnaire, with its answers so far by question id."""

    id: int
    user_id: int | None  # None once retention unlinked it from the Telegram account
    consultation_id: int
    role: str  # the respondent's role when they began: citizen, official or moderator
    cursor: str | None
    prompt_message_id: int | None
    finished: bool
    # Excluded from the hash because a mapping is unhashable; equality still compares it.
    answers: Mapping[str, Answer] = field(hash=False)

    def __post_init__(self) -> None:
        # Copy, so neither the caller's dict nor anyone holding this session can change it.
        object.__setattr__(self, "answers", MappingProxyType(dict(self.answers)))


@dataclass(frozen=True)
class ConsultationText:
    title: str
    description: str


class ConsultationStatus(StrEnum):
    """Where a consultation is: prepared, taking answers, or no longer taking them."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Consultation:
    """A run of a questionnaire: its texts per locale, its status and its schedule (UTC)."""

    id: int
    questionnaire_id: str
    questionnaire_version: int
    status: ConsultationStatus
    opens_at: datetime | None
    closes_at: datetime | None
    texts: Mapping[str, ConsultationText] = field(hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", MappingProxyType(dict(self.texts)))


@dataclass(frozen=True)
class StoredRole:
    user_id: int
    role: str  # official or moderator
    agency: str | None


@dataclass(frozen=True)
class Invitation:
    agency: str | None
    created_by: int
    expires_at: datetime


@dataclass(frozen=True)
class OpenInvitation:
    """An invitation that still works, named by the start of its hash (it fits a button)."""

    KEY_LENGTH: ClassVar[int] = 16

    key: str
    agency: str | None
    created_by: int
    expires_at: datetime
