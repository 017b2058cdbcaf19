"""Erasure leaves no trace of a person's id; retention unlinks and purges; roles are taken back."""

from __future__ import annotations

import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

from conversations.model import Answer
from storage import AuditAction, Database, Erased, Retained
from tests.storage.conftest import METEP, PILOT, TickingClock
from tests.storage.on_disk import query_file
from tests.storage.test_summaries import by_key, card, finished

PERSON = 4_242_424_242


def holding(path: Path, value: int) -> list[str]:
    """Every table.column (from the schema) with a cell equal to, or containing, ``value``."""
    found = []
    tables = [name for (name,) in query_file(path, "SELECT name FROM sqlite_master"
                                                   " WHERE type = 'table'")]
    for table in tables:
        for column in [row[1] for row in query_file(path, f"PRAGMA table_info('{table}')")]:
            for (cell,) in query_file(path, f'SELECT "{column}" FROM "{table}"'):
                if cell == value or (isinstance(cell, str) and str(value) in cell):
                    found.append(f"{table}.{column}")
    return found


async def a_person_everywhere(db: Database, clock: TickingClock) -> None:
    """The person answered, subscribed, holds a role, invited, announced and left an audit trail."""
    await finished(db, PERSON, answers=[Answer("q1", option_id="yes"), Answer("c1", text="Hi")])
    session = await db.sessions.get(PERSON, METEP)
    assert session is not None
    await db.summaries.add(session.id, card(50, 100))
    await db.respondents.set_subscribed(PERSON, True)
    await db.roles.grant(PERSON, "moderator", None, granted_by=None)
    await db.roles.grant(77, "official", "Water", granted_by=PERSON)
    await db.invitations.create("h" * 64, None, PERSON, clock.now + timedelta(days=7))
    await db.digests.toggle(PERSON)
    await db.consultations.create("metep", 1, {}, created_by=PERSON)
    broadcast = await db.broadcasts.create(METEP, PERSON, "en")
    await db.broadcasts.show_progress_in(broadcast.id, PERSON, 5, "preview")
    await db.audit.record(PERSON, AuditAction.GRANT_OFFICIAL, target_id=77)
    await db.audit.record(1, AuditAction.GRANT_MODERATOR, target_id=PERSON)
    await db.respondents.ensure(78, chat_id=78)
    await db.respondents.claim_update(78, 1, tap=f"9:g|revoke|{PERSON}")


async def test_erasure_leaves_the_id_in_no_table_and_the_person_in_no_total(
        file_db: Database, db_path: Path, clock: TickingClock) -> None:
    db = file_db
    await finished(db, 5)
    await db.summaries.add((await db.sessions.get(5, METEP)).id, card(0, 0))  # type: ignore[union-attr]
    before = await db.summaries.tallies(METEP)
    await a_person_everywhere(db, clock)
    assert holding(db_path, PERSON) != []

    async with db.transaction():
        sessions = await db.privacy.summarised_sessions(PERSON)
        assert await db.summaries.withdraw_from_totals({s.id: card(50, 100) for s in sessions}) == 1
        await db.audit.record(None, AuditAction.ERASURE)
        erased = await db.privacy.erase(PERSON, update_id=1234)

    assert erased == Erased(sessions=1, answers=1, comments=1, deliveries=0, digests=1, role=True,
                            invitations=0)
    assert holding(db_path, PERSON) == []
    assert by_key(await db.summaries.tallies(METEP)) == by_key(before)
    assert await db.respondents.ensure_unless_erased_by(1234, PERSON, chat_id=PERSON) is None
    assert (await db.audit.latest(1))[0].action is AuditAction.ERASURE
    assert await db.privacy.personal_data(PERSON) is None


async def test_a_withdrawn_last_respondent_leaves_no_totals_row(db: Database) -> None:
    session = await finished(db, 1, role="official")
    await db.summaries.add(session.id, card(50, None))
    taken = await db.summaries.withdraw_from_totals({session.id: card(50, None)})
    again = await db.summaries.withdraw_from_totals({session.id: card(50, None)})
    assert (taken, again) == (1, 0)  # never taken out twice
    assert await db.summaries.tallies(METEP) == []


