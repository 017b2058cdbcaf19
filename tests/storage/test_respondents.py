"""RespondentRepository: first contact, language, consent, and claiming each update only once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from storage import Database, RecordNotFound, Respondent
from tests.storage.conftest import TickingClock
from tests.storage.on_disk import query_file

RespondentWrite = Callable[[Database], Awaitable[object]]


async def respondent(db: Database, user_id: int = 7) -> Respondent:
    found = await db.respondents.get(user_id)
    assert found is not None
    return found


async def test_get_returns_none_for_a_user_who_never_wrote(db: Database) -> None:
    assert await db.respondents.get(7) is None


async def test_ensure_creates_a_respondent_on_first_contact(db: Database) -> None:
    created = await db.respondents.ensure(7, chat_id=70)

    assert created == Respondent(
        user_id=7, chat_id=70, locale=None, consented=False, last_update_id=0
    )
    assert await db.respondents.get(7) == created


async def test_ensure_returns_an_existing_respondent_unchanged(db: Database) -> None:
    await db.respondents.ensure(7, chat_id=70)
    await db.respondents.set_locale(7, "sw")
    await db.respondents.record_consent(7)
    await db.respondents.claim_update(7, 100)

    again = await db.respondents.ensure(7, chat_id=70)

    assert again == Respondent(
        user_id=7, chat_id=70, locale="sw", consented=True, last_update_id=100
    )
    assert again.last_tap is None


async def test_ensure_follows_the_respondent_to_a_new_chat(db: Database) -> None:
    await db.respondents.ensure(7, chat_id=70)
    await db.respondents.set_locale(7, "fr")

    moved = await db.respondents.ensure(7, chat_id=71)

    assert (moved.chat_id, moved.locale) == (71, "fr")
    assert await db.respondents.get(7) == moved


async def test_set_locale_remembers_the_latest_choice(db: Database) -> None:
    await db.respondents.ensure(7, chat_id=70)

    await db.respondents.set_locale(7, "ar")
    await db.respondents.set_locale(7, "zh")

    assert (await respondent(db)) == Respondent(7, 70, "zh", False, 0)


async def test_record_consent_is_idempotent_and_keeps_the_first_time(
    file_db: Database, db_path: Path
) -> None:
    await file_db.respondents.ensure(7, chat_id=70)

    await file_db.respondents.record_consent(7)
    (first,) = query_file(db_path, "SELECT consented_at FROM respondents")
    await file_db.respondents.record_consent(7)

    assert query_file(db_path, "SELECT consented_at FROM respondents") == [first]
    assert first[0] is not None and str(first[0]).endswith("+00:00")
    assert (await respondent(file_db)).consented


async def test_claim_update_accepts_each_newer_update_and_records_it(db: Database) -> None:
    await db.respondents.ensure(7, chat_id=70)

    assert await db.respondents.claim_update(7, 100) is True
    assert await db.respondents.claim_update(7, 105) is True
    assert (await respondent(db)).last_update_id == 105


@pytest.mark.parametrize("update_id", [105, 104, 1])
async def test_claim_update_rejects_a_repeated_or_older_update(
    db: Database, update_id: int
) -> None:
    await db.respondents.ensure(7, chat_id=70)
    await db.respondents.claim_update(7, 105)

    assert await db.respondents.claim_update(7, update_id) is False
    assert (await respondent(db)).last_update_id == 105


async def test_claims_of_different_respondents_are_independent(db: Database) -> None:
    await db.respondents.ensure(7, chat_id=70)
    await db.respondents.ensure(8, chat_id=80)

    assert await db.respondents.claim_update(7, 200)
    assert await db.respondents.claim_update(8, 150)


@pytest.mark.parametrize(
    "write",
    [
        lambda db: db.respondents.set_locale(404, "fr"),
        lambda db: db.respondents.record_consent(404),
        lambda db: db.respondents.claim_update(404, 1),
    ],
    ids=["set_locale", "record_consent", "claim_update"],
)
async def test_writes_to_an_unknown_respondent_raise_record_not_found(
    db: Database, write: RespondentWrite
) -> None:
    with pytest.raises(RecordNotFound, match="no respondent 404"):
        await write(db)


async def test_claim_remembers_the_tapped_button_for_the_next_update(db: Database) -> None:
    await db.respondents.ensure(7, chat_id=70)
    await db.respondents.claim_update(7, 100, tap="55:a|1|q1|yes")
    assert (await respondent(db)).last_tap == "55:a|1|q1|yes"
    await db.respondents.claim_update(7, 101)
    assert (await respondent(db)).last_tap is None


async def test_update_ids_restarting_after_a_quiet_week_are_claimed(
        db: Database, clock: TickingClock) -> None:
    await db.respondents.ensure(7, chat_id=70)
    assert await db.respondents.claim_update(7, 900)
    assert not await db.respondents.claim_update(7, 12)
    clock.advance(days=8)
    assert await db.respondents.claim_update(7, 12)
    assert not await db.respondents.claim_update(7, 12)
