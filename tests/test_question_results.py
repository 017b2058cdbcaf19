"""Per-question results: option shares, the positive share, don't know, follow-ups, withheld groups,
the perception gaps, and the pages and report that show them."""

from __future__ import annotations

import html

import pytest

from bot.i18n import Catalogs
from bot.question_screens import gaps_screen, percent_text, question_page
from bot.screens import TELEGRAM_TEXT_LIMIT
from bot.summary_screens import telegram_length
from conversations.model import Answer, Questionnaire
from conversations.loader import load_questionnaire
from conversations.question_results import OptionCount, choices_of, question_results

LOCALES = ["en", "fr", "es", "ar", "ru", "zh", "sw"]


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load()


def counts(role: str, question_id: str, **options: int) -> list[OptionCount]:
    return [OptionCount(role, question_id, option, n) for option, n in options.items()]


def test_positive_share_leaves_out_dont_know_and_counts_only_the_best_answers(
        mini: Questionnaire) -> None:
    results = question_results(mini, counts("citizen", "second.useful", disagree=2, neutral=2,
                                            agree=4, dont_know=2), min_group=5)

    line = next(line for line in results.lines if line.question.id == "second.useful")
    assert line.citizens.answered == 10
    assert line.citizens.share("agree") == pytest.approx(0.4)
    # Neither agree nor disagree is not positive; "don't know" is not rated at all.
    assert line.citizens_positive == pytest.approx(4 / 8)
    assert line.dont_know(line.citizens) == pytest.approx(0.2)


def test_a_follow_up_counts_only_those_it_was_shown_to(mini: Questionnaire) -> None:
    said_no = {"first.law": Answer("first.law", option_id="no"),
               # An answer left over from before the respondent went back and said no.
               "first.law_used": Answer("first.law_used", option_id="agree"),
               "second.portal": Answer("second.portal", option_id="dont_know")}
    said_yes = {**said_no, "first.law": Answer("first.law", option_id="yes")}

    assert choices_of(mini, said_no) == (("first.law", "no"), ("second.portal", "dont_know"))
    assert ("first.law_used", "agree") in choices_of(mini, said_yes)
    results = question_results(
        mini, counts("citizen", "first.law", yes=6, no=4) + counts("citizen", "first.law_used", agree=6),
        min_group=5)
    follow_up = next(line for line in results.lines if line.question.id == "first.law_used")
    assert follow_up.citizens.answered == 6
    assert follow_up.citizens_positive == 1.0


def test_comments_are_not_questions_with_results(mini: Questionnaire) -> None:
    results = question_results(mini, [], min_group=5)

    assert [line.question.id for line in results.lines] == [
        "first.law", "first.law_used", "second.portal", "second.useful"]


@pytest.mark.parametrize("answered, withheld", [(5, True), (6, False)])
def test_a_group_that_answered_a_question_no_more_than_the_minimum_is_withheld(
        mini: Questionnaire, answered: int, withheld: bool) -> None:
    results = question_results(mini, counts("official", "first.law", yes=answered)
                               + counts("citizen", "first.law", no=10), min_group=5)

    line = results.lines[0]
    assert line.officials.withheld is withheld
    assert (line.officials_positive is None) is withheld
    assert (line.gap is None) is withheld
    assert line.citizens.visible


def test_gaps_are_officials_minus_citizens_and_the_largest_either_way_come_first(
        mini: Questionnaire) -> None:
    tallies = (counts("citizen", "first.law", yes=2, no=8) + counts("official", "first.law", yes=9, no=1)
               + counts("citizen", "second.portal", yes=9, no=1)
               + counts("official", "second.portal", yes=1, no=9)
               + counts("citizen", "second.useful", agree=5, disagree=5)
               + counts("official", "second.useful", agree=6, disagree=4))

    results = question_results(mini, tallies, min_group=5)

    assert [(line.question.id, line.gap) for line in results.largest_gaps()] == [
        ("second.portal", -80), ("first.law", 70), ("second.useful", 10)]
    assert [line.question.id for line in results.lowest_for_citizens()] == [
        "first.law", "second.useful", "second.portal"]


def test_percentages_are_formatted_the_locales_way(catalogs: Catalogs) -> None:
    assert percent_text(catalogs.translator("en"), 0.444) == "44%"
    assert percent_text(catalogs.translator("fr"), 0.445) == "45\xa0%"
    assert percent_text(catalogs.translator("ar"), 0.5).startswith("\u2068")  # isolated in RTL


@pytest.fixture(scope="module")
def metep() -> Questionnaire:
    return load_questionnaire()


def full_results(metep: Questionnaire, answered: int):  # noqa: ANN201
    """Every option of every question chosen by many: the longest numbers a page can show."""
    tallies = []
    for question in metep.questions:
        if question.scale is None:
            continue
        for role in ("citizen", "official"):
            tallies += [OptionCount(role, question.id, o.id, answered) for o in question.scale.options]
    return question_results(metep, tallies, min_group=5)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_pillar_page_and_the_gaps_fit_in_one_telegram_message(
        metep: Questionnaire, catalogs: Catalogs, locale: str) -> None:
    t = catalogs.translator(locale)
    results = full_results(metep, 123_456_789)
    for page in range(len(metep.pillars)):
        screen = question_page(t, metep, "T" * 200, results, page, 7, demo=True)
        assert telegram_length(screen.text) <= TELEGRAM_TEXT_LIMIT, (locale, page)
        assert screen.keyboard is not None
    skewed = question_results(metep, [OptionCount("citizen", q.id, "no", 10)
                                      for q in metep.questions if q.scale is not None]
                              + [OptionCount("official", q.id, "yes", 10)
                                 for q in metep.questions if q.scale is not None], 5)
    screen = gaps_screen(t, metep, 7, skewed)
    assert telegram_length(screen.text) <= TELEGRAM_TEXT_LIMIT


def test_a_page_has_buttons_to_the_neighbouring_pillars_only(
        metep: Questionnaire, catalogs: Catalogs) -> None:
    t = catalogs.translator("en")
    results = full_results(metep, 10)

    first = question_page(t, metep, "Water", results, 0, 7)
    last = question_page(t, metep, "Water", results, len(metep.pillars) - 1, 7)

    assert [b.text for b in first.keyboard.inline_keyboard[0]] == ["E-information ▶"]
    assert [b.callback_data for b in first.keyboard.inline_keyboard[0]] == ["qe|7|1"]
    assert [b.text for b in last.keyboard.inline_keyboard[0]] == ["◀ E-decision-making"]
    assert "Pillar 5 of 5: <b>Inclusion and outreach</b>" in last.text


def test_a_withheld_group_is_marked_on_the_page_never_silently_missing(
        metep: Questionnaire, catalogs: Catalogs) -> None:
    t = catalogs.translator("en")
    results = question_results(metep, [OptionCount("citizen", "framework.info_law", "yes", 10),
                                       OptionCount("official", "framework.info_law", "yes", 3)], 5)

    text = html.unescape(question_page(t, metep, "Water", results, 0, 7).text)

    assert "Citizens (10 answered): Yes 100% · No 0% · Don't know 0%; positive: 100%" in text
    assert "Officials: fewer than 6 respondents" in text
    assert "Officials: no answers yet" in text  # another question nobody answered
