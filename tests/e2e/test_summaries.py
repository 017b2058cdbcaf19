"""Officials compare their answers with citizens'; moderators export them; small groups stay hidden."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from dataclasses import replace
from pathlib import Path

import pytest

from bot import charts, digests
from bot.application import build_application, running
from bot.config import Settings
from bot.i18n import Catalogs
from conversations.model import Answer, Question, Questionnaire
from emulator import BotApiEmulator
from emulator.user import EmulatedUser
from storage import ConsultationText, Database
from storage.clock import utc_now

from .conftest import BotProcess
from .walk import answer_all, lowest

MODERATOR = 1
PNG = b"\x89PNG\r\n\x1a\n"
GAPS = "Where officials and citizens differ most"  # the message after a summary's text


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The smallest minimum allowed: groups of three are shown, so a handful make a summary."""
    return replace(settings, moderators=frozenset({MODERATOR}), min_group=2)


def worst(question: Question) -> str | None:
    """No, strongly disagree, and Skip for comments."""
    return lowest(question)


def best(question: Question) -> str | None:
    """Yes, strongly agree, and Skip for comments."""
    return "yes" if question.scale else None


def summary_text(user: EmulatedUser) -> str:
    """The newest summary the user received (the perception gaps and the chart follow it)."""
    return next(m.text for m in reversed(user.messages) if m.text and "Summary: " in m.text)


async def take_part(user: EmulatedUser, metep: Questionnaire, catalogs: Catalogs,
                    choose=worst, start: str = "/start") -> None:  # noqa: ANN001
    """Open the bot in English, agree, and answer every question."""
    await user.send(start)
    await user.click("✓ English")
    await user.click("I agree")
    await answer_all(user, metep, catalogs.translator("en"), choose)
    assert "Thank you! Your answers are recorded." in user.last_message.text, user.transcript()


async def invitation(moderator: EmulatedUser) -> str:
    """The token of a fresh invitation link the moderator was given."""
    await moderator.send("/invite Ministry of Finance")
    match = re.search(r"\?start=(\S+)", moderator.last_message.text)
    assert match is not None, moderator.transcript()
    return match[1]


async def officials(bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs,
                    *user_ids: int) -> list[EmulatedUser]:
    """Invited officials who answered everything with the best answer."""
    moderator = bot.user(MODERATOR, first_name="Moderator", language_code="en")
    people = []
    for user_id in user_ids:
        token = await invitation(moderator)
        people.append(bot.user(user_id, first_name=f"Official {user_id}", language_code="en"))
        await take_part(people[-1], metep, catalogs, best, start="/start " + token)
    return people


async def citizens(bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs,
                   *user_ids: int, choose=worst) -> list[EmulatedUser]:  # noqa: ANN001
    """Citizens who answered everything (by default with the worst answer), all at once."""
    people = [bot.user(user_id, first_name=f"Citizen {user_id}", language_code="en")
              for user_id in user_ids]
    await asyncio.gather(*(take_part(p, metep, catalogs, choose) for p in people))
    return people


async def test_an_official_sees_citizens_and_officials_side_by_side_and_a_chart(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002, 7_100_003)
    official, _, _ = await officials(bot, metep, catalogs, 7_200_001, 7_200_002, 7_200_003)

    await official.send("/summary")

    text = summary_text(official)
    assert "Finished: 6 · citizens: 3 · officials: 3" in text
    assert "Enabling framework\nEveryone: 50 (high) · 6 respondents\n" \
           "Citizens: 0 · Officials: 100\n" \
           "Officials rate Enabling framework 100 points higher than citizens." in text
    assert "Overall index\nEveryone: 50 (high) · 6 respondents\n" \
           "Citizens: 0 · Officials: 100\n" \
           "Officials rate the overall index 100 points higher than citizens." in text
    assert "Citizens rate lowest: Enabling framework (0)." in text
    chart = official.last_message
    assert chart.photo is not None and chart.photo.startswith(PNG)
    assert "citizens (blue) and officials (orange)" in (chart.caption or "")


async def test_a_group_of_no_more_than_the_minimum_is_not_broken_out(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    # Two officials with a minimum of two: each knows their own scores, so the officials' mean
    # would tell each of them the other's scores.
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002, 7_100_003)
    officials_ = await officials(bot, metep, catalogs, 7_200_001, 7_200_002)

    for official in officials_:
        await official.send("/summary")

        text = summary_text(official)
        assert "Finished: 5 · citizens: 3 · officials: fewer than 3 respondents" in text
        # Said once, not in every pillar.
        assert text.count("Officials: fewer than 3 respondents") == 1
        assert "Officials: fewer than 3 respondents, so their scores are not shown." in text
        assert "Enabling framework\nEveryone: not shown, since a smaller group could be worked " \
               "out from it\nCitizens: 0\n\n" in text
        pillars = text.split("\n\n", 1)[1]
        assert "100" not in pillars  # the officials' scores cannot be read, nor worked out
        assert "Everyone: not shown, since a smaller group could be worked out from it" in pillars
        assert "A group of fewer than 3 respondents is not shown" in pillars
        assert official.last_message.photo is not None


