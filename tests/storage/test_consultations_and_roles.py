"""Consultations move through draft, open and closed; roles and single-use invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import ConsultationText, Database, RecordNotFound, StoredRole
from tests.storage.conftest import METEP, PILOT, TickingClock
from tests.storage.on_disk import query_file

TEXT = ConsultationText("Budget", "How open is it?")


async def test_creates_a_consultation_with_texts_per_language(db: Database) -> None:
    created = await db.consultations.create("metep", 3, {"en": TEXT, "fr": ConsultationText("B", "")},
                                            created_by=1)
    assert (created.questionnaire_version, created.status) == (3, "draft")
    assert created.texts["en"] == TEXT and set(created.texts) == {"en", "fr"}
    assert await db.consultations.get(created.id) == created


async def test_lists_by_status_newest_first(db: Database) -> None:
    third = await db.consultations.create("metep", 1, {}, created_by=1, status="open")
    await db.consultations.set_status(METEP, "open")
    assert [c.id for c in await db.consultations.list(("open",))] == [third.id, METEP]
    assert len(await db.consultations.list()) == 3


async def test_status_changes_only_from_the_expected_statuses(db: Database) -> None:
    assert await db.consultations.set_status(METEP, "open", expected=("draft",))
    assert not await db.consultations.set_status(METEP, "open", expected=("draft",))
    assert await db.consultations.set_status(METEP, "closed", expected=("draft", "open"))
    assert (await db.consultations.get(METEP)).status == "closed"  # type: ignore[union-attr]
    with pytest.raises(RecordNotFound):
        await db.consultations.set_status(404, "open")


async def test_schedule_is_kept_in_utc(db: Database) -> None:
    opens = datetime(2030, 1, 31, 9, 0, tzinfo=UTC)
    await db.consultations.set_schedule(METEP, opens, opens + timedelta(days=1))
    stored = await db.consultations.get(METEP)
    assert stored is not None and stored.opens_at == opens and stored.closes_at == opens + timedelta(days=1)


async def test_text_can_be_replaced(db: Database) -> None:
    await db.consultations.set_text(METEP, "en", TEXT)
    await db.consultations.set_text(METEP, "en", ConsultationText("New", ""))
    assert (await db.consultations.get(METEP)).texts["en"].title == "New"  # type: ignore[union-attr]


async def test_roles_are_granted_and_changed(db: Database) -> None:
    assert await db.roles.get(7) is None
    await db.roles.grant(7, "official", "Treasury", granted_by=1)
    await db.roles.grant(7, "moderator", None, granted_by=1)
    assert await db.roles.get(7) == StoredRole(7, "moderator", None)


async def test_an_invitation_works_once(db: Database, clock: TickingClock) -> None:
    await db.roles.grant(1, "moderator", None, granted_by=None)
    await db.invitations.create("hash", "Treasury", created_by=1, expires_at=clock.now + timedelta(days=7))
    first = await db.invitations.redeem("hash", 7)
    assert first is not None and first.agency == "Treasury"
    assert await db.invitations.redeem("hash", 8) is None
    assert await db.invitations.redeem("unknown", 8) is None


async def test_an_expired_invitation_is_refused(db: Database, clock: TickingClock) -> None:
    await db.invitations.create("hash", None, created_by=1, expires_at=clock.now + timedelta(days=7))
    clock.advance(days=8)
    assert await db.invitations.redeem("hash", 7) is None


async def test_subscription_and_blocking(db: Database) -> None:
    await db.respondents.ensure(7, chat_id=7)
    await db.respondents.set_subscribed(7, True)
    await db.respondents.mark_blocked(7)
    assert (await db.respondents.get(7)).subscribed  # type: ignore[union-attr]
    await db.respondents.set_subscribed(7, False)
    assert not (await db.respondents.get(7)).subscribed  # type: ignore[union-attr]


async def test_writing_to_the_bot_again_clears_a_block(file_db: Database, db_path: Path) -> None:
    await file_db.respondents.ensure(7, chat_id=7)
    await file_db.respondents.mark_blocked(7)
    assert query_file(db_path, "SELECT blocked_at IS NOT NULL FROM respondents") == [(1,)]
    await file_db.respondents.ensure(7, chat_id=7)
    assert query_file(db_path, "SELECT blocked_at IS NOT NULL FROM respondents") == [(0,)]


async def test_only_a_draft_can_be_deleted_and_its_texts_go_with_it(db: Database) -> None:
    draft = await db.consultations.create("metep", 1, {"en": TEXT}, created_by=1)
    await db.consultations.set_status(METEP, "open")
    assert not await db.consultations.delete_draft(METEP)  # open: kept
    assert await db.consultations.delete_draft(draft.id)
    assert await db.consultations.get(draft.id) is None
    assert not await db.consultations.delete_draft(draft.id)


async def test_counts_those_halfway_through_a_consultation(db: Database) -> None:
    for user_id in (1, 2, 3):
        await db.respondents.ensure(user_id, chat_id=user_id)
    halfway = await db.sessions.start(1, METEP, "citizen", "q1")
    done = await db.sessions.start(2, METEP, "citizen", "q1")
    await db.sessions.move(done.id, None, finished=True)
    await db.sessions.start(3, PILOT, "citizen", "q1")  # another consultation
    assert halfway.finished is False
    assert await db.sessions.unfinished_count(METEP) == 1
