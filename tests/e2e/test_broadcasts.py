"""A moderator announces a consultation to every subscriber, each in their own language, once.

Telegram allows a bot about 30 messages a second; the emulator here enforces that limit with 429s.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from bot.application import build_application, running
from bot.broadcasting import DeliveryPolicy
from bot.config import Settings
from bot.i18n import Catalogs
from conversations.model import Questionnaire
from emulator import BotApiEmulator, EmulatedUser, RateLimit, RejectedRequest
from storage import ConsultationText, Database, DeliveryCounts
from tests.storage.on_disk import query_file

from .conftest import TOKEN
from .conftest import BotProcess, probed_emulator
from .walk import shown_question

MODERATOR = 1
OTHER_MODERATOR = 2
CITIZEN = 7
TELEGRAMS_LIMIT = 30  # messages a second
TEXTS = {
    "en": ConsultationText("Budget hearings 2027", "Where should the county spend next year?"),
    "fr": ConsultationText("Audiences budgétaires 2027", "Où dépenser l'an prochain ?"),
    "ar": ConsultationText("جلسات الميزانية 2027", "أين ينبغي أن تنفق المقاطعة في العام المقبل؟"),
}
REFUSAL = "Sorry, only moderators can do that."


@pytest.fixture
def limit() -> float:
    """Messages a second the emulator accepts (a test may parametrize it)."""
    return TELEGRAMS_LIMIT


@pytest.fixture
async def emulator(limit: float) -> AsyncIterator[BotApiEmulator]:
    """An emulator that answers 429 beyond Telegram's 30 messages a second."""
    async with probed_emulator(RateLimit(per_second=limit)) as emu:
        yield emu


@pytest.fixture
def settings(emulator: BotApiEmulator, tmp_path: Path) -> Settings:
    """The bot paced for Telegram, as in production."""
    return Settings(token=TOKEN, api_url=emulator.api_root, database=tmp_path / "baraza.db",
                    moderators=frozenset({MODERATOR}), messages_per_second=TELEGRAMS_LIMIT)


def subscribers(count: int, first_id: int = 1000) -> dict[int, str]:
    """``count`` subscribers, taking turns at English, French and Arabic."""
    locales = list(TEXTS)
    return {first_id + i: locales[i % len(locales)] for i in range(count)}


async def prepare(database: Path, questionnaire: Questionnaire, people: dict[int, str]) -> int:
    """Before the bot starts: an open consultation in three languages, and people who subscribed."""
    db = await Database.open(database)
    try:
        consultation = await db.consultations.create(
            questionnaire.id, questionnaire.version, TEXTS, created_by=MODERATOR, status="open")
        async with db.transaction():
            for user_id, locale in people.items():
                await db.respondents.ensure(user_id, user_id)
                await db.respondents.set_locale(user_id, locale)
                await db.respondents.record_consent(user_id)
                await db.respondents.set_subscribed(user_id, True)
        return consultation.id
    finally:
        await db.close()


async def delivery_counts(database: Path, broadcast_id: int = 1) -> DeliveryCounts:
    """The deliveries as the bot's database records them (read beside the running bot)."""
    db = await Database.open(database)
    try:
        return await db.broadcasts.counts(broadcast_id)
    finally:
        await db.close()


@asynccontextmanager
async def bot_running(emulator: BotApiEmulator, settings: Settings, questionnaire: Questionnaire,
                      catalogs: Catalogs) -> AsyncIterator[None]:
    application = build_application(settings, questionnaire, catalogs,
                                     update_processor=emulator.processor)  # type: ignore[attr-defined]
    async with running(application, poll_timeout=1):
        yield


def refusals_other_than(emulator: BotApiEmulator, codes: set[int]) -> list[RejectedRequest]:
    return [e for e in emulator.errors if e.code not in codes]


