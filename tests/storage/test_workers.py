"""Workers sharing one database: heartbeats, leases, the shared bulk budget, claimed deliveries."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from storage import Database
from storage.broadcasts import Broadcast, Taken
from storage.delivery_claims import Requeued
from tests.postgres import DIALECTS, database_location
from tests.storage.conftest import METEP, TickingClock, with_consultations

MODERATOR = 1
DEAD_AFTER = timedelta(seconds=15)


@pytest.fixture(autouse=True)
async def open_consultation(db: Database) -> None:
    await db.consultations.set_status(METEP, "open")


async def sending_to(db: Database, user_ids: range) -> Broadcast:
    """A broadcast sending to the given subscribers."""
    for user_id in user_ids:
        await db.respondents.ensure(user_id, chat_id=user_id * 10)
        await db.respondents.set_subscribed(user_id, True)
    broadcast = await db.broadcasts.create(METEP, MODERATOR, "en")
    assert await db.broadcasts.start(broadcast.id) == len(user_ids)
    return broadcast


async def test_a_worker_is_alive_until_its_heartbeat_is_too_old(
        db: Database, clock: TickingClock) -> None:
    await db.workers.beat("a", "host:1")
    await db.workers.beat("b", "host:2")
    clock.advance(seconds=10)
    await db.workers.beat("b", "host:2")

    assert [w.id for w in await db.workers.alive(DEAD_AFTER)] == ["a", "b"]
    clock.advance(seconds=10)
    assert [w.id for w in await db.workers.alive(DEAD_AFTER)] == ["b"]
    assert await db.workers.forget_dead(DEAD_AFTER) == ["a"]
    await db.workers.retire("b")
    assert await db.workers.alive(DEAD_AFTER) == []


async def test_a_lease_is_held_by_one_worker_until_released_or_expired(
        db: Database, clock: TickingClock) -> None:
    minute = timedelta(minutes=1)
    for worker in ("a", "b"):
        await db.workers.beat(worker, "host")
    assert await db.leases.acquire("digest:1", "a", minute)
    assert not await db.leases.acquire("digest:1", "b", minute)
    assert await db.leases.acquire("digest:1", "a", minute), "its holder renews it"
    assert await db.leases.holder("digest:1") == "a"

    assert not await db.leases.release("digest:1", "b"), "not b's to release"
    assert await db.leases.release("digest:1", "a")
    assert await db.leases.acquire("digest:1", "b", minute)

    clock.advance(seconds=70)  # b's lease runs out, though b is alive
    for worker in ("a", "b"):
        await db.workers.beat(worker, "host")
    assert await db.leases.holder("digest:1") is None
    assert await db.leases.acquire("digest:1", "a", minute), "an expired lease is taken over"


async def test_a_dead_workers_lease_is_taken_over_before_it_expires(
        db: Database, clock: TickingClock) -> None:
    await db.workers.beat("a", "host:1")
    assert await db.leases.acquire("digest:1", "a", timedelta(hours=1))
    await db.workers.beat("b", "host:2")
    assert not await db.leases.acquire("digest:1", "b", timedelta(hours=1))

    clock.advance(seconds=20)  # a stopped beating (killed); b goes on
    await db.workers.beat("b", "host:2")

    assert await db.leases.acquire("digest:1", "b", timedelta(hours=1))
    assert await db.leases.holder("digest:1") == "b"


async def test_the_bulk_budget_grants_whole_batches_and_refills_at_its_rate(
        db: Database, clock: TickingClock) -> None:
    # Each read of the ticking clock is a second later: the bucket refills 2 tokens per take.
    first = await db.send_budget.take("bulk", 4, rate=2, capacity=5)
    assert (first.granted, first.left) == (4, 1.0), "a new bucket starts full"
    assert (await db.send_budget.take("bulk", 4, rate=2, capacity=5)).granted == 0  # 3 in it
    second = await db.send_budget.take("bulk", 4, rate=2, capacity=5)
    assert (second.granted, second.left) == (4, 1.0)
    clock.advance(hours=1)
    assert (await db.send_budget.take("bulk", 4, rate=2, capacity=5)).left == 1.0, \
        "never more than the capacity"


async def test_two_workers_never_claim_the_same_delivery(db: Database) -> None:
    broadcast = await sending_to(db, range(2, 12))

    a = await db.delivery_claims.claim(broadcast.id, "a", 4)
    b = await db.delivery_claims.claim(broadcast.id, "b", 4)
    rest = await db.delivery_claims.claim(broadcast.id, "a", 4)

    assert [r.user_id for r in a] == [2, 3, 4, 5] and a[0].chat_id == 20
    assert [r.user_id for r in b] == [6, 7, 8, 9]
    assert [r.user_id for r in rest] == [10, 11]
    assert await db.delivery_claims.claim(broadcast.id, "b", 4) == []
    assert await db.delivery_claims.worker_of(broadcast.id, 7) == "b"


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_two_workers_claiming_at_once_never_take_the_same_delivery(
        dialect: str, tmp_path: Path, clock: TickingClock) -> None:
    async with database_location(dialect, tmp_path) as location:
        await claims_race(location, clock)


async def claims_race(location: Path | str, clock: TickingClock) -> None:
    first = await with_consultations(await Database.open(location, clock=clock))
    second = await Database.open(location, clock=clock)
    try:
        await first.consultations.set_status(METEP, "open")
        broadcast = await sending_to(first, range(2, 402))

        async def drain(db: Database, worker: str) -> list[int]:
            taken: list[int] = []
            while batch := await db.delivery_claims.claim(broadcast.id, worker, 7):
                taken += [r.user_id for r in batch]
            return taken

        a, b = await asyncio.gather(drain(first, "a"), drain(second, "b"))
    finally:
        await second.close()
        await first.close()
    assert sorted(a + b) == list(range(2, 402))


async def test_a_stopped_broadcast_hands_out_nothing(db: Database) -> None:
    broadcast = await sending_to(db, range(2, 5))
    assert await db.broadcasts.stop(broadcast.id)

    assert await db.delivery_claims.claim(broadcast.id, "a", 10) == []
    assert await db.delivery_claims.remaining(broadcast.id) == 0


async def test_released_claims_are_free_again_and_remaining_counts_what_is_left(
        db: Database) -> None:
    broadcast = await sending_to(db, range(2, 6))
    await db.delivery_claims.claim(broadcast.id, "a", 2)
    assert await db.broadcasts.begin_attempt(broadcast.id, 2) is Taken.SEND
    await db.broadcasts.mark_sent(broadcast.id, 2, 99)

    assert await db.delivery_claims.release("a", broadcast.id) == 1  # 3: claimed, not begun
    assert await db.delivery_claims.remaining(broadcast.id) == 3
    assert [r.user_id for r in await db.delivery_claims.claim(broadcast.id, "b", 10)] == [3, 4, 5]


async def test_a_dead_workers_deliveries_are_freed_and_a_live_ones_kept(
        db: Database, clock: TickingClock) -> None:
    broadcast = await sending_to(db, range(2, 8))
    await db.workers.beat("dead", "host:1")
    clock.advance(minutes=1)
    await db.workers.beat("live", "host:2")
    await db.delivery_claims.claim(broadcast.id, "dead", 2)  # 2, 3
    await db.delivery_claims.claim(broadcast.id, "live", 2)  # 4, 5
    await db.delivery_claims.claim(broadcast.id, "me", 1)  # 6: the caller, never beaten yet
    for user_id in (2, 4, 6):
        assert await db.broadcasts.begin_attempt(broadcast.id, user_id) is Taken.SEND

    requeued = await db.delivery_claims.requeue_orphaned(db.workers.cutoff(DEAD_AFTER), keep="me")

    assert requeued == Requeued(interrupted=1, released=1)
    counts = await db.broadcasts.counts(broadcast.id)
    assert (counts.pending, counts.sending) == (4, 2)  # 4 and 6 still being sent
    assert [r.user_id for r in await db.delivery_claims.claim(broadcast.id, "me", 10)] == [2, 3, 7]
    assert await db.delivery_claims.worker_of(broadcast.id, 5) == "live"


async def test_a_delivery_is_begun_only_by_the_worker_holding_its_claim(db: Database) -> None:
    broadcast = await sending_to(db, range(2, 4))
    await db.delivery_claims.claim(broadcast.id, "a", 1)  # 2 is a's; 3 is nobody's yet

    assert await db.broadcasts.begin_attempt(broadcast.id, 2, "b") is None
    assert await db.broadcasts.begin_attempt(broadcast.id, 3, "a") is None, "not claimed"
    assert await db.broadcasts.begin_attempt(broadcast.id, 2, "a") is Taken.SEND
