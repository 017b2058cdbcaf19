"""The sender against a scripted Bot: what an outage, or one request that keeps failing, does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from telegram.error import NetworkError, TimedOut

from bot.broadcasting import Broadcaster, DeliveryPolicy
from bot.i18n import Catalogs
from storage import ConsultationText, Database, DeliveryCounts

MODERATOR = 1
PEOPLE = range(100, 140)
POLICY = DeliveryPolicy(concurrency=5, first_backoff=0.01, first_pause=0.02, longest_pause=0.08,
                        progress_every=60)


class ScriptedBot:
    """Answers send_message as ``script(chat_id)`` says: None sends, an exception is raised.

    getMe is answered unless ``reachable()`` says otherwise.
    """

    def __init__(self, script: Callable[[int], Exception | None],
                 reachable: Callable[[], bool] = lambda: True) -> None:
        self.script = script
        self.reachable = reachable
        self.sent: list[int] = []
        self.calls = 0
        self.probes = 0

    async def get_me(self) -> SimpleNamespace:
        self.probes += 1
        if not self.reachable():
            raise NetworkError("httpx.ConnectError: ")
        return SimpleNamespace(id=1)

    async def send_message(self, chat_id: int, text: str, **_: Any) -> SimpleNamespace:
        self.calls += 1
        await asyncio.sleep(0.001)
        error = self.script(chat_id)
        if error is not None:
            raise error
        self.sent.append(chat_id)
        return SimpleNamespace(message_id=len(self.sent))


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    database = await Database.open(":memory:")
    consultation = await database.consultations.create(
        "metep", 1, {"en": ConsultationText("Budget", "Where to spend?")}, created_by=MODERATOR,
        status="open")
    assert consultation.id == 1
    for user_id in PEOPLE:
        await database.respondents.ensure(user_id, user_id)
        await database.respondents.set_subscribed(user_id, True)
    yield database
    await database.close()


async def broadcast(db: Database) -> int:
    draft = await db.broadcasts.create(1, MODERATOR, "en")
    assert await db.broadcasts.start(draft.id) == len(PEOPLE)
    return draft.id


async def finished(db: Database, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while await db.broadcasts.unfinished():
            await asyncio.sleep(0.01)


async def attempts(db: Database) -> dict[int, int]:
    """Recipients with counted failed attempts, and how many."""
    counted = {}
    for user_id in PEOPLE:
        rows = await db.backend.fetch(  # a witness, not an API
            "SELECT attempts FROM deliveries WHERE user_id = ?", (user_id,))
        if rows[0][0]:
            counted[user_id] = rows[0][0]
    return counted


async def test_an_outage_pauses_the_sends_and_counts_no_attempt_but_the_first(
        db: Database) -> None:
    ends = time.monotonic() + 0.5

    def out() -> bool:
        return time.monotonic() < ends

    bot = ScriptedBot(lambda chat_id: NetworkError("Bad Gateway") if out() else None,
                      reachable=lambda: not out())
    sender = Broadcaster(bot, db, Catalogs.load(), POLICY)  # type: ignore[arg-type]
    broadcast_id = await broadcast(db)
    sender.launch(broadcast_id)
    await finished(db)

    assert sorted(c for c in bot.sent if c in PEOPLE) == list(PEOPLE)
    assert await db.broadcasts.counts(broadcast_id) == DeliveryCounts(sent=len(PEOPLE))
    assert len((await attempts(db)).values()) == 1
    # Five in flight failed, then one probe per pause (0.02, 0.04, 0.08, 0.08... s): not five
    # attempts of each delivery in turn.
    failures = bot.calls - len(bot.sent)
    assert failures <= POLICY.concurrency + 0.5 / POLICY.first_pause
    await sender.stop()


async def test_a_request_that_keeps_failing_on_its_own_is_given_up(db: Database) -> None:
    # Everyone else is answered, so it is no outage: it must not pause the broadcast forever.
    poisoned = 120
    bot = ScriptedBot(lambda chat_id: TimedOut() if chat_id == poisoned else None)
    sender = Broadcaster(bot, db, Catalogs.load(), POLICY)  # type: ignore[arg-type]
    broadcast_id = await broadcast(db)
    sender.launch(broadcast_id)
    await finished(db)

    assert await db.broadcasts.counts(broadcast_id) == DeliveryCounts(
        sent=len(PEOPLE) - 1, failed=1)
    assert await attempts(db) == {poisoned: POLICY.max_attempts}
    await sender.stop()


async def test_stopping_during_an_outage_leaves_every_delivery_pending(db: Database) -> None:
    bot = ScriptedBot(lambda chat_id: NetworkError("httpx.ConnectError: "),
                      reachable=lambda: False)
    sender = Broadcaster(bot, db, Catalogs.load(), POLICY)  # type: ignore[arg-type]
    broadcast_id = await broadcast(db)
    sender.launch(broadcast_id)
    async with asyncio.timeout(5):
        while bot.calls < POLICY.concurrency + 3:  # some probes failed too
            await asyncio.sleep(0.01)

    began = time.monotonic()
    await sender.stop()

    assert time.monotonic() - began < 1, "the sends waiting out the outage kept the sender up"
    assert await db.broadcasts.counts(broadcast_id) == DeliveryCounts(pending=len(PEOPLE))
    assert [b.id for b in await db.broadcasts.unfinished()] == [broadcast_id]  # resumed next time
    assert bot.sent == []


async def test_a_recipient_erased_while_being_sent_to_does_not_stop_the_broadcast(
        db: Database) -> None:
    erased = 120

    class ErasingBot(ScriptedBot):
        async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> SimpleNamespace:
            if chat_id == erased:  # /forget is tapped while this announcement is on the wire
                await db.privacy.erase(erased, update_id=None)
            return await super().send_message(chat_id, text, **kwargs)

    bot = ErasingBot(lambda chat_id: None)
    sender = Broadcaster(bot, db, Catalogs.load(), POLICY)  # type: ignore[arg-type]
    broadcast_id = await broadcast(db)
    sender.launch(broadcast_id)
    await finished(db)

    assert sorted(c for c in bot.sent if c in PEOPLE) == list(PEOPLE)
    assert await db.broadcasts.counts(broadcast_id) == DeliveryCounts(sent=len(PEOPLE) - 1)
    await sender.stop()


async def test_looking_for_new_broadcasts_leaves_one_begun_here_to_the_heartbeat(
        db: Database) -> None:
    # Another worker (alive) has claimed one delivery: this one sends the rest, then leaves the
    # broadcast unfinished for the other. Looking for new broadcasts every half second must not
    # begin it again each time (its queries, its progress lease); the heartbeat's adopt does.
    bot = ScriptedBot(lambda chat_id: None)
    sender = Broadcaster(bot, db, Catalogs.load(), POLICY)  # type: ignore[arg-type]
    broadcast_id = await broadcast(db)
    await db.workers.beat("other", "elsewhere:1")
    (claimed,) = await db.delivery_claims.claim(broadcast_id, "other", 1)
    await sender.pick_up()
    assert sender.under_way == {broadcast_id}, "a new broadcast is picked up"
    async with asyncio.timeout(10):
        while sender.under_way:
            await asyncio.sleep(0.01)
    assert sorted(bot.sent) == [p for p in PEOPLE if p != claimed.user_id]
    assert await db.broadcasts.unfinished()

    await sender.pick_up()
    assert sender.under_way == frozenset()
    await sender.adopt()
    assert sender.under_way == {broadcast_id}
    await sender.stop()