async def test_personal_data_holds_profile_role_answers_and_announcements(
        db: Database, clock: TickingClock) -> None:
    await a_person_everywhere(db, clock)
    data = await db.privacy.personal_data(PERSON)
    assert data is not None
    assert (data.role, data.subscribed, data.digest_subscribed_at is not None) == (
        "moderator", True, True)
    (session,) = data.sessions
    assert [(a.question_id, a.option_id, a.text) for a in session.answers] == [
        ("q1", "yes", None), ("c1", None, "Hi")]


async def test_retention_unlinks_answers_of_long_closed_consultations_and_keeps_the_totals(
        db: Database, clock: TickingClock) -> None:
    kept = await finished(db, 1, answers=[Answer("q1", option_id="yes")])
    await db.summaries.add(kept.id, card(50, 100))
    await db.respondents.ensure(2, chat_id=2)
    await db.sessions.start(2, METEP, "citizen", cursor="q1")  # never finished
    await finished(db, 3, consultation=PILOT)
    await db.consultations.set_status(METEP, "closed")
    totals = await db.summaries.tallies(METEP)

    assert await db.retention.apply(timedelta(days=30), timedelta(days=30)) == Retained()
    clock.advance(days=31)
    done = await db.retention.apply(timedelta(days=30), timedelta(days=365))

    assert (done.unlinked_sessions, done.deleted_sessions) == (1, 1)
    assert done.respondents == 2  # 1 and 2 have nothing linked and were quiet; 3 answers PILOT
    assert await db.summaries.tallies(METEP) == totals
    exported = [a async for a in db.exports.answers(METEP)]
    assert [(a.user_id, a.question_id) for a in exported] == [(None, "q1")]
    assert await db.respondents.get(3) is not None


async def test_retention_forgets_who_never_consented_and_purges_old_records(
        db: Database, clock: TickingClock) -> None:
    await db.respondents.ensure(1, chat_id=1)  # tapped "Not now"
    await db.respondents.ensure(2, chat_id=2)
    await db.respondents.record_consent(2)
    await db.roles.grant(1, "moderator", None, None)
    await db.invitations.create("used", None, 1, clock.now + timedelta(days=7))
    await db.invitations.redeem("used", 2)
    await db.invitations.create("open", None, 1, clock.now + timedelta(days=7))
    await db.privacy.erase(99, update_id=5)
    await db.respondents.ensure(3, chat_id=3)  # never consented, no role
    clock.advance(days=38)  # the open invitation expired 31 days ago

    done = await db.retention.apply(timedelta(days=365), timedelta(days=30))

    assert (done.respondents, done.invitations, done.erasures) == (1, 2, 1)
    assert await db.respondents.get(3) is None
    assert await db.respondents.get(1) is not None  # holds a role
    assert await db.respondents.get(2) is not None  # consented, quiet for less than a year


async def test_a_closed_consultation_knows_when_it_closed_and_forgets_it_on_reopening(
        file_db: Database, db_path: Path) -> None:
    await file_db.consultations.set_status(METEP, "closed")
    ((closed_at,),) = query_file(db_path, "SELECT closed_at FROM consultations WHERE id = 1")
    assert closed_at is not None
    await file_db.consultations.set_status(METEP, "open")
    assert query_file(db_path, "SELECT closed_at FROM consultations WHERE id = 1") == [(None,)]


async def test_environment_moderators_follow_the_environment(db: Database) -> None:
    await db.roles.grant(5, "moderator", None, granted_by=1)  # added in the bot as well
    assert await db.roles.sync_environment(frozenset({5, 6})) == []
    assert await db.roles.revoke(5) is None  # the environment manages it
    assert await db.roles.sync_environment(frozenset({6})) == [5]
    assert await db.roles.get(5) is None
    assert [r.user_id for r in await db.roles.granted()] == []


