"""The answers export: a CSV with one row per answer, respondents under keyed pseudonyms.

A pseudonym is HMAC-SHA256 of the consultation and the Telegram user id under a secret key,
truncated to 16 hex digits: stable from one export to the next, different in each consultation (so
exports cannot be joined into a profile), and not reversible without the key. The file is written
to a temporary file while the rows are read a page at a time, and compressed when it is too big
for Telegram.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import hmac
import io
import shutil
import tempfile
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from typing import IO

from conversations.model import Questionnaire
from storage import ExportedAnswer

COLUMNS = ("respondent", "role", "pillar", "question", "option", "comment",
           "questionnaire_version", "answered_at")
UPLOAD_LIMIT = 50 * 1024 * 1024  # bytes the Bot API accepts in sendDocument
_IN_MEMORY = 8 * 1024 * 1024  # a bigger file spills to disk while it is written
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportFile:
    """The CSV to send (None when too big even compressed) and what it holds."""

    filename: str
    data: bytes | None
    respondents: int
    answers: int
    compressed: bool


def pseudonym(key: bytes, consultation_id: int, user_id: int | str) -> str:
    """A respondent's stable pseudonym in a consultation; the user id cannot be read back."""
    message = f"{consultation_id}:{user_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def _cell(text: str | None) -> str:
    """A comment as a spreadsheet will show it: text, never a formula."""
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_START) else text


async def write_csv(rows: AsyncIterator[ExportedAnswer], questionnaire: Questionnaire,
                    consultation_id: int, key: bytes, out: IO[bytes],
                    roles: Collection[str] | None = None,
                    notes: Sequence[str] = ()) -> tuple[int, int]:
    """Write the rows as UTF-8 CSV (with a BOM, for spreadsheets); returns respondents, answers.

    Only rows of ``roles`` are written (None: every role); each of ``notes`` comes first, as a
    line starting with "#" (what was left out and why). Times are given to the day.
    """
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    for note in notes:
        text.write("# " + " ".join(note.split()) + "\r\n")
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    respondents = answers = 0
    current: tuple[int, str] | None = None
    async for row in rows:
        if roles is not None and row.role not in roles:
            continue
        if current is None or current[0] != row.session_id:
            # A session unlinked by retention has no user id: its pseudonym keys the session.
            who = row.user_id if row.user_id is not None else f"session-{row.session_id}"
            current = (row.session_id, pseudonym(key, consultation_id, who))
            respondents += 1
        question = questionnaire.question(row.question_id)
        writer.writerow((current[1], row.role, question.pillar_id if question else "",
                         row.question_id, row.option_id or "", _cell(row.text),
                         row.questionnaire_version, row.answered_at[:10]))
        answers += 1
    text.detach()  # leave ``out`` open for the caller
    return respondents, answers


async def export(rows: AsyncIterator[ExportedAnswer], questionnaire: Questionnaire,
                 consultation_id: int, key: bytes,
                 limit: int = UPLOAD_LIMIT, roles: Collection[str] | None = None,
                 notes: Sequence[str] = ()) -> ExportFile:
    """The consultation's answers as a file to send: CSV, gzip-compressed if over the limit."""
    name = f"consultation-{consultation_id}-answers.csv"
    with tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY) as plain:
        respondents, answers = await write_csv(rows, questionnaire, consultation_id, key, plain,
                                               roles, notes)
        if plain.tell() <= limit:
            plain.seek(0)
            return ExportFile(name, plain.read(), respondents, answers, compressed=False)
        plain.seek(0)
        with tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY) as packed:
            await asyncio.to_thread(_compress, plain, packed, name)
            fits = packed.tell() <= limit
            packed.seek(0)
            return ExportFile(name + ".gz", packed.read() if fits else None, respondents, answers,
                              compressed=True)


def _compress(source: IO[bytes], target: IO[bytes], name: str) -> None:
    with gzip.GzipFile(filename=name, mode="wb", fileobj=target) as compressor:
        shutil.copyfileobj(source, compressor)
