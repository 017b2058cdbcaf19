"""BroadcastRepository: drafts, the delivery queue, outcomes, and resuming after a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from storage import Broadcast, Database, DeliveryCounts, DuplicateKey, RecordNotFound, Recipient
from storage.broadcasts import AlreadySending, Audience, Taken
from storage.delivery_claims import Requeued
from storage.schema import MIGRATIONS_DIR, load_migrations
from tests.storage.conftest import METEP, PILOT, TickingClock, with_consultations
from tests.storage.on_disk import query_file

MODERATOR = 1


@pytest.fixture(autouse=True)
async def open_consultations(db: Database) -> None:
    """Only an open consultation is announced (a closed one stops its broadcast)."""
    for consultation_id in (METEP, PILOT):
        await db.consultations.set_status(consultation_id, "open")


async def subscriber(db: Database, user_id: int, locale: str | None = "en") -> None:
    await db.respondents.ensure(user_id, chat_id=user_id * 10)
    if locale is not None:
        await db.respondents.set_locale(user_id, locale)
    await db.respondents.set_subscribed(user_id, True)


async def draft(db: Database, consultation_id: int = METEP) -> Broadcast:
    return await db.broadcasts.create(consultation_id, MODERATOR, "fr")


async def sending(db: Database, consultation_id: int = METEP) -> Broadcast:
    """A broadcast that has been sent to the current subscribers."""
    broadcast = await draft(db, consultation_id)
    assert await db.broadcasts.start(broadcast.id) is not None
    return broadcast


async def attempt(db: Database, broadcast: Broadcast, user_id: int) -> None:
    assert await db.broadcasts.begin_attempt(broadcast.id, user_id) is Taken.SEND


async def free(db: Database, broadcast_id: int) -> list[Recipient]:
    """The pending deliveries any worker could take now (claimed by a reader, then let go)."""
    recipients = await db.delivery_claims.claim(broadcast_id, "reader", 100)
    await db.delivery_claims.release("reader", broadcast_id)
    return recipients


async def status(db: Database, broadcast: Broadcast) -> tuple[str, str | None]:
    stored = await db.broadcasts.get(broadcast.id)
    assert stored is not None
    return stored.status, stored.stop_reason


async def test_the_audience_is_everyone_subscribed_who_has_not_blocked_the_bot(
        db: Database) -> None:
    await subscriber(db, 1, "en")
    await subscriber(db, 2, "fr")
    await subscriber(db, 3, "fr")
    await subscriber(db, 4, None)
    await subscriber(db, 5, "ar")
    await db.respondents.mark_blocked(5)
    await subscriber(db, 6, "sw")
    await db.respondents.set_subscribed(6, False)
    await db.respondents.ensure(7, chat_id=70)  # wrote once, never subscribed

    assert await db.broadcasts.audience(METEP) == {"en": 1, "fr": 2, None: 1}


async def test_a_reminder_reaches_only_subscribers_who_have_not_finished(db: Database) -> None:
    for user_id in (2, 3, 4):
        await subscriber(db, user_id, "fr" if user_id == 4 else "en")
    done = await db.sessions.start(2, METEP, "citizen", None)
    await db.sessions.move(done.id, None, finished=True)
    await db.sessions.start(3, METEP, "citizen", "framework.info_law")  # halfway
    elsewhere = await db.sessions.start(4, PILOT, "citizen", None)  # finished another one
    await db.sessions.move(elsewhere.id, None, finished=True)

    assert await db.broadcasts.audience(METEP, Audience.UNFINISHED) == {"en": 1, "fr": 1}
    assert await db.broadcasts.audience(METEP) == {"en": 2, "fr": 1}
    reminder = await db.broadcasts.create(METEP, MODERATOR, "en", Audience.UNFINISHED)
    assert reminder.audience is Audience.UNFINISHED
    assert await db.broadcasts.start(reminder.id) == 2
    pending = await free(db, reminder.id)
    assert [(r.user_id, r.finished) for r in pending] == [(3, False), (4, False)]

    everyone = await db.broadcasts.create(PILOT, MODERATOR, "en")
    assert await db.broadcasts.set_audience(everyone.id, Audience.EVERYONE)
    assert await db.broadcasts.start(everyone.id) == 3
    pending = await free(db, everyone.id)
    assert [(r.user_id, r.finished) for r in pending] == [(2, False), (3, False), (4, True)]
    assert not await db.broadcasts.set_audience(everyone.id, Audience.UNFINISHED)  # sent already


async def test_a_new_broadcast_is_a_draft_with_no_deliveries(db: Database) -> None:
    await subscriber(db, 2)

    created = await draft(db)

    assert created == Broadcast(created.id, METEP, MODERATOR, "fr", "draft", None, None, None)
    assert await db.broadcasts.get(created.id) == created
    assert await db.broadcasts.counts(created.id) == DeliveryCounts()
    assert await db.broadcasts.unfinished() == []


async def test_a_draft_for_a_missing_consultation_is_refused(db: Database) -> None:
    with pytest.raises(RecordNotFound):
        await db.broadcasts.create(999, MODERATOR, "en")


async def test_sending_queues_one_delivery_per_current_subscriber(db: Database) -> None:
    for user_id in (2, 3, 4):
        await subscriber(db, user_id)
    await db.respondents.mark_blocked(4)
    broadcast = await draft(db)

    assert await db.broadcasts.start(broadcast.id) == 2
    await subscriber(db, 5)  # subscribed after Send: not part of this broadcast

    assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(pending=2)
    assert (await db.broadcasts.get(broadcast.id)).status == "sending"  # type: ignore[union-attr]
    assert await db.broadcasts.start(broadcast.id) is None, "sent twice"
    assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(pending=2)


async def test_pending_recipients_are_claimed_in_user_order_a_batch_at_a_time(db: Database) -> None:
    for user_id, locale in ((4, "ar"), (2, "fr"), (3, None)):
        await subscriber(db, user_id, locale)
    broadcast = await sending(db)

    first = await db.delivery_claims.claim(broadcast.id, "a", 2)
    rest = await db.delivery_claims.claim(broadcast.id, "b", 2)

    assert first == [Recipient(2, 20, "fr", 0), Recipient(3, 30, None, 0)]
    assert rest == [Recipient(4, 40, "ar", 0)]
    assert await db.delivery_claims.claim(broadcast.id, "a", 2) == []


async def test_a_sent_delivery_is_recorded_and_never_begun_again(db: Database) -> None:
    await subscriber(db, 2)
    await subscriber(db, 3)
    broadcast = await sending(db)

    await attempt(db, broadcast, 2)
    assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(pending=1, sending=1)
    assert await db.broadcasts.begin_attempt(broadcast.id, 2) is None, "already being sent"
    await db.broadcasts.mark_sent(broadcast.id, 2, message_id=77)

    assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(pending=1, sent=1)
    assert await db.broadcasts.begin_attempt(broadcast.id, 2) is None
    assert [r.user_id for r in await free(db, broadcast.id)] == [3]


async def test_an_outcome_needs_a_delivery_being_sent(db: Database) -> None:
    await subscriber(db, 2)
    broadcast = await sending(db)

    with pytest.raises(RecordNotFound):
        await db.broadcasts.mark_sent(broadcast.id, 2, message_id=1)  # never begun
    with pytest.raises(RecordNotFound):
        await db.broadcasts.mark_failed(broadcast.id, 99, "who?")


async def test_retries_count_errors_but_not_flood_waits(db: Database) -> None:
    await subscriber(db, 2)
    broadcast = await sending(db)

    await attempt(db, broadcast, 2)
    await db.broadcasts.retry_later(broadcast.id, 2, "Flood control exceeded", counted=False)
    await attempt(db, broadcast, 2)
    await db.broadcasts.retry_later(broadcast.id, 2, "Timed out", counted=True)

    assert await free(db, broadcast.id) == [Recipient(2, 20, "en", 1)]
    await attempt(db, broadcast, 2)
    await db.broadcasts.mark_failed(broadcast.id, 2, "Bad Request: chat not found")
    assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(failed=1)


async def test_a_blocked_subscriber_is_counted_as_blocked(db: Database) -> None:
    await subscriber(db, 2)
    broadcast = await sending(db)

    await attempt(db, broadcast, 2)
    await db.broadcasts.mark_blocked(broadcast.id, 2, "Forbidden: bot was blocked by the user")

    assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(blocked=1)
    assert await free(db, broadcast.id) == []


async def test_a_cancelled_draft_is_finished_and_can_no_longer_be_sent(db: Database) -> None:
    await subscriber(db, 2)
    broadcast = await draft(db)

    assert await db.broadcasts.cancel(broadcast.id)

    assert (await db.broadcasts.get(broadcast.id)).status == "cancelled"  # type: ignore[union-attr]
    assert await db.broadcasts.start(broadcast.id) is None
    assert not await db.broadcasts.cancel(broadcast.id)
    assert await db.broadcasts.unfinished() == []


async def test_a_sending_broadcast_cannot_be_cancelled_as_a_draft(db: Database) -> None:
    await subscriber(db, 2)
    broadcast = await sending(db)

    assert not await db.broadcasts.cancel(broadcast.id)
    assert (await db.broadcasts.get(broadcast.id)).status == "sending"  # type: ignore[union-attr]


async def test_stopping_begins_no_further_delivery_and_waits_for_the_report(db: Database) -> None:
    for user_id in (2, 3):
        await subscriber(db, user_id)
    broadcast = await sending(db)
    await attempt(db, broadcast, 2)

    assert await db.broadcasts.stop(broadcast.id)

    assert await status(db, broadcast) == ("cancelled", "moderator")
    assert await db.broadcasts.begin_attempt(broadcast.id, 3) is None
    assert await free(db, broadcast.id) == []
    await db.broadcasts.mark_sent(broadcast.id, 2, message_id=5)  # the send in flight completes
    assert [b.id for b in await db.broadcasts.unfinished()] == [broadcast.id]

    await db.broadcasts.finish(broadcast.id)

    assert (await db.broadcasts.get(broadcast.id)).status == "cancelled"  # type: ignore[union-attr]
    assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(pending=1, sent=1)
    assert await db.broadcasts.unfinished() == []
    assert not await db.broadcasts.stop(broadcast.id)


async def test_a_finished_broadcast_is_done(db: Database) -> None:
    await subscriber(db, 2)
    broadcast = await sending(db)
    assert [b.id for b in await db.broadcasts.unfinished()] == [broadcast.id]

    await db.broadcasts.finish(broadcast.id)

    assert (await db.broadcasts.get(broadcast.id)).status == "done"  # type: ignore[union-attr]
    assert await db.broadcasts.unfinished() == []
    with pytest.raises(RecordNotFound):
        await db.broadcasts.finish(999)


async def test_deliveries_interrupted_mid_send_are_queued_again_at_start_up(db: Database) -> None:
    for user_id in (2, 3, 4):
        await subscriber(db, user_id)
    broadcast = await sending(db)
    await attempt(db, broadcast, 2)
    await db.broadcasts.mark_sent(broadcast.id, 2, message_id=1)
    await attempt(db, broadcast, 3)  # the process dies during this one's Bot API call

    assert await db.delivery_claims.requeue_orphaned(0, keep="next") == Requeued(1, 0)

    assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(pending=2, sent=1)
    assert [r.user_id for r in await free(db, broadcast.id)] == [3, 4]
    assert await db.delivery_claims.requeue_orphaned(0, keep="next") == Requeued(0, 0)


async def test_the_progress_message_and_its_text_are_remembered(db: Database) -> None:
    broadcast = await draft(db)

    await db.broadcasts.show_progress_in(broadcast.id, chat_id=10, message_id=55, text="Preview")
    await db.broadcasts.set_progress_text(broadcast.id, "Sent: 1")

    stored = await db.broadcasts.get(broadcast.id)
    assert stored is not None
    assert (stored.progress_chat_id, stored.progress_message_id, stored.progress_text) == (
        10, 55, "Sent: 1")
    with pytest.raises(RecordNotFound):
        await db.broadcasts.show_progress_in(999, chat_id=10, message_id=1, text="x")


async def test_two_broadcasts_keep_their_deliveries_apart(db: Database) -> None:
    await subscriber(db, 2)
    first = await sending(db, METEP)
    second = await sending(db, PILOT)
    await attempt(db, first, 2)
    await db.broadcasts.mark_sent(first.id, 2, message_id=1)

    assert await db.broadcasts.counts(first.id) == DeliveryCounts(sent=1)
    assert await db.broadcasts.counts(second.id) == DeliveryCounts(pending=1)


async def test_a_subscriber_who_stopped_after_send_is_skipped_when_their_turn_comes(
        db: Database) -> None:
    # A broadcast to 100,000 takes most of an hour: /stop (or a block) in that time is heeded.
    for user_id in (2, 3, 4, 5):
        await subscriber(db, user_id)
    broadcast = await sending(db)
    await db.respondents.set_subscribed(3, False)  # /stop
    await db.respondents.mark_blocked(4)  # a 403 to another broadcast, or a my_chat_member update

    assert await db.broadcasts.begin_attempt(broadcast.id, 2) is Taken.SEND
    assert await db.broadcasts.begin_attempt(broadcast.id, 3) is Taken.SKIPPED
    assert await db.broadcasts.begin_attempt(broadcast.id, 4) is Taken.BLOCKED

    assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(
        pending=1, sending=1, blocked=1, skipped=1)
    assert [r.user_id for r in await free(db, broadcast.id)] == [5]
    assert await db.broadcasts.begin_attempt(broadcast.id, 3) is None, "skipped for good"
    await db.respondents.set_subscribed(3, True)  # back again: the next broadcast, not this one
    assert await db.broadcasts.begin_attempt(broadcast.id, 3) is None
    assert (await db.broadcasts.counts(broadcast.id)).total == 4


async def test_a_retry_is_skipped_too_when_the_subscriber_stopped_in_between(db: Database) -> None:
    await subscriber(db, 2)
    broadcast = await sending(db)
    await attempt(db, broadcast, 2)
    await db.broadcasts.retry_later(broadcast.id, 2, "Timed out", counted=True)
    await db.respondents.set_subscribed(2, False)

    assert await db.broadcasts.begin_attempt(broadcast.id, 2) is Taken.SKIPPED
    assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(skipped=1)


async def test_a_broadcast_stops_when_its_consultation_closes(db: Database) -> None:
    for user_id in (2, 3, 4):
        await subscriber(db, user_id)
    broadcast = await sending(db)
    await attempt(db, broadcast, 2)
    await db.consultations.set_status(METEP, "closed")

    assert await db.broadcasts.begin_attempt(broadcast.id, 3) is None

    assert await status(db, broadcast) == ("cancelled", "closed")
    assert await free(db, broadcast.id) == []
    assert await db.broadcasts.begin_attempt(broadcast.id, 4) is None
    await db.broadcasts.mark_sent(broadcast.id, 2, message_id=5)  # the send in flight completes
    assert [b.id for b in await db.broadcasts.unfinished()] == [broadcast.id]  # to be reported
    await db.broadcasts.finish(broadcast.id)
    assert await status(db, broadcast) == ("cancelled", "closed")
    assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(pending=2, sent=1)
    assert not await db.broadcasts.stop(broadcast.id)


async def test_a_consultation_reopened_before_the_next_turn_goes_on_being_announced(
        db: Database) -> None:
    # Only a consultation that is not open when a delivery is taken stops the broadcast.
    await subscriber(db, 2)
    broadcast = await sending(db)
    await db.consultations.set_status(METEP, "closed")
    await db.consultations.set_status(METEP, "open")

    await attempt(db, broadcast, 2)
    assert await status(db, broadcast) == ("sending", None)


async def test_only_one_broadcast_of_a_consultation_sends_at_a_time(db: Database) -> None:
    await subscriber(db, 2)
    first = await sending(db, METEP)
    second = await draft(db, METEP)

    with pytest.raises(AlreadySending):
        await db.broadcasts.start(second.id)

    assert await status(db, second) == ("draft", None)
    assert await db.broadcasts.counts(second.id) == DeliveryCounts()
    assert await sending(db, PILOT), "another consultation's broadcast is no duplicate"
    await db.broadcasts.stop(first.id)  # stopped: no further delivery of it begins
    assert await db.broadcasts.start(second.id) == 1
    with pytest.raises(AlreadySending):
        await db.broadcasts.start((await draft(db, METEP)).id)
    await db.broadcasts.finish(second.id)
    assert await db.broadcasts.start((await draft(db, METEP)).id) == 1


async def test_the_schema_itself_refuses_a_second_sending_broadcast(db: Database) -> None:
    await db.consultations.set_status(METEP, "open")
    await subscriber(db, 2)
    await sending(db)
    second = await draft(db)

    with pytest.raises(DuplicateKey):
        await db.backend.fetch("UPDATE broadcasts SET status = 'sending' WHERE id = ?",
                               (second.id,))


async def test_the_last_announcement_of_a_consultation(db: Database) -> None:
    for user_id in (2, 3, 4):
        await subscriber(db, user_id)
    assert await db.broadcasts.last_announcement(METEP) is None
    await draft(db)  # a draft announces nothing
    assert await db.broadcasts.last_announcement(METEP) is None

    first = await sending(db)
    now = await db.broadcasts.last_announcement(METEP)
    assert now is not None and (now.broadcast_id, now.status, now.sent, now.total) == (
        first.id, "sending", 0, 3)
    await attempt(db, first, 2)
    await db.broadcasts.mark_sent(first.id, 2, message_id=1)
    await db.broadcasts.stop(first.id)
    await db.broadcasts.finish(first.id)
    await draft(db)

    last = await db.broadcasts.last_announcement(METEP)
    assert last is not None and (last.broadcast_id, last.status, last.sent, last.total) == (
        first.id, "cancelled", 1, 3)
    assert last.started_at == now.started_at  # when Send was tapped
    assert await db.broadcasts.last_announcement(PILOT) is None

    second = await sending(db)
    latest = await db.broadcasts.last_announcement(METEP)
    assert latest is not None and latest.broadcast_id == second.id
    assert latest.started_at > last.started_at


async def test_the_broadcast_migration_applies_to_a_database_of_the_previous_release(
        tmp_path: Path, db_path: Path) -> None:
    released = tmp_path / "released"
    released.mkdir()
    for name in ("0001_initial.sql", "0002_consultations_and_roles.sql", "0003_summaries.sql"):
        shutil.copy(Path(str(MIGRATIONS_DIR / name)), released)
    old = await with_consultations(await Database.open(db_path, migrations_dir=released))
    await old.respondents.ensure(2, chat_id=20)
    await old.respondents.set_subscribed(2, True)
    await old.close()
    assert query_file(db_path, "PRAGMA user_version") == [(3,)]

    db = await Database.open(db_path, clock=TickingClock())
    try:
        await db.consultations.set_status(METEP, "open")
        broadcast = await sending(db)
        await attempt(db, broadcast, 2)
        await db.broadcasts.mark_sent(broadcast.id, 2, message_id=9)
        assert await db.broadcasts.counts(broadcast.id) == DeliveryCounts(sent=1)
    finally:
        await db.close()
    assert query_file(db_path, "PRAGMA user_version") == [(len(load_migrations()),)]
