"""Reading a command's arguments, and saying exactly what is wrong with each one.

Every check returns the value or a translated sentence naming the field and the problem, so a
command can list all of its problems at once, in the reader's language, and change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from bot.i18n import Catalogs, Translator

MAX_NUMBER_DIGITS = 9


@dataclass(frozen=True)
class Invalid:
    """Why an argument cannot be used, as a sentence for the reader."""

    reason: str


def quoted(t: Translator, text: str) -> str:
    """What the person typed, shown back safely (cut short, escaped, isolated)."""
    shown = text if len(text) <= 40 else text[:39] + "…"
    return t.isolate("“" + escape(shown) + "”")


def consultation_number(t: Translator, text: str) -> int | Invalid:
    """A consultation's number, as in "/export 7" or "/export #7"."""
    digits = text.lstrip("#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > MAX_NUMBER_DIGITS:
        return Invalid(t._("{text} is not a consultation number: give the number shown in "
                           "/consultations, such as 3.").format(text=quoted(t, text)))
    return int(digits)


def no_such_consultation(t: Translator, number: int) -> Invalid:
    return Invalid(t._("There is no consultation #{number}: /consultations lists them.").format(
        number=t.isolate(str(number))))


def language(t: Translator, catalogs: Catalogs, text: str) -> str | Invalid:
    """A shipped language's code, as in "/translate 3 fr …"."""
    locale = catalogs.supported(text)
    if locale is None:
        return Invalid(t._("{text} is not a language of this bot. The languages are: "
                           "{languages}.").format(text=quoted(t, text),
                                                  languages=languages(t, catalogs)))
    return locale


def languages(t: Translator, catalogs: Catalogs) -> str:
    """Every language's code and name: "en (English), fr (Français), …"."""
    return ", ".join(t.isolate(f"{code} ({catalogs.autonym(code)})") for code in catalogs.locales)


def moment(t: Translator, text: str) -> datetime | None | Invalid:
    """A time in the installation's zone, as "2030-01-31T09:00"; None for "-" (no time)."""
    if text == "-":
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return Invalid(t._("{text} is not a date and time that exists: write it as "
                           "2030-01-31T09:00 (year, month, day, then the hour).").format(
            text=quoted(t, text)))
    return parsed.replace(tzinfo=t.zone) if parsed.tzinfo is None else parsed


def reasons(values: Sequence[object]) -> list[str]:
    """The problems among checked values, in the order of the arguments."""
    return [value.reason for value in values if isinstance(value, Invalid)]
