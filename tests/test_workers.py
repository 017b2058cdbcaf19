"""Two workers sharing one database: each job runs once per due time, each delivery once."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot import digests, retention, scheduling
from bot.broadcasting import Broadcaster, DeliveryPolicy
from bot.config import Settings
from bot.context import SERVICES, Services
from bot.i18n import Catalogs
from bot.summaries import SummaryService
from bot.turns import Turns
from bot.workers import WorkerIdentity
from conversations.flow import Flow
from conversations.model import Questionnaire
from storage import ConsultationText, Database, DeliveryCounts
from tests.postgres import DIALECTS, database_location

MODERATOR = 1
SUBSCRIBERS = range(100, 300)
POLICY = DeliveryPolicy(concurrency=5, batch_size=7, progress_every=60)


class RecordingBot:
    """Takes a little while over each send, so that two workers' sends interleave."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    async def send_message(self, chat_id: int, text: str, **_: Any) -> SimpleNamespace:
        await asyncio.sleep(0.002)
        self.sent.append(chat_id)
        return SimpleNamespace(message_id=len(self.sent))

    async def send_photo(self, chat_id: int, **_: Any) -> None:
        await asyncio.sleep(0.002)
        self.sent.append(chat_id)

    async def edit_message_text(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture(params=DIALECTS)
async def two(request: pytest.FixtureRequest,
              tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Two workers' connections to one database: an SQLite file, then PostgreSQL."""
    async with database_location(request.param, tmp_path) as location:
        first = await Database.open(location)
        second = await Database.open(location)
        yield first, second
        await second.close()
        await first.close()


def worker(db: Database, questionnaire: Questionnaire, catalogs: Catalogs,
           listeners: tuple[Any, ...] = ()) -> SimpleNamespace:
    """What the jobs see of one worker's Application: its bot, and its services."""
    turns = Turns(db, Flow(questionnaire), catalogs)
    services = Services(turns, catalogs, summaries=SummaryService(turns, 2),
                        status_listeners=listeners, worker=WorkerIdentity())
    return SimpleNamespace(bot=RecordingBot(), bot_data={SERVICES: services}, job_queue=None)


async def alive(*applications: SimpleNamespace) -> None:
    """The workers' first heartbeats: from now on they count as alive."""
    for application in applications:
        services: Services = application.bot_data[SERVICES]
        await services.db.workers.beat(services.worker.id, services.worker.name)


async def test_two_workers_sweeping_at_once_send_each_digest_once(
        two: tuple[Database, Database], mini: Questionnaire) -> None:
    catalogs = Catalogs.load()
    db = two[0]
    made = await db.consultations.create("mini", 2, {}, created_by=None, status="open")
    for user_id in range(1, 9):
        await db.respondents.ensure(user_id, chat_id=user_id * 10)
        await db.roles.grant(user_id, "official", None, None)
        await db.digests.toggle(user_id)
    session = await db.sessions.start(1, made.id, "official", cursor=None)
    await db.sessions.move(session.id, None, finished=True)
    await db.consultations.set_status(made.id, "closed")
    a, b = (worker(d, mini, catalogs) for d in two)
    await alive(a, b)

    sent = await asyncio.gather(digests.sweep(a), digests.sweep(b))  # type: ignore[arg-type]

    assert sum(sent) == 8
    per_chat = Counter(a.bot.sent + b.bot.sent)
    assert set(per_chat) == {user_id * 10 for user_id in range(1, 9)}
    assert len(set(per_chat.values())) == 1, "someone had the digest twice"
    assert await db.digests.due() == []


async def test_a_change_due_on_two_workers_happens_once(
        two: tuple[Database, Database], mini: Questionnaire) -> None:
    catalogs = Catalogs.load()
    made = await two[0].consultations.create("mini", 2, {}, created_by=None, status="open")
    heard: list[tuple[int, str]] = []

    async def listener(application: object, consultation_id: int, verb: str) -> None:
        heard.append((consultation_id, verb))

    a, b = (worker(d, mini, catalogs, (listener,)) for d in two)

    changed = await asyncio.gather(scheduling.change_status(a, made.id, "close"),  # type: ignore[arg-type]
                                   scheduling.change_status(b, made.id, "close"))  # type: ignore[arg-type]

    assert sorted(changed) == [False, True]
    assert heard == [(made.id, "close")]  # one final digest, one audit entry


async def test_retention_runs_once_when_two_workers_start_together(
        two: tuple[Database, Database], caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(token="1:T", database=Path("unused"))
    for db, worker_id in zip(two, "ab"):
        await db.workers.beat(worker_id, "host")
    with caplog.at_level(logging.INFO, logger="bot.retention"):
        await asyncio.gather(retention.apply(two[0], settings, "a"),
                             retention.apply(two[1], settings, "b"))

    runs = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Retention (")]
    assert len(runs) == 1
    assert any("applied by another worker" in r.getMessage() for r in caplog.records)


async def broadcast_to_subscribers(db: Database) -> int:
    consultation = await db.consultations.create(
        "metep", 1, {"en": ConsultationText("Budget", "Where to spend?")}, created_by=MODERATOR,
        status="open")
    async with db.transaction():
        for user_id in SUBSCRIBERS:
            await db.respondents.ensure(user_id, user_id)
            await db.respondents.set_subscribed(user_id, True)
    draft = await db.broadcasts.create(consultation.id, MODERATOR, "en")
    await db.broadcasts.show_progress_in(draft.id, MODERATOR, 1, "preview")
    assert await db.broadcasts.start(draft.id) == len(SUBSCRIBERS)
    return draft.id


async def finished(db: Database, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while await db.broadcasts.unfinished():
            await asyncio.sleep(0.01)


async def test_two_workers_share_a_broadcast_and_send_to_each_subscriber_once(
        two: tuple[Database, Database]) -> None:
    broadcast_id = await broadcast_to_subscribers(two[0])
    bots = [RecordingBot(), RecordingBot()]
    identities = [WorkerIdentity(), WorkerIdentity()]
    for identity in identities:  # registered, as every worker is before it sends
        await two[0].workers.beat(identity.id, identity.name)
    senders = [Broadcaster(bot, db, Catalogs.load(), POLICY,  # type: ignore[arg-type]
                           worker=identity, rate=2000)
               for bot, db, identity in zip(bots, two, identities)]

    for sender in senders:
        await sender.start()
    await finished(two[0])
    for sender in senders:
        await sender.stop()

    to_subscribers = [c for bot in bots for c in bot.sent if c in SUBSCRIBERS]
    assert sorted(to_subscribers) == list(SUBSCRIBERS)
    assert all(any(c in SUBSCRIBERS for c in bot.sent) for bot in bots), "both took a share"
    assert [c for bot in bots for c in bot.sent if c == MODERATOR] == [MODERATOR], "one report"
    assert await two[0].broadcasts.counts(broadcast_id) == DeliveryCounts(sent=len(SUBSCRIBERS))


async def test_a_dead_workers_deliveries_are_sent_by_a_live_one_and_nobody_elses(
        two: tuple[Database, Database]) -> None:
    db = two[0]
    broadcast_id = await broadcast_to_subscribers(db)
    # A worker that claimed a batch and began one delivery, then died without a trace; and a
    # live worker busy with its own batch.
    await db.delivery_claims.claim(broadcast_id, "dead", 5)
    assert await db.broadcasts.begin_attempt(broadcast_id, SUBSCRIBERS[0])
    await db.workers.beat("live", "elsewhere:1")
    kept = [r.user_id for r in await db.delivery_claims.claim(broadcast_id, "live", 5)]
    bot = RecordingBot()
    sender = Broadcaster(bot, two[1], Catalogs.load(), POLICY)  # type: ignore[arg-type]

    await sender.start()
    async with asyncio.timeout(10):
        while (await db.broadcasts.counts(broadcast_id)).sent < len(SUBSCRIBERS) - len(kept):
            await asyncio.sleep(0.01)
    await sender.stop()

    assert sorted(bot.sent) == sorted(set(SUBSCRIBERS) - set(kept))
    assert await db.broadcasts.counts(broadcast_id) == DeliveryCounts(
        pending=len(kept), sent=len(SUBSCRIBERS) - len(kept))
    assert [b.id for b in await db.broadcasts.unfinished()] == [broadcast_id], \
        "not reported while the live worker still has some"
