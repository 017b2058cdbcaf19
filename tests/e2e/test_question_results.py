"""Officials read every question's results, page by page, and take the report away as a file."""

from __future__ import annotations

import html
from dataclasses import replace

import pytest

from bot.config import Settings
from bot.i18n import Catalogs
from bot.screens import Texts
from conversations.model import QuestionKind, Questionnaire
from emulator import BotApiEmulator

from .test_summaries import MODERATOR, citizens, officials


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Groups of three are shown, so a handful make a summary."""
    return replace(settings, moderators=frozenset({MODERATOR}), min_group=2)


async def test_an_official_pages_through_every_pillar_question_by_question(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002, 7_100_003)
    official, _, _ = await officials(bot, metep, catalogs, 7_200_001, 7_200_002, 7_200_003)
    t = catalogs.translator("en")
    texts = Texts(metep, t)

    await official.send("/summary")
    gaps = await official.wait_for(lambda m: "Where officials and citizens differ most" in m.text)
    assert "Officials answer positively 100 points more often than citizens." in gaps.text
    assert "What citizens rate lowest" in gaps.text

    await official.click("By question")
    page = official.last_message
    seen = []
    for number, pillar in enumerate(metep.pillars, start=1):
        text = html.unescape(page.text)
        seen.append(text)
        assert f"Pillar {number} of {len(metep.pillars)}: {texts.pillar(pillar)}" in text
        for question in pillar.questions:
            if question.kind is QuestionKind.CHOICE and question.show_if is None:
                assert texts.question(question) in text
        assert "Citizens (3 answered):" in text and "Officials (3 answered):" in text
        if number < len(metep.pillars):
            await official.click(texts.pillar(metep.pillars[number]) + " ▶")
            edited = official.message(page.message_id)
            assert edited is not None and official.last_message.message_id == page.message_id
            page = edited
    # Citizens said "no", so the follow-ups were shown to officials only.
    assert "Citizens: no answers yet\nOfficials (3 answered)" in seen[0]
    await official.click("◀ " + texts.pillar(metep.pillars[-2]))
    assert "Pillar 4 of 5" in official.message(page.message_id).text


async def test_report_sends_one_html_document(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002, 7_100_003)
    official, _, _ = await officials(bot, metep, catalogs, 7_200_001, 7_200_002, 7_200_003)

    await official.send("/report")

    sent = official.last_message
    assert sent.document is not None
    assert sent.document_name == "baraza-report-1-e-participation-self-assessment-en.html"
    page = sent.document.decode()
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en" dir="ltr">' in page
    assert "<script" not in page and "http://" not in page.replace('"http://www.w3.org/2000/svg"', "")
    assert "<svg" in page
    assert 'id="comments"' not in page  # comments are for moderators
    assert "The report of consultation #1" in (sent.caption or "")


async def test_a_citizen_gets_no_report_and_a_forged_page_button_does_nothing(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    (citizen,) = await citizens(bot, metep, catalogs, 7_100_001)

    await citizen.send("/report")
    assert citizen.last_message.text == "Sorry, only moderators and invited officials can do that."
    await citizen.click_data("qp|1|0")
    assert citizen.callback_answers[-1].text == "Sorry, only moderators and invited officials can do that."
    await citizen.click_data("rp|1")
    assert all(m.document is None for m in citizen.messages)


async def test_in_arabic_the_report_reads_right_to_left_and_has_the_comments_for_a_moderator(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002, 7_100_003)
    moderator = bot.user(MODERATOR, language_code="ar")

    await moderator.send("/report 1")

    sent = moderator.last_message
    assert sent.document is not None and sent.document_name.endswith("-ar.html")
    page = sent.document.decode()
    assert '<html lang="ar" dir="rtl">' in page
    t = catalogs.translator("ar")
    assert html.escape(Texts(metep, t).question(metep.questions[0])) in page
    assert 'id="comments"' in page
