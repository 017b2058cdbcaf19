"""Officials compare their answers with citizens'; moderators export them; small groups stay hidden."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import pytest

from bot.config import Settings
from bot.i18n import Catalogs
from conversations.model import Question, Questionnaire
from emulator import BotApiEmulator
from emulator.user import EmulatedUser

from .conftest import TOKEN
from .walk import answer_all, lowest

MODERATOR = 1
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def settings(emulator: BotApiEmulator, tmp_path: Path) -> Settings:
    """Groups of two are enough to be shown, so a handful of people make a summary."""
    return Settings(token=TOKEN, api_url=emulator.api_root, database=tmp_path / "baraza.db",
                    moderators=frozenset({MODERATOR}), messages_per_second=1000, min_group=2)


def worst(question: Question) -> str | None:
    """No, strongly disagree, and Skip for comments."""
    return lowest(question)


def best(question: Question) -> str | None:
    """Yes, strongly agree, and Skip for comments."""
    return "yes" if question.scale else None


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
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002)
    official, _ = await officials(bot, metep, catalogs, 7_200_001, 7_200_002)

    await official.send("/summary")

    text = official.messages[-2].text
    assert "Finished: 4 · citizens: 2 · officials: 2" in text
    assert "Enabling framework\nEveryone: 50 (high) · 4 respondents\n" \
           "Citizens: 0 · Officials: 100 · gap: +100" in text
    assert "Overall index\nEveryone: 50 (high) · 4 respondents\n" \
           "Citizens: 0 · Officials: 100 · gap: +100" in text
    assert "Citizens rate lowest: Enabling framework (0)." in text
    chart = official.last_message
    assert chart.photo is not None and chart.photo.startswith(PNG)
    assert "citizens (blue) and officials (orange)" in (chart.caption or "")


async def test_a_group_smaller_than_the_minimum_is_not_broken_out(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002)
    (official,) = await officials(bot, metep, catalogs, 7_200_001)

    await official.send("/summary")

    text = official.messages[-2].text
    assert "Finished: 3 · citizens: 2 · officials: fewer than 2 respondents" in text
    assert "Citizens: 0 · Officials: fewer than 2 respondents\n" in text
    pillars = text.split("\n\n", 1)[1]
    assert "100" not in pillars  # the one official's scores cannot be read, nor worked out
    assert "Everyone: not shown, since a smaller group could be worked out from it" in pillars
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
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002)
    (official,) = await officials(bot, metep, catalogs, 7_200_001)
    moderator = bot.user(MODERATOR, language_code="en")

    await moderator.send("/export")

    sent = moderator.last_message
    assert sent.document is not None and sent.document_name == "consultation-1-answers.csv"
    assert "Every answer of the 3 respondents who finished consultation #1" in (sent.caption or "")
    content = sent.document.decode("utf-8-sig")
    for person in ("7100001", "7100002", "7200001"):
        assert person not in content
    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) == 33 + 33 + 37  # "no" hides the follow-ups; "yes" shows them
    assert {r["role"] for r in rows} == {"citizen", "official"}
    assert len({r["respondent"] for r in rows}) == 3
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["respondent"]) for r in rows)
    first = rows[0]
    assert (first["pillar"], first["question"], first["option"]) == (
        "framework", "framework.info_law", "no")

    await moderator.send("/export")
    again = moderator.last_message.document
    assert again is not None and again == sent.document  # the same pseudonyms every time


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
    assert "Inclusion and outreach · citizen\nRoads <b>first</b> & schools" in text


async def test_a_respondent_sees_where_they_stand_once_groups_are_big_enough(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    (first,) = await citizens(bot, metep, catalogs, 7_100_001)
    assert "Where you stand" not in first.last_message.text  # one citizen: not shown

    (second,) = await citizens(bot, metep, catalogs, 7_100_002, choose=best)

    text = second.last_message.text
    assert "Where you stand (averages of everyone who finished, 0 to 100):" in text
    assert "Enabling framework: you 100 · citizens 50" in text
    assert "officials" not in text.split("Where you stand")[1].split("\n\n")[0]
    await first.send("/start")  # coming back later shows the comparison too
    assert "Enabling framework: you 0 · citizens 50" in first.last_message.text


async def test_the_digest_is_sent_when_a_moderator_closes_the_consultation(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002)
    official, other = await officials(bot, metep, catalogs, 7_200_001, 7_200_002)
    await official.send("/digest")
    assert official.last_message.text.startswith("You will receive the summary when a "
                                                 "consultation closes")
    moderator = bot.user(MODERATOR, language_code="en")

    await moderator.send("/consultations")
    await moderator.click("Close #1")

    chart = await official.wait_for(lambda m: m.photo is not None)
    assert chart.photo is not None and chart.photo.startswith(PNG)
    digest = official.messages[-2].text
    assert digest.startswith("Consultation #1 has closed. Here is its final summary.")
    assert "Citizens: 0 · Officials: 100 · gap: +100" in digest
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

    text = official.messages[-2].text
    assert text.startswith("Summary: Water services")
    assert "Finished: 2 · citizens: 2 · officials: 0" in text
    assert "Citizens: 100 · Officials: no scores" in text
    assert official.last_message.photo is not None


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
