"""Consultations: runs of a questionnaire with their texts per language, status and schedule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from storage.backend import Backend, Row
from storage.clock import Clock, timestamp
from storage.errors import RecordNotFound
from storage.records import Consultation, ConsultationStatus, ConsultationText

_SELECT = (
    "SELECT c.id, c.questionnaire_id, c.questionnaire_version, c.status, c.opens_at, c.closes_at,"
    " t.locale, t.title, t.description"
    " FROM consultations AS c LEFT JOIN consultation_texts AS t ON t.consultation_id = c.id"
)


class ConsultationRepository:
    """Creates, lists and moves consultations through draft, open and closed."""

    def __init__(self, backend: Backend, clock: Clock) -> None:
        self._backend = backend
        self._clock = clock

    async def create(self, questionnaire_id: str, version: int,
                     texts: Mapping[str, ConsultationText], created_by: int | None,
                     status: str = "draft") -> Consultation:
        """A new consultation with its texts (one per locale)."""
        async with self._backend.transaction():
            (row,) = await self._backend.fetch(
                "INSERT INTO consultations (questionnaire_id, questionnaire_version, status,"
                " created_by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                (questionnaire_id, version, status, created_by, timestamp(self._clock)),
            )
            for locale, text in texts.items():
                await self.set_text(row["id"], locale, text)
        created = await self.get(row["id"])
        assert created is not None
        return created

    async def get(self, consultation_id: int) -> Consultation | None:
        rows = await self._backend.fetch(f"{_SELECT} WHERE c.id = ?", (consultation_id,))
        return _consultations(rows)[0] if rows else None

    async def list(self, statuses: Sequence[str] = ("draft", "open", "closed")) -> list[Consultation]:
        """Consultations in these statuses, newest first."""
        marks = ",".join("?" * len(statuses))
        rows = await self._backend.fetch(
            f"{_SELECT} WHERE c.status IN ({marks}) ORDER BY c.id DESC", tuple(statuses))
        return _consultations(rows)

    async def set_text(self, consultation_id: int, locale: str, text: ConsultationText) -> None:
        """Add or replace the title and description in one language."""
        await self._backend.fetch(
            "INSERT INTO consultation_texts (consultation_id, locale, title, description)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (consultation_id, locale) DO UPDATE SET"
            " title = excluded.title, description = excluded.description",
            (consultation_id, locale, text.title, text.description),
        )

    async def set_status(self, consultation_id: int, status: str,
                         expected: Sequence[str] | None = None) -> bool:
        """Move to ``status``; with ``expected``, only from one of those (False if not)."""
        # closed_at: when it closed (retention counts from it); reopening clears it.
        sql = ("UPDATE consultations SET status = ?1, closed_at = CASE WHEN ?1 = 'closed'"
               " THEN coalesce(closed_at, ?3) END WHERE id = ?2")
        params: tuple[object, ...] = (status, consultation_id, timestamp(self._clock))
        if expected is not None:
            sql += f" AND status IN ({','.join('?' * len(expected))})"
            params += tuple(expected)
        changed = await self._backend.fetch(f"{sql} RETURNING id", params)
        if not changed and await self.get(consultation_id) is None:
            raise RecordNotFound(f"no consultation {consultation_id}")
        return bool(changed)

    async def delete_draft(self, consultation_id: int) -> bool:
        """Delete a consultation that was never opened (with its texts); False if not a draft."""
        rows = await self._backend.fetch(
            "DELETE FROM consultations WHERE id = ? AND status = 'draft' RETURNING id",
            (consultation_id,))
        return bool(rows)

    async def set_schedule(self, consultation_id: int, opens_at: datetime | None,
                           closes_at: datetime | None) -> None:
        """When the consultation opens and closes by itself (UTC)."""
        rows = await self._backend.fetch(
            "UPDATE consultations SET opens_at = ?, closes_at = ? WHERE id = ? RETURNING id",
            (_iso(opens_at), _iso(closes_at), consultation_id),
        )
        if not rows:
            raise RecordNotFound(f"no consultation {consultation_id}")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else timestamp(lambda: moment)


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _consultations(rows: Sequence[Row]) -> list[Consultation]:
    """Group a consultations-join-texts result by consultation, keeping the rows' order."""
    grouped: dict[int, tuple[Row, dict[str, ConsultationText]]] = {}
    for row in rows:
        _, texts = grouped.setdefault(row["id"], (row, {}))
        if row["locale"] is not None:
            texts[row["locale"]] = ConsultationText(row["title"], row["description"])
    return [
        Consultation(row["id"], row["questionnaire_id"], row["questionnaire_version"],
                     ConsultationStatus(row["status"]), _parse(row["opens_at"]), _parse(row["closes_at"]), texts)
        for row, texts in grouped.values()
    ]
