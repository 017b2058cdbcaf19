"""Replies never wait: conversation ahead of broadcasts, floods kept to the flooder, 429s kept to
what they apply to (bot/traffic.py, bot/ordering.py). The emulator enforces Telegram's limits:
bulk messages to chats that have not written recently, and a per-chat rate with a small burst.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.application import build_application
from bot.config import Settings, WebhookSettings
from bot.i18n import Catalogs
from bot.webhook import serving
from conversations.model import Questionnaire
from emulator import ApiCall, BotApiEmulator, EmulatedUser, RateLimit, Refusal
from storage import DeliveryCounts
from tests.storage.on_disk import query_file

from .conftest import TOKEN, probed_emulator
from .test_broadcasts import (
    MODERATOR,
    TELEGRAMS_LIMIT,
    bot_running,
    delivery_counts,
    finished_report,
    prepare,
    refusals_other_than,
    start_broadcast,
    subscribers,
)
from .test_webhooks import free_port
from .walk import answer_all, label, shown_question

RESPONDENT = 7
TELEGRAM = RateLimit(per_second=TELEGRAMS_LIMIT, per_chat_per_second=1, per_chat_burst=3)
SENDS = ("sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto")


@pytest.fixture
def limit() -> RateLimit:
    """Telegram's limits: 30 bulk messages a second, one a second per chat (bursts of 3)."""
    return TELEGRAM


@pytest.fixture
async def emulator(limit: RateLimit) -> AsyncIterator[BotApiEmulator]:
    async with probed_emulator(limit) as emu:
        yield emu


@pytest.fixture
def settings(emulator: BotApiEmulator, tmp_path: Path) -> Settings:
    """The bot as shipped: Telegram's rates."""
    return Settings(token=TOKEN, api_url=emulator.api_root, database=tmp_path / "baraza.db",
                    moderators=frozenset({MODERATOR}))


def ok_sends(calls: list[ApiCall], chats: set[int] | None = None) -> list[int]:
    """Indexes of the accepted sends and edits (to ``chats``, if given)."""
    return [i for i, c in enumerate(calls)
            if c.ok and c.method in SENDS and (chats is None or c.chat_id in chats)]


def sending(database: Path) -> set[int]:
    """Deliveries taken by the sender, not yet answered: waiting for their turn, or on the wire."""
    return {row[0] for row in query_file(  # type: ignore[misc]
        database, "SELECT user_id FROM deliveries WHERE status = 'sending'")}


async def begin(user: EmulatedUser, catalogs: Catalogs) -> None:
    """/start, English, I agree: the first question is shown."""
    await user.send("/start")
    await user.click("✓ " + catalogs.autonym("en"))
    await user.click(catalogs.translator("en")._("I agree"))


