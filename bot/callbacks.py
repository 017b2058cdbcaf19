"""Inline-button payloads: short, versioned, and parsed defensively (they can be forged).

Telegram allows 1-64 bytes of callback_data. Question and option ids are limited by the
questionnaire loader so the longest payload fits. Answer buttons name their consultation, which
fixes the questionnaire and its version, so a button of another consultation is never applied to
the wrong session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_CALLBACK_BYTES = 64
_SEP = "|"
USER_ID = re.compile(r"[1-9][0-9]{0,15}")  # Telegram ids are at most 52 bits
_HASH_START = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class Choose:
    consultation: int
    question_id: str
    option_id: str


@dataclass(frozen=True)
class Skip:
    consultation: int
    question_id: str


@dataclass(frozen=True)
class Keep:
    """Move on from an answered comment, leaving it as it is."""

    consultation: int
    question_id: str


@dataclass(frozen=True)
class Back:
    """Go back from ``question_id``: a second tap on the same message is then recognised."""

    consultation: int
    question_id: str


@dataclass(frozen=True)
class OpenConsultation:
    """Start or resume answering a consultation (from a list or an announcement)."""

    consultation: int


@dataclass(frozen=True)
class Moderate:
    """A moderator's button on a consultation; the role is checked on every tap.

    Closing and deleting ask first: "close" and "delete" show the question, "close_ok" and
    "delete_ok" act, "list" goes back to the list.
    """

    verb: str  # one of MODERATION_VERBS
    consultation: int


@dataclass(frozen=True)
class Announce:
    """A moderator's broadcast button; the role is checked on every tap.

    ``pick`` names a consultation to preview; ``send``, ``cancel``, ``stop``, and ``everyone`` and
    ``unfinished`` (whom a draft reaches) name a broadcast.
    """

    verb: str
    number: int


@dataclass(frozen=True)
class Summarise:
    """Show a consultation's summary (officials and moderators; checked on every tap)."""

    consultation: int


@dataclass(frozen=True)
class Export:
    """Send a consultation's answers as a CSV file (moderators; checked on every tap)."""

    consultation: int


@dataclass(frozen=True)
class ReadComments:
    """Show a consultation's comments (moderators; checked on every tap)."""

    consultation: int


@dataclass(frozen=True)
class Forget:
    """Erase everything stored about the person who taps it (``confirm``), or keep it."""

    confirm: bool


class RoleVerb(StrEnum):
    REVOKE = "revoke"  # ``key``: the Telegram user id whose role is taken away
    CANCEL = "cancel"  # ``key``: the start of an invitation's hash


@dataclass(frozen=True)
class ManageRole:
    """A moderator's button in /roles; the role is checked on every tap."""

    verb: RoleVerb
    key: str


@dataclass(frozen=True)
class QuestionPage:
    """Show one pillar of a consultation's per-question results (officials and moderators)."""

    consultation: int
    page: int  # the pillar's place in the questionnaire, from 0
    edit: bool = False  # True: replace the message tapped (paging); False: a new message


@dataclass(frozen=True)
class Report:
    """Send a consultation's report as an HTML file (officials and moderators)."""

    consultation: int


@dataclass(frozen=True)
class PickLanguage:
    locale: str


@dataclass(frozen=True)
class Consent:
    agreed: bool


@dataclass(frozen=True)
class Resubscribe:
    """After /stop, /start asks before announcements begin again: yes or no."""

    agreed: bool


Action = (Choose | Skip | Back | PickLanguage | Consent | OpenConsultation | Moderate | Announce
          | Summarise | Export | ReadComments | Resubscribe | Forget | ManageRole
          | QuestionPage | Report)
MODERATION_VERBS = ("open", "close", "close_ok", "reopen", "delete", "delete_ok", "list")
ANNOUNCE_VERBS = ("pick", "send", "cancel", "stop", "everyone", "unfinished")


def encode(action: Action) -> str:
    """The callback_data of a button."""
    match action:
        case Choose(consultation, question_id, option_id):
            parts = ["a", str(consultation), question_id, option_id]
        case Skip(consultation, question_id):
            parts = ["s", str(consultation), question_id]
        case Keep(consultation, question_id):
            parts = ["k", str(consultation), question_id]
        case Back(consultation, question_id):
            parts = ["b", str(consultation), question_id]
        case OpenConsultation(consultation):
            parts = ["o", str(consultation)]
        case Moderate(verb, consultation):
            parts = ["m", verb, str(consultation)]
        case Announce(verb, number):
            parts = ["n", verb, str(number)]
        case Summarise(consultation):
            parts = ["y", str(consultation)]
        case Export(consultation):
            parts = ["x", str(consultation)]
        case ReadComments(consultation):
            parts = ["r", str(consultation)]
        case QuestionPage(consultation, page, edit):
            parts = ["qe" if edit else "qp", str(consultation), str(page)]
        case Report(consultation):
            parts = ["rp", str(consultation)]
        case PickLanguage(locale):
            parts = ["l", locale]
        case Consent(agreed):
            parts = ["c", "1" if agreed else "0"]
        case Resubscribe(agreed):
            parts = ["u", "1" if agreed else "0"]
        case Forget(confirm):
            parts = ["f", "1" if confirm else "0"]
        case ManageRole(verb, key):
            parts = ["g", verb.value, key]
    data = _SEP.join(parts)
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> Action | None:
    """The action of a button, or None when the data is not one of ours."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    kind, *rest = data.split(_SEP)
    try:
        match kind, rest:
            case "a", [consultation, question_id, option_id] if question_id and option_id:
                return Choose(_number(consultation), question_id, option_id)
            case "s", [consultation, question_id] if question_id:
                return Skip(_number(consultation), question_id)
            case "k", [consultation, question_id] if question_id:
                return Keep(_number(consultation), question_id)
            case "b", [consultation, question_id] if question_id:
                return Back(_number(consultation), question_id)
            case "o", [consultation]:
                return OpenConsultation(_number(consultation))
            case "m", [verb, consultation] if verb in MODERATION_VERBS:
                return Moderate(verb, _number(consultation))
            case "n", [verb, number] if verb in ANNOUNCE_VERBS:
                return Announce(verb, _number(number))
            case "y", [consultation]:
                return Summarise(_number(consultation))
            case "x", [consultation]:
                return Export(_number(consultation))
            case "r", [consultation]:
                return ReadComments(_number(consultation))
            case "qp" | "qe", [consultation, page]:
                return QuestionPage(_number(consultation), _number(page), kind == "qe")
            case "rp", [consultation]:
                return Report(_number(consultation))
            case "l", [locale] if locale:
                return PickLanguage(locale)
            case "c", ["1" | "0" as agreed]:
                return Consent(agreed == "1")
            case "u", ["1" | "0" as agreed]:
                return Resubscribe(agreed == "1")
            case "f", ["1" | "0" as confirm]:
                return Forget(confirm == "1")
            case "g", [RoleVerb.REVOKE, key] if USER_ID.fullmatch(key):
                return ManageRole(RoleVerb.REVOKE, key)
            case "g", [RoleVerb.CANCEL, key] if _HASH_START.fullmatch(key):
                return ManageRole(RoleVerb.CANCEL, key)
    except ValueError:
        return None
    return None


def _number(text: str) -> int:
    if not text.isdigit() or len(text) > 6:
        raise ValueError(text)
    return int(text)
