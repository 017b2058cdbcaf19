"""The traffic policy: conversation paced per chat only, bulk at the bulk rate, 429s pause what
they apply to and are retried (bot/traffic.py). Time is a fake clock; sleeping advances it."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.traffic import CHAT_MARGIN, Activity, Pace, Traffic, TrafficLimiter


class FakeTime:
    """A clock that moves only when every task is asleep: then to the earliest wake-up time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._count = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float, result: Any = None) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._count += 1
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), self._count, future))
        await future
        return result

    async def drive(self, real_sleep: Any) -> None:
        while True:
            for _ in range(50):  # let every task that can run, run
                await real_sleep(0)
            if self._sleepers:
                wake, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                future.set_result(None)


@pytest.fixture
async def clock(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTime]:
    time = FakeTime()
    real_sleep = asyncio.sleep
    driver = asyncio.ensure_future(time.drive(real_sleep))
    monkeypatch.setattr(asyncio, "sleep", time.sleep)
    yield time
    driver.cancel()


class Api:
    """Records when each call reached "Telegram"; answers 429 as told."""

    def __init__(self, clock: FakeTime) -> None:
        self.clock = clock
        self.sent: list[tuple[float, str, Any]] = []
        self.refuse: dict[Any, list[int]] = {}  # chat -> retry_after of its next calls

    def call(self, limiter: TrafficLimiter, endpoint: str, chat: Any,
             traffic: Traffic | None = None, **data: Any) -> Any:
        async def callback() -> bool:
            waits = self.refuse.get(chat)
            if waits:
                raise RetryAfter(waits.pop(0))
            self.sent.append((self.clock.now, endpoint, chat))
            return True

        payload = {"chat_id": chat, **data} if chat is not None else data
        return limiter.process_request(callback, (), {}, endpoint, payload, traffic)


def limiter_for(clock: FakeTime, **settings: Any) -> TrafficLimiter:
    return TrafficLimiter(clock=clock, **settings)


def test_a_pace_allows_its_burst_at_once_then_its_rate() -> None:
    pace = Pace(rate=2, burst=3)
    assert [pace.reserve(0.0) for _ in range(5)] == [0.0, 0.0, 0.0, 0.5, 1.0]


def test_a_paused_pace_sends_nothing_before_the_pause_ends_then_a_burst() -> None:
    pace = Pace(rate=1, burst=2)
    pace.pause(5.0)
    assert [pace.reserve(1.0) for _ in range(3)] == [4.0, 4.0, 5.0]
    assert not pace.idle(3.0) and pace.idle(10.0)


async def test_conversation_in_many_chats_never_waits_however_many_there_are(
        clock: FakeTime) -> None:
    limiter, api = limiter_for(clock, bulk_rate=30), Api(clock)
    await asyncio.gather(*(api.call(limiter, "editMessageText", chat) for chat in range(500)))
    assert len(api.sent) == 500 and {at for at, _, _ in api.sent} == {0.0}


async def test_one_chat_is_held_to_the_per_chat_rate_after_a_small_burst(clock: FakeTime) -> None:
    # Paced a tenth below the rate given (CHAT_MARGIN): 1.11 a second is one a second here.
    limiter = limiter_for(clock, bulk_rate=30, chat_rate=1 / CHAT_MARGIN, chat_burst=3)
    api = Api(clock)
    await asyncio.gather(*(api.call(limiter, "sendMessage", 7) for _ in range(6)),
                         api.call(limiter, "sendMessage", 8))
    assert [at for at, _, chat in api.sent if chat == 7] == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]
    assert [at for at, _, chat in api.sent if chat == 8] == [0.0]


async def test_calls_telegram_does_not_count_are_not_paced(clock: FakeTime) -> None:
    limiter, api = limiter_for(clock, bulk_rate=1, chat_rate=1, chat_burst=1), Api(clock)
    await asyncio.gather(*(api.call(limiter, "answerCallbackQuery", None) for _ in range(5)),
                         *(api.call(limiter, "sendChatAction", 7) for _ in range(5)))
    assert {at for at, _, _ in api.sent} == {0.0}


async def test_bulk_is_paced_at_the_bulk_rate_and_a_reply_skips_its_queue(
        clock: FakeTime) -> None:
    limiter, api = limiter_for(clock, bulk_rate=10, bulk_burst=1), Api(clock)
    broadcast = [asyncio.ensure_future(api.call(limiter, "sendMessage", 1000 + i, Traffic.BULK))
                 for i in range(20)]
    await asyncio.sleep(0.55)  # five bulk sends went out; fifteen wait for their turn
    await api.call(limiter, "sendMessage", 7)  # a reply to someone who wrote
    await asyncio.gather(*broadcast)
    reply = next(i for i, (_, _, chat) in enumerate(api.sent) if chat == 7)
    assert reply == 6 and api.sent[reply][0] == 0.55
    bulk = [at for at, _, chat in api.sent if chat != 7]
    assert bulk == pytest.approx([i / 10 for i in range(20)])