async def test_a_respondents_replies_overtake_the_broadcast_sends_queued_before_them(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    people = subscribers(300)
    await prepare(settings.database, metep, people)
    users = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator = emulator.user(MODERATOR, language_code="en")
    respondent = emulator.user(RESPONDENT, language_code="en")
    t = catalogs.translator("en")

    def delivered() -> int:
        return sum(len(user.messages) for user in users)

    async with bot_running(emulator, settings, metep, catalogs):
        await start_broadcast(moderator, expected_recipients=300)
        await emulator.wait_until(lambda: delivered() >= 30, 10, lambda: f"{delivered()} delivered")
        ahead_total, overtaken_by = 0, 0
        for act in range(4):  # at a person's pace: a second or so between taps
            await asyncio.sleep(1.1)
            ahead = sending(settings.database)  # announcements already queued when they tap
            before = len(emulator.calls)
            if act == 0:
                await respondent.send("/start")
            elif act == 1:
                await respondent.click("✓ " + catalogs.autonym("en"))
            elif act == 2:
                await respondent.click(t._("I agree"))
            else:
                question = shown_question(metep, t, respondent.last_message.text)
                assert question is not None
                await respondent.click(label(metep, t, question, "yes"))
            calls = list(emulator.calls)[before:]
            reply = ok_sends(calls, {RESPONDENT})[0]
            ahead_total += len(ahead)
            overtaken_by += len(ok_sends(calls[:reply], ahead))
        assert delivered() < 300, "the broadcast was over before the respondent was done"
        report = await finished_report(moderator)

    # With one queue for everything, every announcement queued before a reply went first; here
    # only those already on the wire may.
    assert ahead_total >= 4 * 10, "too few announcements were waiting to tell anything"
    assert overtaken_by * 4 <= ahead_total, f"{overtaken_by} of {ahead_total} went first"
    print(f"\n{overtaken_by} of the {ahead_total} announcements queued before 4 replies went first")
    question = shown_question(metep, t, respondent.last_message.text)
    assert question is not None and question != metep.questions[0]
    assert all(len(user.messages) == 1 for user in users)
    assert "Sent: 300" in report and "Failed: 0" in report
    assert refusals_other_than(emulator, {429}) == []


async def test_a_429_in_one_chat_delays_that_chat_only(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    t = catalogs.translator("en")
    amina, omar = emulator.user(100, language_code="en"), emulator.user(200, language_code="en")
    async with bot_running(emulator, settings, metep, catalogs):
        await begin(amina, catalogs)
        await begin(omar, catalogs)
        await asyncio.sleep(3)  # as a person reads the question; their chats' bursts refill
        yes = label(metep, t, metep.questions[0], "yes")
        emulator.throttle(amina.id, 2)
        tapped = await amina.click(yes, settle=False)
        await emulator.wait_until(lambda: emulator.refused_by_limit[Refusal.CHAT] > 0, 5,
                                  lambda: "Amina's chat was never refused")
        await omar.click(yes)
        omar_answered = len(emulator.calls)
        await emulator.settle_chat(amina.id, tapped["update_id"])

    calls = list(emulator.calls)
    refused = [i for i, c in enumerate(calls) if not c.ok and c.chat_id == amina.id]
    amina_answered = [i for i in ok_sends(calls, {amina.id}) if i > refused[0]]
    assert refused and amina_answered and amina_answered[0] >= omar_answered, \
        "Omar's answer waited for Amina's chat, or Amina's was never retried"
    for user in (amina, omar):  # each answer applied, and the next question shown
        shown = shown_question(metep, t, user.last_message.text)
        assert shown is not None and shown != metep.questions[0]
    assert {e.code for e in emulator.errors} == {429}
    assert {e.params["chat_id"] for e in emulator.errors} == {amina.id}


async def test_a_bulk_429_pauses_the_broadcast_but_no_reply(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs, caplog: pytest.LogCaptureFixture) -> None:
    people = subscribers(120)
    await prepare(settings.database, metep, people)
    users = [emulator.user(user_id, language_code=locale) for user_id, locale in people.items()]
    moderator = emulator.user(MODERATOR, language_code="en")
    respondent = emulator.user(RESPONDENT, language_code="en")
    t = catalogs.translator("en")

    def delivered() -> int:
        return sum(len(user.messages) for user in users)

    async with bot_running(emulator, settings, metep, catalogs):
        await start_broadcast(moderator, expected_recipients=120)
        await begin(respondent, catalogs)  # after Send, so not among the recipients
        await emulator.wait_until(lambda: delivered() >= 30, 10, lambda: f"{delivered()} delivered")
        emulator.throttle(None, 2)  # flood control on bulk messages, as Telegram's 429
        await emulator.wait_until(lambda: emulator.refused_by_limit[Refusal.BULK] > 0, 5,
                                  lambda: "no bulk send was refused")
        first_refusal = len(emulator.calls)
        await respondent.click(label(metep, t, metep.questions[0], "yes"))
        answered = len(emulator.calls)
        report = await finished_report(moderator)

    calls = list(emulator.calls)
    bulk = set(people)
    resumed = [i for i in ok_sends(calls, bulk) if i >= first_refusal]
    assert resumed and resumed[0] >= answered, "a broadcast send went out during the pause"
    shown = shown_question(metep, t, respondent.last_message.text)
    assert shown is not None and shown != metep.questions[0]
    assert all(len(user.messages) == 1 for user in users), "a refused send was lost or repeated"
    assert "Sent: 120" in report and "Failed: 0" in report
    assert await delivery_counts(settings.database) == DeliveryCounts(sent=120)
    assert {e.params["chat_id"] for e in emulator.errors} <= bulk
    assert any("bulk sends pause" in r.getMessage() for r in caplog.records)


# The bot paces no chat here (below), so that the flooder's handled messages do not take a second
# each; the emulator then must not either, as it would refuse the others' quick walks too.
@pytest.mark.parametrize("limit", [RateLimit(per_second=TELEGRAMS_LIMIT)], ids=["bulk-limit"])
async def test_a_flooding_account_is_cut_short_and_told_once_while_others_are_answered(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "bot.ordering")
    t = catalogs.translator("en")
    fast = replace(settings, chat_messages_per_second=1000)
    others = [emulator.user(300 + i, language_code="en") for i in range(5)]
    flooder = emulator.user(666, language_code="en")
    flood = 60
    notice = t._("You are writing faster than I can answer, so I have skipped some of your "
                 "latest messages. Please wait for my replies, then go on.")

    async def answer_three(user: EmulatedUser) -> None:
        await begin(user, catalogs)
        await answer_all(user, metep, t, stop_after=3)

    async with bot_running(emulator, fast, metep, catalogs):
        for i in range(flood):  # a script: all at once, before the bot can answer any
            await flooder.send(f"spam {i}", settle=False)
        await asyncio.gather(*(answer_three(user) for user in others))
        await emulator.settle(timeout=30)

    texts = [m.text for m in flooder.messages]
    assert texts.count(notice) == 1
    answered = len(texts) - 1  # one reply to each message that was handled
    assert 20 <= answered < flood
    dropped = [r for r in caplog.records if "dropping more" in r.getMessage()]
    assert len(dropped) == 1
    for user in others:
        assert shown_question(metep, t, user.last_message.text) is not None
        rows = query_file(settings.database,
                          "SELECT count(*) FROM answers JOIN sessions ON sessions.id = session_id "
                          "WHERE user_id = ?", (user.id,))
        assert rows == [(3,)]
    assert emulator.errors == []
    assert emulator.unanswered_callback_queries() == []


@pytest.mark.parametrize("limit", [RateLimit(per_second=TELEGRAMS_LIMIT, per_chat_per_second=5,
                                             per_chat_burst=3)], ids=["5-per-chat"])
async def test_over_the_webhook_a_script_in_one_chat_is_paced_as_when_polling(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    # Telegram allows this chat 5 messages a second here; the script taps as fast as the bot
    # answers, which unpaced would be many a second. The webhook worker is the same Application,
    # with the same limiter, as the polling bot.
    t = catalogs.translator("en")
    webhook = WebhookSettings("https://bot.example.org/hook", "127.0.0.1", free_port(),
                              "traffic-secret")
    paced = replace(settings, chat_messages_per_second=5, webhook=webhook)
    emulator.webhook_targets = [f"http://127.0.0.1:{webhook.port}"]
    application = build_application(paced, metep, catalogs,
                                    update_processor=emulator.processor)  # type: ignore[attr-defined]
    user = emulator.user(RESPONDENT, language_code="en")
    async with serving(application, webhook):
        await begin(user, catalogs)
        seen = await answer_all(user, metep, t, stop_after=10)

    assert len(seen) == 10
    assert len(ok_sends(list(emulator.calls), {user.id})) >= 12  # the screens, then 10 answers
    assert sum(emulator.refused_by_limit.values()) == 0, "a reply went faster than the chat allows"
    assert {a.status for a in emulator.webhook_attempts} == {200}
    assert emulator.errors == []
    assert emulator.unanswered_callback_queries() == []