async def test_citizens_are_refused_summaries_and_exports_politely(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    (citizen,) = await citizens(bot, metep, catalogs, 7_100_001)

    await citizen.send("/summary")
    assert citizen.last_message.text == "Sorry, only moderators and invited officials can do that."
    await citizen.send("/export")
    assert citizen.last_message.text == "Sorry, only moderators can do that."
    await citizen.send("/digest")
    assert citizen.last_message.text == "Sorry, only moderators and invited officials can do that."
    await citizen.click_data("x|1")  # a forged export button
    assert citizen.callback_answers[-1].text == "Sorry, only moderators can do that."


async def test_a_moderator_exports_every_answer_without_any_telegram_id(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002, 7_100_003)
    await officials(bot, metep, catalogs, 7_200_001, 7_200_002, 7_200_003)
    moderator = bot.user(MODERATOR, language_code="en")

    await moderator.send("/export")

    sent = moderator.last_message
    assert sent.document is not None and sent.document_name == "consultation-1-answers.csv"
    assert "Every answer of the 6 respondents who finished consultation #1" in (sent.caption or "")
    content = sent.document.decode("utf-8-sig")
    for person in ("7100001", "7100002", "7100003", "7200001", "7200002", "7200003"):
        assert person not in content
    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) == 3 * 33 + 3 * 37  # "no" hides the follow-ups; "yes" shows them
    assert {r["role"] for r in rows} == {"citizen", "official"}
    assert len({r["respondent"] for r in rows}) == 6
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["answered_at"]) for r in rows)  # the day
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["respondent"]) for r in rows)
    first = rows[0]
    assert (first["pillar"], first["question"], first["option"]) == (
        "framework", "framework.info_law", "no")

    await moderator.send("/export")
    again = moderator.last_message.document
    assert again is not None and again == sent.document  # the same pseudonyms every time

    await moderator.send("/export abc")  # not a number: said so, and nothing is exported
    assert moderator.last_message.text == ("“abc” is not a consultation number: give the number "
                                           "shown in /consultations, such as 3.")
    assert moderator.last_message.document is None