async def start_broadcast(moderator: EmulatedUser, expected_recipients: int) -> str:
    """/broadcast, pick the consultation, check the preview, tap Send; returns the preview."""
    await moderator.send("/broadcast", timeout=30)
    await moderator.click(TEXTS["en"].title)
    preview = moderator.last_message.text
    assert "Preview" in preview and TEXTS["en"].description in preview
    assert f"It will be sent to {expected_recipients:,} subscribers" in preview
    await moderator.click("Send")
    return preview


async def finished_report(moderator: EmulatedUser, timeout: float = 60) -> str:
    report = await moderator.wait_for(lambda m: "Broadcast finished" in m.text, timeout=timeout)
    return report.text


async def eventually(condition: Callable[[], bool | Awaitable[bool]], timeout: float = 30) -> None:
    """Poll a condition that something out of reach (the bot in another process) makes true."""
    deadline = time.monotonic() + timeout
    while True:
        held = condition()
        if await held if inspect.isawaitable(held) else held:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the condition never held")
        await asyncio.sleep(0.05)


async def test_300_subscribers_get_it_once_each_in_their_language_at_telegrams_pace(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    people = subscribers(300)
    await prepare(settings.database, metep, people)
    users = {user_id: emulator.user(user_id, language_code=locale)
             for user_id, locale in people.items()}
    moderator = emulator.user(MODERATOR, language_code="en")

    async with bot_running(emulator, settings, metep, catalogs):
        began = time.monotonic()
        preview = await start_broadcast(moderator, expected_recipients=300)
        assert ("It will be sent to 300 subscribers, each in their own language (العربية: 100, "
                "English: 100, Français: 100).") in preview
        assert "No translation" not in preview
        report = await finished_report(moderator)
        seconds = time.monotonic() - began

        for user_id, user in users.items():
            t = catalogs.translator(people[user_id])
            (message,) = user.messages  # exactly once
            assert TEXTS[people[user_id]].title in message.text
            assert TEXTS[people[user_id]].description in message.text
            assert message.button_texts == [t._("Answer now")]

        # The button starts the questionnaire.
        arabic = users[1002]
        ar = catalogs.translator("ar")
        await arabic.click(ar._("Answer now"))
        assert shown_question(metep, ar, arabic.last_message.text) == metep.questions[0]

    assert "Sent: 300" in report and "Failed: 0" in report and "Blocked the bot: 0" in report
    progress = next(m for m in moderator.messages if "Broadcast:" in m.text)
    assert progress.edited and "Finished." in progress.text and not progress.buttons
    # Flood control answered with 429 whenever the pace slipped; every one of those messages was
    # sent again and arrived (each subscriber has exactly one), and nothing else was refused.
    assert refusals_other_than(emulator, {429}) == []
    # The limiter keeps to Telegram's pace: 30 a second, after a first second's burst.
    assert (300 - TELEGRAMS_LIMIT) / TELEGRAMS_LIMIT * 0.95 <= seconds < 30
    print(f"\n300 announcements in {seconds:.1f} s: {300 / seconds:.1f} messages/s "
          f"(limit {TELEGRAMS_LIMIT}), {emulator.stats.too_many_requests} answered 429")


@pytest.mark.parametrize("limit", [2])
async def test_flood_control_beyond_the_bots_own_pace_is_waited_out(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs, caplog: pytest.LogCaptureFixture) -> None:
    # The bot believes it may send 1000 a second, Telegram allows 2: each 429 pauses the bulk
    # sends for its retry_after, and every refused send is tried again, as often as it takes.
    people = subscribers(10)
    await prepare(settings.database, metep, people)
    users = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator = emulator.user(MODERATOR, language_code="en")
    eager = replace(settings, messages_per_second=1000)

    async with bot_running(emulator, eager, metep, catalogs):
        await start_broadcast(moderator, expected_recipients=10)
        report = await finished_report(moderator)

    paused = [r for r in caplog.records if "bulk sends pause" in r.getMessage()]
    assert paused, "Telegram never refused, so nothing was waited out"
    assert all(len(user.messages) == 1 for user in users)
    assert "Sent: 10" in report and "Failed: 0" in report
    assert refusals_other_than(emulator, {429}) == []


async def test_blocked_subscribers_are_counted_and_not_written_to_again(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    people = subscribers(12)
    await prepare(settings.database, metep, people)
    users = {user_id: emulator.user(user_id, language_code=locale)
             for user_id, locale in people.items()}
    blocked = [1001, 1005, 1010]
    for user_id in blocked:
        emulator.block(user_id, notify=False)
    moderator = emulator.user(MODERATOR, language_code="en")

    async with bot_running(emulator, settings, metep, catalogs):
        await start_broadcast(moderator, expected_recipients=12)
        report = await finished_report(moderator)
        assert "Sent: 9" in report and "Blocked the bot: 3" in report and "Failed: 0" in report

        # The next broadcast leaves them out: they are no longer counted as subscribers.
        await moderator.send("/broadcast")
        await moderator.click(TEXTS["en"].title)
        assert "It will be sent to 9 subscribers" in moderator.last_message.text
        await moderator.click("Cancel")
        assert moderator.last_message.text == "Broadcast cancelled; nothing was sent."

    for user_id in blocked:
        attempts = [c for c in emulator.calls if c.method == "sendMessage" and c.chat_id == user_id]
        assert len(attempts) == 1 and not attempts[0].ok, "a blocked subscriber was retried"
    assert all(len(user.messages) == 1 for user_id, user in users.items() if user_id not in blocked)
    refused = refusals_other_than(emulator, set())
    assert {(e.code, e.params["chat_id"]) for e in refused} == {(403, u) for u in blocked}


async def test_citizen_is_refused_the_command_and_a_forged_button(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    people = subscribers(5)
    consultation = await prepare(settings.database, metep, people)
    users = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator, citizen = emulator.user(MODERATOR), emulator.user(CITIZEN, language_code="en")

    async with bot_running(emulator, settings, metep, catalogs):
        await citizen.send("/broadcast")
        assert citizen.last_message.text == REFUSAL

        await moderator.send("/broadcast")
        await moderator.click(TEXTS["en"].title)  # a draft, #1, waits for Send
        for forged in ("n|send|1", "n|stop|1", "n|cancel|1", f"n|pick|{consultation}"):
            await citizen.click_data(forged)
            answer = citizen.callback_answers[-1]
            assert (answer.text, answer.show_alert) == (REFUSAL, True)
        await asyncio.sleep(0.5)  # time enough for a sender to start, had anything been sent
        assert all(user.messages == [] for user in users)

        await moderator.click("Cancel")  # the draft is untouched: it can still be cancelled
        assert moderator.last_message.text == "Broadcast cancelled; nothing was sent."
    assert emulator.errors == []


async def test_a_moderator_can_stop_a_broadcast_halfway(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    people = subscribers(300)
    await prepare(settings.database, metep, people)
    users = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator = emulator.user(MODERATOR, language_code="en")

    def delivered() -> int:
        return sum(len(user.messages) for user in users)

    async with bot_running(emulator, settings, metep, catalogs):
        await start_broadcast(moderator, expected_recipients=300)
        await emulator.wait_until(lambda: delivered() >= 60, 10, lambda: f"{delivered()} delivered")
        await moderator.click("Stop sending")
        report = await moderator.wait_for(lambda m: "Broadcast stopped" in m.text, timeout=10)
        stopped_at = delivered()
        await asyncio.sleep(1)  # nothing more goes out after the report

    counts = await delivery_counts(settings.database)
    assert delivered() == stopped_at == counts.sent < 300
    assert counts == DeliveryCounts(pending=300 - counts.sent, sent=counts.sent)
    assert f"Sent: {counts.sent}" in report.text and f"Not sent: {300 - counts.sent}" in report.text
    assert all(len(user.messages) <= 1 for user in users)
    assert refusals_other_than(emulator, {429}) == []


@pytest.fixture
async def outside_emulator() -> AsyncIterator[BotApiEmulator]:
    """A rate-limited emulator for a bot in another process (no idle probe: it waits for quiet)."""
    emu = BotApiEmulator(token=TOKEN, rate_limit=RateLimit(per_second=TELEGRAMS_LIMIT))
    await emu.start()
    yield emu
    await emu.stop()


async def test_a_bot_killed_halfway_delivers_to_everyone_exactly_once_after_restart(
        outside_emulator: BotApiEmulator, tmp_path: Path, metep: Questionnaire) -> None:
    emulator, database = outside_emulator, tmp_path / "baraza.db"
    people = subscribers(300)
    await prepare(database, metep, people)
    users = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator = emulator.user(MODERATOR, language_code="en")
    bot = BotProcess(emulator, database)
    bot.env["BARAZA_MODERATORS"] = str(MODERATOR)

    def delivered() -> int:
        return sum(len(user.messages) for user in users)

    async def every_delivery_recorded_and_the_rest_stalled() -> bool:
        counts = await delivery_counts(database)
        return emulator.held_requests > 0 and counts.sent == delivered()

    await bot.start()
    try:
        await start_broadcast(moderator, expected_recipients=300)
        await emulator.wait_until(lambda: delivered() >= 150, 30, lambda: f"{delivered()} delivered")
        # The network stalls: sends in flight hang undone. Once every message that did arrive is
        # recorded as sent, the bot is killed with the stalled ones marked 'sending'.
        emulator.hold("sendMessage")
        await eventually(every_delivery_recorded_and_the_rest_stalled)
        await bot.kill()
        interrupted = await delivery_counts(database)
        assert interrupted.sending > 0 and 0 < interrupted.sent < 300
        await eventually(lambda: emulator.held_requests == 0)  # dropped with their client
        emulator.release()

        await bot.start()
        report = await finished_report(moderator)
    finally:
        await bot.stop()

    assert all(len(user.messages) == 1 for user in users), "someone got it twice, or not at all"
    assert await delivery_counts(database) == DeliveryCounts(sent=300)
    assert "Sent: 300" in report and "Failed: 0" in report
    assert refusals_other_than(emulator, {429}) == []


async def test_paid_broadcasts_ask_telegram_for_the_paid_rate(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    people = subscribers(6)
    await prepare(settings.database, metep, people)
    for user_id, locale in people.items():
        emulator.user(user_id, language_code=locale)
    moderator = emulator.user(MODERATOR, language_code="en")

    # Paid broadcasts are sent by a process of their own (tests/e2e/test_sender_process.py).
    async with bot_running(emulator, replace(settings, paid_broadcast=True), metep, catalogs):
        await start_broadcast(moderator, expected_recipients=6)
        await finished_report(moderator)

    sends = [c for c in emulator.calls if c.method == "sendMessage" and c.chat_id in people]
    assert len(sends) == 6 and all(c.params.get("allow_paid_broadcast") is True for c in sends)
    others = [c for c in emulator.calls if c.method == "sendMessage" and c.chat_id == MODERATOR]
    assert not any("allow_paid_broadcast" in c.params for c in others), "only broadcasts pay"


async def change(database: Path, write: Callable[[Database], Awaitable[object]]) -> None:
    """Write to the bot's database beside the running bot, as another of its tasks would."""
    db = await Database.open(database)
    try:
        await write(db)
    finally:
        await db.close()


async def test_subscribers_who_stop_while_it_is_sent_get_nothing_and_are_counted(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    # At 30 a second, 100,000 subscribers take most of an hour: a /stop in that time is heeded.
    people = subscribers(150)
    await prepare(settings.database, metep, people)
    users = {user_id: emulator.user(user_id, language_code=locale)
             for user_id, locale in people.items()}
    moderator = emulator.user(MODERATOR, language_code="en")
    stopping = list(range(1140, 1150))  # their turn comes last
    blocking = 1135  # found out by another send (a digest's 403) while this broadcast runs

    def delivered() -> int:
        return sum(1 for user in users.values() for m in user.messages if "📣" in m.text)

    async def all_stopped() -> bool:
        db = await Database.open(settings.database)
        try:
            respondents = [await db.respondents.get(user_id) for user_id in stopping]
        finally:
            await db.close()
        return not any(r is not None and r.subscribed for r in respondents)

    async with bot_running(emulator, settings, metep, catalogs):
        await start_broadcast(moderator, expected_recipients=150)
        await emulator.wait_until(lambda: delivered() >= 30, 10, lambda: f"{delivered()} delivered")
        for user_id in stopping:
            await users[user_id].send("/stop", settle=False)
        await eventually(all_stopped)
        await change(settings.database, lambda db: db.respondents.mark_blocked(blocking))
        assert delivered() < 130, "too late: their turn may have come already"
        report = await finished_report(moderator)

    for user_id in stopping:
        t = catalogs.translator(people[user_id])
        assert [m.text for m in users[user_id].messages] == [t.directed(t._(
            "You will no longer receive announcements of new consultations. Your answers are "
            "kept, and you can go on answering: send /start."))], \
            "written to after /stop"
    sends = [c for c in emulator.calls if c.method == "sendMessage" and c.chat_id == blocking]
    assert sends == [], "a subscriber known to have blocked the bot was written to"
    assert delivered() == 150 - len(stopping) - 1
    assert await delivery_counts(settings.database) == DeliveryCounts(
        sent=139, blocked=1, skipped=len(stopping))
    assert "Sent: 139" in report and "Blocked the bot: 1" in report and "Failed: 0" in report
    assert "Skipped (unsubscribed since): 10" in report
    progress = next(m for m in moderator.messages if "Broadcast:" in m.text)
    assert "Skipped (unsubscribed since): 10" in progress.text and "Finished." in progress.text
    assert refusals_other_than(emulator, {429}) == []


async def test_a_broadcast_stops_when_its_consultation_closes(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    # The rest would get "Answer now" for a consultation that no longer takes answers.
    people = subscribers(300)
    consultation = await prepare(settings.database, metep, people)
    users = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator = emulator.user(MODERATOR, language_code="en")

    def delivered() -> int:
        return sum(len(user.messages) for user in users)

    async with bot_running(emulator, settings, metep, catalogs):
        await start_broadcast(moderator, expected_recipients=300)
        await emulator.wait_until(lambda: delivered() >= 60, 10, lambda: f"{delivered()} delivered")
        # As the scheduler does at closes_at, or a moderator from /consultations.
        await change(settings.database,
                     lambda db: db.consultations.set_status(consultation, "closed"))
        closed_at = delivered()
        report = await moderator.wait_for(lambda m: "Broadcast stopped" in m.text, timeout=10)
        stopped_at = delivered()
        await asyncio.sleep(1)  # nothing more goes out after the report

    counts = await delivery_counts(settings.database)
    assert delivered() == stopped_at == counts.sent < 300
    assert counts.sent <= closed_at + DeliveryPolicy().concurrency, "only those in flight went on"
    assert counts == DeliveryCounts(pending=300 - counts.sent, sent=counts.sent)
    closed = "The consultation was closed, so the rest will not be sent."
    assert f"Not sent: {300 - counts.sent}" in report.text and closed in report.text
    progress = next(m for m in moderator.messages if "Broadcast:" in m.text)
    assert "Stopped." in progress.text and closed in progress.text and not progress.buttons
    assert all(len(user.messages) <= 1 for user in users)
    assert refusals_other_than(emulator, {429}) == []


@pytest.fixture
def quick_policy(monkeypatch: pytest.MonkeyPatch) -> DeliveryPolicy:
    """Retries and pauses a test can wait out: five attempts are spent within a second here, as
    they are within 15 s of an outage with the shipped policy."""
    policy = DeliveryPolicy(first_backoff=0.05, first_pause=0.1, longest_pause=0.4)
    monkeypatch.setattr(DeliveryPolicy, "for_rate", classmethod(lambda cls, paid: policy))
    return policy


@pytest.mark.parametrize("status", [502, None], ids=["bad-gateway", "no-answer"])
async def test_an_outage_pauses_the_broadcast_and_spends_nobodys_attempts(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs, quick_policy: DeliveryPolicy, status: int | None,
        caplog: pytest.LogCaptureFixture) -> None:
    people = subscribers(150)
    await prepare(settings.database, metep, people)
    users = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator = emulator.user(MODERATOR, language_code="en")
    outage = 2.0  # seconds: every delivery's five attempts would be spent twice over
    caplog.set_level(logging.INFO, "bot.broadcasting")

    def delivered() -> int:
        return sum(len(user.messages) for user in users)

    async with bot_running(emulator, settings, metep, catalogs):
        await start_broadcast(moderator, expected_recipients=150)
        await emulator.wait_until(lambda: delivered() >= 30, 10, lambda: f"{delivered()} delivered")
        sends = emulator.stats.requests_per_method["sendMessage"]
        emulator.fail(status=status)  # every method: Telegram's front end says 502, or nothing
        await asyncio.sleep(outage)
        emulator.heal()
        failed = emulator.stats.requests_per_method["sendMessage"] - sends
        report = await finished_report(moderator, timeout=30)

    assert all(len(user.messages) == 1 for user in users), "someone got it twice, or not at all"
    assert "Sent: 150" in report and "Failed: 0" in report
    # No attempt counted but the one whose failure opened the breaker, and perhaps a probe that
    # failed just as the outage ended, getMe being answered (see bot/broadcasting.py).
    counted = query_file(settings.database, "SELECT attempts FROM deliveries WHERE attempts > 0")
    assert counted in ([(1,)], [(1,), (1,)])
    # Paused, not hammering: the sends in flight when it began, then one probe per pause
    # (0.1, 0.2, 0.4, 0.4... s), not an attempt of every waiting delivery as the limiter allows.
    probes, waited, pause = 0, 0.0, quick_policy.first_pause
    while waited < outage:
        probes, waited, pause = probes + 1, waited + pause, min(2 * pause, quick_policy.longest_pause)
    assert 0 < failed <= quick_policy.concurrency + probes
    assert any("Telegram out of reach" in r.getMessage() for r in caplog.records)
    assert any("Telegram answers again" in r.getMessage() for r in caplog.records)
    assert refusals_other_than(emulator, {429, 502}) == []
    print(f"\n{failed} sends failed in a {outage:g} s outage ({status or 'no answer'}), "
          f"{probes} probes fit in it")


async def test_a_consultation_being_announced_cannot_be_sent_again(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    # Two moderators (or one, twice) would otherwise send every subscriber the same announcement.
    people = subscribers(300)
    await prepare(settings.database, metep, people)
    users = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator = emulator.user(MODERATOR, language_code="en")
    other = emulator.user(OTHER_MODERATOR, language_code="en")
    two = replace(settings, moderators=frozenset({MODERATOR, OTHER_MODERATOR}))
    refused = ("Another broadcast of this consultation is being sent right now; wait until it "
               "ends, so that nobody gets it twice.")

    async with bot_running(emulator, two, metep, catalogs):
        await start_broadcast(moderator, expected_recipients=300)
        await other.send("/broadcast", timeout=30)
        await other.click(TEXTS["en"].title)
        assert "This consultation is being announced right now (since " in other.last_message.text
        await moderator.send("/broadcast", timeout=30)  # the same moderator, again
        await moderator.click(TEXTS["en"].title)

        # The first broadcast is certainly still sending while both tap Send.
        emulator.hold("sendMessage")
        assert (await delivery_counts(settings.database)).left > 0
        for tapping in (other, moderator):
            await tapping.click("Send")
            answer = tapping.callback_answers[-1]
            assert (answer.text, answer.show_alert) == (refused, True)
        emulator.release()

        report = await finished_report(moderator)
        for tapping in (other, moderator):
            await tapping.click("Cancel")  # the refused drafts are still drafts

        # Afterwards the preview says when it went out, and to how many.
        await other.send("/broadcast")
        await other.click(TEXTS["en"].title)
        preview = other.last_message.text
        assert "Last announced " in preview and ": sent to 300 of 300 subscribers." in preview
        assert "being announced right now" not in preview
        await other.click("Cancel")

    assert "Sent: 300" in report
    assert all(len(user.messages) == 1 for user in users), "someone got it twice"
    assert await delivery_counts(settings.database, 1) == DeliveryCounts(sent=300)
    for draft in (2, 3, 4):
        assert await delivery_counts(settings.database, draft) == DeliveryCounts()
    assert refusals_other_than(emulator, {429}) == []


async def test_the_preview_names_the_languages_without_a_translation_and_can_stop(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    people = {**subscribers(3), 2001: "sw", 2002: "sw", 2003: "ru"}
    await prepare(settings.database, metep, people)
    users = {user_id: emulator.user(user_id, language_code=locale)
             for user_id, locale in people.items()}
    moderator = emulator.user(MODERATOR, language_code="en")

    async with bot_running(emulator, settings, metep, catalogs):
        await moderator.send("/broadcast")
        await moderator.click(TEXTS["en"].title)
        preview = moderator.last_message.text
        assert ("No translation for: Kiswahili (2), Русский (1). They would get the English "
                "text. Add one with /translate 1 LANGUAGE Title | Description, or send "
                "anyway.") in preview
        assert moderator.buttons[:2] == ["Send anyway", "Don't send"]
        await moderator.click("Don't send")
        assert moderator.last_message.text == "Broadcast cancelled; nothing was sent."
    assert all(user.messages == [] for user in users.values())


async def test_a_reminder_reaches_only_those_who_have_not_finished(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    finished, halfway, new = 1000, 1001, 1002
    consultation = await prepare(settings.database, metep,
                                 {finished: "en", halfway: "en", new: "en"})
    db = await Database.open(settings.database)
    try:
        done = await db.sessions.start(finished, consultation, "citizen", None)
        await db.sessions.move(done.id, None, finished=True)
        await db.sessions.start(halfway, consultation, "citizen", "framework.info_law")
    finally:
        await db.close()
    users = {user_id: emulator.user(user_id, language_code="en")
             for user_id in (finished, halfway, new)}
    moderator = emulator.user(MODERATOR, language_code="en")

    async with bot_running(emulator, settings, metep, catalogs):
        # The first announcement reaches everyone; the one who finished is thanked, not asked.
        preview = await start_broadcast(moderator, expected_recipients=3)
        assert "To: every subscriber" in preview
        await finished_report(moderator)
        thanked = users[finished].last_message
        assert "You have answered this consultation already: thank you." in thanked.text
        assert "Your views are wanted" not in thanked.text and not thanked.buttons
        assert all("Your views are wanted" in users[u].last_message.text for u in (halfway, new))

        # Announced already: the next one is a reminder by default.
        await moderator.send("/broadcast")
        await moderator.click(TEXTS["en"].title)
        preview = moderator.last_message.text
        assert "To: only subscribers who have not finished this consultation (a reminder)." \
            in preview
        assert "It will be sent to 2 subscribers, all in English." in preview
        await moderator.click("Send")
        await emulator.wait_until(
            lambda: sum("Broadcast finished" in m.text for m in moderator.messages) == 2, 20,
            lambda: "the reminder's report never came")
    assert [len(users[u].messages) for u in (finished, halfway, new)] == [1, 2, 2]
