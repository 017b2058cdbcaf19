"""Inline-button payloads: short, versioned, and parsed defensively (they can be forged).

Telegram allows 1-64 bytes of callback_data. Question and option ids are limited by the
questionnaire loader so the longest payload fits; the version makes buttons of an older
questionnaire recognisably stale.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CALLBACK_BYTES = 64
_SEP = "|"


@dataclass(frozen=True)
class Choose:
    version: int
    question_id: str
    option_id: str


@dataclass(frozen=True)
class Skip:
    version: int
    question_id: str


@dataclass(frozen=True)
class Back:
    version: int


@dataclass(frozen=True)
class PickLanguage:
    locale: str


@dataclass(frozen=True)
class Consent:
    agreed: bool


Action = Choose | Skip | Back | PickLanguage | Consent


def encode(action: Action) -> str:
    """The callback_data of a button."""
    match action:
        case Choose(version, question_id, option_id):
            parts = ["a", str(version), question_id, option_id]
        case Skip(version, question_id):
            parts = ["s", str(version), question_id]
        case Back(version):
            parts = ["b", str(version)]
        case PickLanguage(locale):
            parts = ["l", locale]
        case Consent(agreed):
            parts = ["c", "1" if agreed else "0"]
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
            case "a", [version, question_id, option_id] if question_id and option_id:
                return Choose(_version(version), question_id, option_id)
            case "s", [version, question_id] if question_id:
                return Skip(_version(version), question_id)
            case "b", [version]:
                return Back(_version(version))
            case "l", [locale] if locale:
                return PickLanguage(locale)
            case "c", ["1" | "0" as agreed]:
                return Consent(agreed == "1")
    except ValueError:
        return None
    return None


def _version(text: str) -> int:
    if not text.isdigit() or len(text) > 4:
        raise ValueError(text)
    return int(text)