async def test_paid_bulk_has_its_own_faster_rate(clock: FakeTime) -> None:
    limiter, api = limiter_for(clock, bulk_rate=10, bulk_burst=1), Api(clock)
    await asyncio.gather(*(api.call(limiter, "sendMessage", 1000 + i, Traffic.BULK,
                                    allow_paid_broadcast=True) for i in range(100)))
    assert max(at for at, _, _ in api.sent) == 0.0  # 800 at once, as 1000 a second allows


async def test_a_429_in_one_chat_delays_that_chat_only_and_the_call_is_retried(
        clock: FakeTime) -> None:
    limiter, api = limiter_for(clock, bulk_rate=30), Api(clock)
    api.refuse[7] = [3]
    first = asyncio.ensure_future(api.call(limiter, "sendMessage", 7))
    await asyncio.sleep(1)
    await asyncio.gather(api.call(limiter, "sendMessage", 7), api.call(limiter, "sendMessage", 8),
                         api.call(limiter, "sendMessage", 1000, Traffic.BULK), first)
    assert sorted((at, chat) for at, _, chat in api.sent) == [(1.0, 8), (1.0, 1000), (3.0, 7),
                                                                (3.0, 7)]


async def test_a_429_on_bulk_pauses_all_bulk_but_no_reply(clock: FakeTime) -> None:
    limiter, api = limiter_for(clock, bulk_rate=100), Api(clock)
    api.refuse[1000] = [2]
    refused = asyncio.ensure_future(api.call(limiter, "sendMessage", 1000, Traffic.BULK))
    await asyncio.sleep(0.5)
    await asyncio.gather(api.call(limiter, "sendMessage", 1001, Traffic.BULK),
                         api.call(limiter, "editMessageText", 7), refused)
    assert sorted((at, chat) for at, _, chat in api.sent) == [(0.5, 7), (2.0, 1000), (2.0, 1001)]


async def test_every_429_is_waited_out_however_often_it_comes(clock: FakeTime) -> None:
    limiter, api = limiter_for(clock, bulk_rate=30), Api(clock)
    api.refuse[7] = [1, 1, 5, 1]
    assert await api.call(limiter, "sendMessage", 7, Traffic.BULK) is True
    assert api.sent == [(8.0, "sendMessage", 7)]


async def test_only_chats_with_recent_sends_are_remembered(clock: FakeTime) -> None:
    limiter, api = limiter_for(clock, bulk_rate=30), Api(clock)
    for chat in range(3000):
        await api.call(limiter, "sendMessage", chat)
        clock.now += 0.01
    assert limiter.chats_paced < 1100  # ~3 s of chats at most, not every chat ever written to


async def test_bulk_gives_way_while_an_update_is_being_handled() -> None:
    activity = Activity()
    limiter = TrafficLimiter(bulk_rate=1000, activity=activity)
    api = Api(FakeTime())
    with activity.handling():
        bulk = asyncio.ensure_future(api.call(limiter, "sendMessage", 1000, Traffic.BULK))
        await asyncio.sleep(0.01)
        assert api.sent == [], "a bulk send went out while an update was being handled"
        await api.call(limiter, "sendMessage", 7)  # the reply itself is not held back
    await bulk
    assert [chat for _, _, chat in api.sent] == [7, 1000]


async def test_a_reply_waiting_for_its_chat_does_not_hold_bulk_back() -> None:
    activity = Activity()
    limiter = TrafficLimiter(bulk_rate=1000, chat_rate=5, chat_burst=1, activity=activity)
    api = Api(FakeTime())
    with activity.handling():
        await api.call(limiter, "sendMessage", 7)
        second = asyncio.ensure_future(api.call(limiter, "sendMessage", 7))  # waits ~0.2 s
        await asyncio.sleep(0.01)
        await api.call(limiter, "sendMessage", 1000, Traffic.BULK)
        assert [chat for _, _, chat in api.sent] == [7, 1000]
        await second


async def test_bulk_is_held_back_by_updates_for_a_bounded_time_only() -> None:
    activity = Activity()
    limiter = TrafficLimiter(bulk_rate=1000, activity=activity, bulk_yield=0.05)
    api = Api(FakeTime())
    with activity.handling():  # an update that never ends
        await asyncio.wait_for(api.call(limiter, "sendMessage", 1000, Traffic.BULK), 1)
    assert len(api.sent) == 1


async def test_bulk_gives_way_while_a_reply_is_on_the_wire_outside_any_update() -> None:
    activity = Activity()
    limiter = TrafficLimiter(bulk_rate=1000, activity=activity)
    on_the_wire = asyncio.Event()
    release = asyncio.Event()
    sent: list[str] = []

    async def reply() -> bool:
        on_the_wire.set()
        await release.wait()
        sent.append("reply")
        return True

    async def bulk() -> bool:
        sent.append("bulk")
        return True

    replying = asyncio.ensure_future(limiter.process_request(
        reply, (), {}, "sendMessage", {"chat_id": 7}, None))
    await on_the_wire.wait()
    broadcast = asyncio.ensure_future(limiter.process_request(
        bulk, (), {}, "sendMessage", {"chat_id": 1000}, Traffic.BULK))
    await asyncio.sleep(0.01)
    assert sent == [], "a bulk send went out while a reply was on the wire"
    release.set()
    await asyncio.gather(replying, broadcast)
    assert sent == ["reply", "bulk"]
