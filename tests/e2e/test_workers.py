"""Several workers, one bot: two `baraza run` processes behind a proxy share one database.

50 people answer the whole questionnaire while a broadcast goes out, and one worker is SIGKILLed
midway: the other carries on with everyone, nothing is lost or applied twice, every subscriber
gets the broadcast once, and the digest of the close goes out once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.i18n import Catalogs, Translator
from conversations.model import Questionnaire
from emulator import BotApiEmulator, EmulatedUser
from storage import Database, DeliveryCounts

from .test_broadcasts import delivery_counts, finished_report, prepare, start_broadcast, subscribers
from .conftest import TOKEN
from .walk import label, lowest, shown_question
from .workers import workers

MODERATOR = 1
RESPONDENTS = range(20_000, 20_050)
AUDIENCE = 600  # at 30 messages a second, shared by both workers: still going at the kill
PATIENCE = 90.0  # seconds one step may take while a worker is being replaced


@pytest.fixture
async def proxy_emulator() -> AsyncIterator[BotApiEmulator]:
    """The Bot API, posting updates to the workers in turn as a reverse proxy spreads them."""
    emulator = BotApiEmulator(token=TOKEN, timeout=PATIENCE)
    emulator.webhook_backoff = (0.05, 0.5)
    await emulator.start()
    yield emulator
    await emulator.stop()


async def respond(user: EmulatedUser, metep: Questionnaire, t: Translator,
                  taps: Counter[str]) -> list[str]:
    """What a person does: answer until the scores arrive; when the screen does not move on
    (the worker that had the tap was killed before showing what came next), send /start to
    resume. Returns the questions answered, in order."""
    answered: list[str] = []
    await user.send("/start")
    for _ in range(200):
        message = user.last_message
        if message is not None and "Your answers are recorded." in message.text:
            return answered
        question = shown_question(metep, t, message.text) if message is not None else None
        if question is not None and question.id not in answered:
            option = lowest(question)
            await user.click(t._("Skip") if option is None
                             else label(metep, t, question, option))
            answered.append(question.id)
            taps["answers"] += 1
        elif "✓ English" in user.buttons:
            await user.click("✓ English")
        elif t._("I agree") in user.buttons:
            await user.click(t._("I agree"))
        else:
            await user.send("/start")
    raise AssertionError(f"user {user.id} never finished:\n{user.transcript()}")


async def steady(emulator: BotApiEmulator, seconds: float = 1.0) -> None:
    """Wait until the number of requests held stays the same for a while: a killed worker's
    have been dropped with its connections."""
    loop = asyncio.get_running_loop()
    last, since = emulator.held_requests, loop.time()
    while loop.time() - since < seconds:
        await asyncio.sleep(0.05)
        if emulator.held_requests != last:
            last, since = emulator.held_requests, loop.time()


async def test_two_workers_one_killed_midway_lose_nothing_and_double_nothing(
        proxy_emulator: BotApiEmulator, database: Path | str, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    emulator, t = proxy_emulator, catalogs.translator("en")
    people = subscribers(AUDIENCE, first_id=10_000)
    consultation_id = await prepare(database, metep, people)
    db = await Database.open(database)
    try:
        await db.respondents.ensure(MODERATOR, MODERATOR)
        await db.digests.toggle(MODERATOR)  # the moderator reads the final digest
    finally:
        await db.close()
    audience = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator = emulator.user(MODERATOR, language_code="en")
    respondents = [emulator.user(user_id, language_code="en") for user_id in RESPONDENTS]
    taps: Counter[str] = Counter()

    def delivered() -> int:
        return sum(len(user.messages) for user in audience)

    async def every_delivery_recorded() -> bool:
        return (await delivery_counts(database)).sent == delivered()

    async with workers(emulator, database, 2, BARAZA_MODERATORS=str(MODERATOR)) as (doomed, _):
        await start_broadcast(moderator, expected_recipients=AUDIENCE)
        walks = [asyncio.create_task(respond(user, metep, t, taps)) for user in respondents]
        await emulator.wait_until(lambda: taps["answers"] >= 400 and delivered() >= 60, PATIENCE,
                                  lambda: f"{taps['answers']} answers, {delivered()} delivered")

        # The network stalls (sends hang undone), every message that did arrive is recorded,
        # and one worker is killed with some of the broadcast's deliveries in flight.
        emulator.hold("sendMessage")
        while not await every_delivery_recorded():
            await asyncio.sleep(0.05)
        in_flight = await delivery_counts(database)
        await doomed.kill()
        await steady(emulator)
        emulator.release()

        answered = await asyncio.gather(*walks)
        report = await finished_report(moderator, timeout=PATIENCE)
        await moderator.send("/consultations")
        await moderator.click(f"Close #{consultation_id}")
        await moderator.click(f"Yes, close #{consultation_id}")
        await moderator.wait_for(lambda m: "has closed" in m.text, timeout=PATIENCE)
        await moderator.settle(timeout=PATIENCE)

    assert in_flight.sending > 0 and 0 < in_flight.sent < AUDIENCE, "the kill came midway"
    # Every subscriber had the broadcast exactly once, and its moderator one report.
    assert Counter(len(user.messages) for user in audience) == {1: AUDIENCE}
    assert await delivery_counts(database) == DeliveryCounts(sent=AUDIENCE)
    assert f"Sent: {AUDIENCE}" in report
    assert sum("Broadcast finished" in m.text for m in moderator.messages) == 1
    # Everyone finished, every answer stored once: as many as each person gave.
    db = await Database.open(database)
    try:
        stored = Counter([answer.user_id
                          async for answer in db.exports.answers(consultation_id)])
        assert stored == {user.id: len(answers) for user, answers in zip(respondents, answered)}
        assert await db.exports.finished_by_role(consultation_id) == {"citizen": len(respondents)}
        assert await db.digests.due() == []
        assert await db.digests.sent_to(1) == [MODERATOR]  # the close's digest, the first one
    finally:
        await db.close()
    # The digest went out once, though each worker sweeps for due digests.
    assert sum(m.text.startswith(f"Consultation #{consultation_id} has closed")
               for m in moderator.messages) == 1
    # Both workers served updates before the kill.
    assert {a.url.rsplit("/telegram", 1)[0] for a in emulator.webhook_attempts if a.ok} \
        == set(emulator.webhook_targets)