async def test_moderators_read_the_comments_and_officials_do_not(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    def comment(question: Question) -> str | None:
        return "Roads <b>first</b> & schools" if question.id == "inclusion.comment" else worst(question)

    await citizens(bot, metep, catalogs, 7_100_001, choose=comment)
    (official,) = await officials(bot, metep, catalogs, 7_200_001)
    moderator = bot.user(MODERATOR, language_code="en")

    await official.send("/summary")
    assert official.keyboard_message is None or "Comments" not in official.buttons

    await moderator.send("/summary")
    await moderator.click("Comments")

    text = moderator.last_message.text
    assert text.startswith("Comments: ")
    # One citizen: a role label would point at them, so the comment says only where it was made.
    assert "Inclusion and outreach\nRoads <b>first</b> & schools" in text
    assert "· citizen" not in text


async def test_a_respondent_sees_where_they_stand_once_groups_are_big_enough(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    (first,) = await citizens(bot, metep, catalogs, 7_100_001)
    assert "Where you stand" not in first.last_message.text  # one citizen: not shown
    # Two citizens with a minimum of two: the second would read the first's scores off
    # "citizens X" beside "you Y".
    (second,) = await citizens(bot, metep, catalogs, 7_100_002)
    assert "Where you stand" not in second.last_message.text

    (third,) = await citizens(bot, metep, catalogs, 7_100_003, choose=best)

    text = third.last_message.text
    assert "Where you stand (averages of everyone who finished, 0 to 100):" in text
    assert "Enabling framework: you 100 · citizens 33" in text  # 33.3, cut down
    assert "officials" not in text.split("Where you stand")[1].split("\n\n")[0]
    await first.send("/start")  # coming back later shows the comparison too
    assert "Enabling framework: you 0 · citizens 33" in first.last_message.text


async def test_the_digest_is_sent_when_a_moderator_closes_the_consultation(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002, 7_100_003)
    official, other, _ = await officials(bot, metep, catalogs, 7_200_001, 7_200_002, 7_200_003)
    await official.send("/digest")
    assert official.last_message.text.startswith("Digests are now on: you will receive the "
                                                 "summary when a consultation closes")
    assert "The next weekly summary goes out around " in official.last_message.text
    moderator = bot.user(MODERATOR, language_code="en")

    await moderator.send("/consultations")
    await moderator.click("Close #1")
    await moderator.click("Yes, close #1")

    chart = await official.wait_for(lambda m: m.photo is not None)
    assert chart.photo is not None and chart.photo.startswith(PNG)
    digest = summary_text(official)
    assert digest.startswith("Consultation #1 has closed. Here is its final summary.")
    assert "Citizens: 0 · Officials: 100\nOfficials rate Enabling framework 100 points higher " \
           "than citizens." in digest
    await other.settle()
    assert all(m.photo is None for m in other.messages)  # not subscribed


async def test_an_official_chooses_among_consultations_with_answers(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    first, second = await citizens(bot, metep, catalogs, 7_100_001, 7_100_002)
    (official,) = await officials(bot, metep, catalogs, 7_200_001)
    moderator = bot.user(MODERATOR, language_code="en")
    await moderator.send("/newconsultation Water services | How water is managed")
    await moderator.send("/consultations")
    await moderator.click("Open #2")
    for citizen in (first, second):
        await citizen.send("/start")
        await answer_all(citizen, metep, catalogs.translator("en"), best)

    await official.send("/summary")
    assert official.buttons == ["#2 Water services", "#1 E-participation self-assessment"]
    await official.click("#2 Water services")

    text = summary_text(official)
    assert text.startswith("Summary: Water services")
    assert ("Finished: fewer than 3 respondents · citizens: fewer than 3 respondents · "
            "officials: 0") in text
    assert "Citizens: fewer than 3 respondents, so their scores are not shown." in text
    assert "Enabling framework\nEveryone: fewer than 3 respondents\nOfficials: no scores" in text
    await official.settle()
    assert all(m.photo is None for m in official.messages)  # a chart without a bar is not sent


async def test_help_shows_officials_the_summary_commands(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    moderator = bot.user(MODERATOR, language_code="en")
    official = bot.user(7_200_001, language_code="en")
    await official.send("/start " + await invitation(moderator))

    await official.send("/help")
    assert "/summary — Compare citizens' and officials' answers" in official.last_message.text
    assert "/export" not in official.last_message.text
    await moderator.send("/help")
    assert "/export — Every answer of a consultation as a CSV file" in moderator.last_message.text


async def test_summaries_and_digests_go_out_as_text_when_the_chart_cannot_be_drawn(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> bytes:
        raise ValueError("matplotlib could not draw it")

    monkeypatch.setattr(charts, "render", broken)
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002, 7_100_003)
    subscribers = await officials(bot, metep, catalogs, 7_200_001, 7_200_002)
    for official in subscribers:
        await official.send("/digest")

    await subscribers[0].send("/summary")
    assert summary_text(subscribers[0]).startswith("Summary: ")  # the text, without the chart
    assert subscribers[0].last_message.text.startswith("Where officials and citizens differ most")
    assert all(m.photo is None for m in subscribers[0].messages)

    moderator = bot.user(MODERATOR, language_code="en")
    await moderator.send("/consultations")
    await moderator.click("Close #1")
    await moderator.click("Yes, close #1")
    for official in subscribers:  # one chart failing stops the digest for nobody
        digest = await official.wait_for(lambda m: "has closed" in m.text)
        assert digest.text.startswith("Consultation #1 has closed. Here is its final summary.")
        await official.settle()
        assert all(m.photo is None for m in official.messages)


async def test_older_consultations_are_reached_by_their_number(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    await citizens(bot, metep, catalogs, 7_100_001)
    (official,) = await officials(bot, metep, catalogs, 7_200_001)

    await official.send("/summary 1")
    assert summary_text(official).startswith("Summary: E-participation self-assessment")
    await official.send("/summary 9")
    assert official.last_message.text == ("Consultation #9 does not exist or nobody has finished "
                                          "it yet.")


OFFICIAL = 7_200_001


async def prepare_closing(database: Path, metep: Questionnaire, *,
                          closes_at: datetime | None = None,
                          clock: datetime | None = None) -> None:
    """Before the bot starts: consultation #1 open, a citizen who finished it, and an official
    who subscribed to digests."""
    db = await Database.open(database, clock=(lambda: clock) if clock else utc_now)
    try:
        made = await db.consultations.create(
            metep.id, metep.version, {"en": ConsultationText("Water services", "")},
            created_by=MODERATOR, status="open")
        await db.consultations.set_schedule(made.id, None, closes_at)
        for user_id in (7_100_001, OFFICIAL):
            await db.respondents.ensure(user_id, chat_id=user_id)
            await db.respondents.set_locale(user_id, "en")
            await db.respondents.record_consent(user_id)
        await db.roles.grant(OFFICIAL, "official", "Ministry of Water", MODERATOR)
        await db.digests.toggle(OFFICIAL)
        session = await db.sessions.start(7_100_001, made.id, "citizen", cursor=None)
        await db.sessions.save_answer(
            session.id, Answer("framework.info_law", option_id="yes"), metep.version)
        await db.sessions.move(session.id, None, finished=True)
    finally:
        await db.close()


async def digest_state(database: Path) -> tuple[bool, list[int]]:
    """The first digest as the database records it: whether it is still due, and who had it."""
    db = await Database.open(database)
    try:
        return 1 in {d.id for d in await db.digests.due()}, await db.digests.sent_to(1)
    finally:
        await db.close()


@asynccontextmanager
async def bot_running(emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
                      catalogs: Catalogs) -> AsyncIterator[None]:
    application = build_application(settings, metep, catalogs,
                                     update_processor=emulator.processor)  # type: ignore[attr-defined]
    async with running(application, poll_timeout=1):
        yield
    assert emulator.errors == []


async def test_a_consultation_closed_during_start_up_sends_its_final_digest_once_running(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    await prepare_closing(settings.database, metep,
                          closes_at=datetime.now(UTC) - timedelta(hours=1))
    official = emulator.user(OFFICIAL, language_code="en")

    async with bot_running(emulator, settings, metep, catalogs):
        digest = await official.wait_for(lambda m: "has closed" in m.text)
        await official.wait_for(lambda m: GAPS in m.text)  # one citizen: no chart to send

    assert digest.text.startswith("Consultation #1 has closed. Here is its final summary.")
    assert await digest_state(settings.database) == (False, [OFFICIAL])

    async with bot_running(emulator, settings, metep, catalogs):  # a restart sends it no more
        await official.settle()
    assert sum("has closed" in m.text for m in official.messages) == 1


async def test_a_weekly_digest_claimed_but_not_sent_before_a_crash_is_sent_after_it(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    now = datetime.now(UTC)
    await prepare_closing(settings.database, metep, clock=now - timedelta(days=8))
    for moment in (now - timedelta(days=8), now):  # the first week begins; a week later, claimed
        db = await Database.open(settings.database, clock=lambda moment=moment: moment)
        try:
            await db.digests.claim_weekly(1, digests.WEEK)
        finally:
            await db.close()
    # ... and the bot died before sending it.
    official = emulator.user(OFFICIAL, language_code="en")

    async with bot_running(emulator, settings, metep, catalogs):
        digest = await official.wait_for(lambda m: "weekly digest" in m.text)
        await official.wait_for(lambda m: GAPS in m.text)

    assert digest.text.startswith("Your weekly digest of consultation #1:")
    assert await digest_state(settings.database) == (False, [OFFICIAL])


async def polled(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for what a bot in another process makes true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.05)



async def test_the_final_digest_survives_a_crash_right_after_the_close(
        outside_emulator: BotApiEmulator, tmp_path: Path, metep: Questionnaire) -> None:
    emulator, database = outside_emulator, tmp_path / "baraza.db"
    await prepare_closing(database, metep)
    official = emulator.user(OFFICIAL, language_code="en")
    moderator = emulator.user(MODERATOR, language_code="en")
    bot = BotProcess(emulator, database)
    bot.env["BARAZA_MODERATORS"] = str(MODERATOR)

    await bot.start()
    try:
        await moderator.send("/consultations", timeout=30)
        # The network stalls as the close is committed: the digest's first message hangs, and
        # the bot is killed with the consultation closed and nothing sent.
        emulator.hold("sendMessage")
        await moderator.click("Close #1")
        await moderator.click("Yes, close #1", settle=False)
        await polled(lambda: emulator.held_requests > 0)
        await bot.kill()
        assert await digest_state(database) == (True, [])  # due, sent to nobody
        await polled(lambda: emulator.held_requests == 0)  # dropped with their client
        emulator.release()
        assert official.messages == []

        await bot.start()
        digest = await official.wait_for(lambda m: "has closed" in m.text, timeout=30)
        await official.wait_for(lambda m: GAPS in m.text, timeout=30)
    finally:
        await bot.stop()

    assert digest.text.startswith("Consultation #1 has closed. Here is its final summary.")
    assert sum("has closed" in m.text for m in official.messages) == 1
    assert await digest_state(database) == (False, [OFFICIAL])
    assert emulator.errors == []