async def test_an_invitation_dies_with_its_creators_role_and_can_be_cancelled(
        db: Database, clock: TickingClock) -> None:
    await db.roles.grant(1, "moderator", None, None)
    for token in ("a" * 64, "b" * 64):
        await db.invitations.create(token, "Water", 1, clock.now + timedelta(days=7))
    assert [i.key for i in await db.invitations.open()] == ["a" * 16, "b" * 16]
    assert await db.invitations.cancel("a" * 16) is True
    assert await db.invitations.cancel("a" * 16) is False
    assert (await db.roles.revoke(1)).role == "moderator"  # type: ignore[union-attr]
    assert await db.invitations.open() == []
    assert await db.invitations.redeem("b" * 64, 7) is None


async def test_the_database_and_its_journal_files_are_readable_by_the_owner_only(
        file_db: Database, db_path: Path) -> None:
    await file_db.respondents.ensure(1, chat_id=1)
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


async def test_an_existing_database_is_made_owner_only(db_path: Path) -> None:
    sqlite3.connect(db_path).close()
    db_path.chmod(0o644)
    await (await Database.open(db_path)).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


async def test_a_digest_sent_to_someone_erased_meanwhile_is_recorded_for_nobody(
        db: Database) -> None:
    await db.respondents.ensure(PERSON, chat_id=PERSON)
    await db.digests.toggle(PERSON)
    await db.consultations.set_status(METEP, "closed")  # its final digest is due
    (due,) = await db.digests.due()
    await db.privacy.erase(PERSON, update_id=None)

    await db.digests.record_sent(due.id, PERSON)

    assert await db.digests.sent_to(due.id) == []


async def test_the_privacy_migration_keeps_every_session_and_answer_of_the_previous_release(
        tmp_path: Path, db_path: Path) -> None:
    import shutil

    from storage.schema import MIGRATIONS_DIR
    from tests.storage.conftest import with_consultations

    released = tmp_path / "released"
    released.mkdir()
    for name in ("0001_initial.sql", "0002_consultations_and_roles.sql", "0003_summaries.sql",
                 "0004_broadcasts.sql"):
        shutil.copy(Path(str(MIGRATIONS_DIR / name)), released)
    old = await with_consultations(await Database.open(db_path, migrations_dir=released))
    session = await finished(old, 7, answers=[Answer("q1", option_id="yes")])
    await old.summaries.add(session.id, card(50, 100))
    await old.close()
    query_file(db_path, "UPDATE consultations SET status = 'closed' WHERE id = ?", (PILOT,))

    # Up to the privacy migration only: a later one (0007) marks sessions to be counted again.
    upgraded = tmp_path / "upgraded"
    shutil.copytree(released, upgraded)
    for name in ("0005_broadcast_audience.sql", "0006_privacy_and_audit.sql"):
        shutil.copy(Path(str(MIGRATIONS_DIR / name)), upgraded)
    db = await Database.open(db_path, migrations_dir=upgraded)
    try:
        kept = await db.sessions.get(7, METEP)
        assert kept is not None and kept.finished and dict(kept.answers) == {
            "q1": Answer("q1", option_id="yes")}
        assert query_file(db_path, "SELECT summarised FROM sessions") == [(1,)]
        assert query_file(db_path, "SELECT id FROM consultations WHERE closed_at IS NOT NULL") \
            == [(PILOT,)]
    finally:
        await db.close()


async def test_the_update_that_erased_someone_creates_nobody_when_it_comes_again(
        db: Database) -> None:
    await db.respondents.ensure(PERSON, chat_id=PERSON)
    await db.privacy.erase(PERSON, update_id=77)

    assert await db.respondents.ensure_unless_erased_by(77, PERSON, chat_id=PERSON) is None
    assert await db.respondents.get(PERSON) is None
    # Any other update is someone writing again: they are welcome back.
    again = await db.respondents.ensure_unless_erased_by(78, PERSON, chat_id=PERSON)
    assert again is not None and again.user_id == PERSON
    assert await db.respondents.ensure_unless_erased_by(77, PERSON, chat_id=PERSON) is None
