"""Who may do what: citizens answer; officials also read summaries; moderators run consultations."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"
    OFFICIAL = "official"
    MODERATOR = "moderator"


class Permission(StrEnum):
    ANSWER = "answer"
    READ_SUMMARY = "read_summary"
    READ_COMMENTS = "read_comments"
    EXPORT = "export"
    MANAGE_CONSULTATIONS = "manage_consultations"
    BROADCAST = "broadcast"
    INVITE = "invite"
    MANAGE_MODERATORS = "manage_moderators"
    READ_AUDIT = "read_audit"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.CITIZEN: frozenset({Permission.ANSWER}),
    Role.OFFICIAL: frozenset({Permission.ANSWER, Permission.READ_SUMMARY}),
    Role.MODERATOR: frozenset(Permission),
}


def allows(role: Role, permission: Permission) -> bool:
    """Whether ``role`` has ``permission``; checked on every privileged command and button."""
    return permission in _GRANTS[role]
