"""Opening a database brings its schema to the latest version: once, atomically, never backwards."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from conversations.model import Answer
from storage import Database, RecordNotFound, StorageError
from storage.schema import MIGRATIONS_DIR, load_migrations
from tests.storage.conftest import METEP
from tests.storage.on_disk import query_file

LATEST = len(load_migrations())
SUMMARY_TABLES = {"summary_totals", "digest_subscriptions", "digest_runs", "digests",
                  "digest_recipients", "secrets"}  # 0003
BROADCAST_TABLES = {"broadcasts", "deliveries"}  # 0004
QUESTION_TABLES = {"question_totals", "summary_releases", "released_summary_totals",
                   "released_question_totals", "demo_consultations"}


def migrations_dir(tmp_path: Path, **files: str) -> Path:
    """A migrations directory with the shipped 0001 and the given extra files (name → SQL)."""
    directory = tmp_path / "migrations"
    directory.mkdir()
    shutil.copy(Path(str(MIGRATIONS_DIR / "0001_initial.sql")), directory)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


PRIVACY_TABLES = {"audit_log", "erasures"}
WORKER_TABLES = {"workers", "leases", "send_budgets"}  # 0008


async def test_migrates_an_empty_database_to_the_latest_version(db_path: Path) -> None:
    await (await Database.open(db_path)).close()

    assert query_file(db_path, "PRAGMA user_version") == [(LATEST,)]
    tables = {
        name
        for (name,) in query_file(db_path, "SELECT name FROM sqlite_schema WHERE type = 'table'")
    }
    assert tables == {"respondents", "sessions", "answers", "consultations", "consultation_texts",
                      "roles", "invitations"} | SUMMARY_TABLES | BROADCAST_TABLES \
        | PRIVACY_TABLES | QUESTION_TABLES | WORKER_TABLES


async def test_ships_migrations_numbered_from_one_without_gaps() -> None:
    migrations = load_migrations()

    assert [m.version for m in migrations] == list(range(1, LATEST + 1))
    assert migrations[0].name == "0001_initial.sql"


async def test_reopening_a_current_database_applies_nothing_again(
    tmp_path: Path, db_path: Path
) -> None:
    directory = migrations_dir(
        tmp_path, **{"0002_seed.sql": "CREATE TABLE seed (x); INSERT INTO seed VALUES (1);"}
    )

    for _ in range(3):
        await (await Database.open(db_path, migrations_dir=directory)).close()

    assert query_file(db_path, "SELECT count(*) FROM seed") == [(1,)]
    assert query_file(db_path, "PRAGMA user_version") == [(2,)]


async def test_applies_only_the_migrations_a_database_lacks(tmp_path: Path, db_path: Path) -> None:
    directory = migrations_dir(tmp_path)
    await (await Database.open(db_path, migrations_dir=directory)).close()
    (directory / "0002_more.sql").write_text("CREATE TABLE more (x);")

    await (await Database.open(db_path, migrations_dir=directory)).close()

    assert query_file(db_path, "PRAGMA user_version") == [(2,)]
    assert query_file(db_path, "SELECT name FROM sqlite_schema WHERE name = 'more'") == [("more",)]


async def test_refuses_a_database_written_by_a_newer_baraza(db_path: Path) -> None:
    await (await Database.open(db_path)).close()
    query_file(db_path, f"PRAGMA user_version = {LATEST + 1}")

    expected = f"was written by a newer Baraza \\(schema {LATEST + 1}, this one knows {LATEST}\\)"
    with pytest.raises(StorageError, match=expected):
        await Database.open(db_path)
    assert query_file(db_path, "PRAGMA user_version") == [(LATEST + 1,)]


async def test_a_failing_migration_leaves_the_database_at_the_previous_version(
    tmp_path: Path, db_path: Path
) -> None:
    broken = "CREATE TABLE half_done (x);\nINSERT INTO no_such_table VALUES (1);\n"
    directory = migrations_dir(tmp_path, **{"0002_broken.sql": broken})

    with pytest.raises(StorageError, match=r"0002_broken\.sql failed"):
        await Database.open(db_path, migrations_dir=directory)

    assert query_file(db_path, "PRAGMA user_version") == [(1,)]
    assert query_file(db_path, "SELECT name FROM sqlite_schema WHERE name = 'half_done'") == []
    await (await Database.open(db_path)).close()  # still usable by a Baraza without the bad step


async def test_refuses_a_gap_in_the_migration_numbers(tmp_path: Path, db_path: Path) -> None:
    directory = migrations_dir(tmp_path, **{"0003_skipped_two.sql": "SELECT 1;"})

    with pytest.raises(StorageError, match=r"0003_skipped_two\.sql should be numbered 0002"):
        await Database.open(db_path, migrations_dir=directory)


async def test_refuses_a_misnamed_migration_file(tmp_path: Path, db_path: Path) -> None:
    directory = migrations_dir(tmp_path, **{"2-more.sql": "SELECT 1;"})

    with pytest.raises(StorageError, match=r"not named NNNN_description\.sql"):
        await Database.open(db_path, migrations_dir=directory)


async def test_a_file_database_uses_write_ahead_logging(file_db: Database, db_path: Path) -> None:
    assert query_file(db_path, "PRAGMA journal_mode") == [("wal",)]


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(RecordNotFound, match="no respondent 404"):
        await db.sessions.start(404, METEP, "citizen", None)

    with pytest.raises(RecordNotFound, match="no session 404"):
        await db.sessions.save_answer(404, Answer("q1", option_id="yes"), 1)


async def test_an_unopenable_path_raises_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open"):
        await Database.open(tmp_path / "missing" / "baraza.db")


async def test_forgetting_a_respondent_deletes_their_sessions_and_answers(
    file_db: Database, db_path: Path
) -> None:
    await file_db.respondents.ensure(7, chat_id=70)
    started = await file_db.sessions.start(7, METEP, "citizen", None)
    await file_db.sessions.save_answer(started.id, Answer("q1", option_id="yes"), 1)

    with closing(sqlite3.connect(db_path, isolation_level=None)) as witness:
        witness.executescript("PRAGMA foreign_keys = ON; DELETE FROM respondents;")

    assert query_file(db_path, "SELECT count(*) FROM sessions") == [(0,)]
    assert query_file(db_path, "SELECT count(*) FROM answers") == [(0,)]


async def test_sessions_from_before_consultations_keep_their_answers(
    tmp_path: Path, db_path: Path
) -> None:
    first = migrations_dir(tmp_path)
    await (await Database.open(db_path, migrations_dir=first)).close()
    query_file(db_path, "INSERT INTO respondents (user_id, chat_id, created_at) VALUES (7, 7, 't')")
    query_file(db_path, "INSERT INTO sessions (id, user_id, questionnaire_id, questionnaire_version,"
               " cursor, started_at) VALUES (5, 7, 'metep', 1, 'q2', 't')")
    query_file(db_path, "INSERT INTO answers (session_id, question_id, option_id,"
               " questionnaire_version, answered_at) VALUES (5, 'q1', 'yes', 1, 't')")

    db = await Database.open(db_path)
    try:
        (consultation,) = await db.consultations.list()
        session = await db.sessions.get(7, consultation.id)
        respondent = await db.respondents.get(7)
    finally:
        await db.close()

    assert (consultation.questionnaire_id, consultation.status) == ("metep", "open")
    assert session is not None and session.id == 5 and session.cursor == "q2"
    assert session.answers == {"q1": Answer("q1", option_id="yes")}
    assert respondent is not None and respondent.consultation_id == consultation.id
    assert query_file(db_path, "PRAGMA foreign_key_check") == []
