"""The report's HTML: every outside value escaped, a safe file name, withheld groups marked."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.i18n import Catalogs
from bot.report import ReportData, filename, render
from conversations.loader import load_questionnaire
from conversations.question_results import OptionCount, question_results
from conversations.summaries import OVERALL, Tally, summarise
from storage import Comment, Consultation, ConsultationText

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def consultation(title: str) -> Consultation:
    return Consultation(7, "metep", 1, "closed", datetime(2026, 1, 1, tzinfo=UTC), None,
                        {"en": ConsultationText(title, HOSTILE)})


def data(title: str, officials: int, labelled: frozenset[str] = frozenset({"citizen"})) -> ReportData:
    questionnaire = load_questionnaire()
    tallies = [Tally("citizen", p.id, 10, 10, 400.0) for p in questionnaire.pillars]
    tallies += [Tally("citizen", OVERALL, 10, 10, 400.0)]
    tallies += [Tally("official", OVERALL, officials, officials, 80.0 * officials)]
    counts = [OptionCount("citizen", "framework.info_law", "yes", 10),
              OptionCount("official", "framework.info_law", "yes", officials)]
    return ReportData(consultation(title), summarise(questionnaire, tallies, 5),
                      question_results(questionnaire, counts, 5),
                      [Comment("framework.comment", "citizen", HOSTILE)], labelled, False,
                      datetime(2026, 2, 1, tzinfo=UTC))


def test_titles_descriptions_and_comments_are_escaped() -> None:
    t = Catalogs.load().translator("en")
    page = render(t, load_questionnaire(), data(HOSTILE, officials=10))

    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("<blockquote>") == 1


def test_the_file_name_holds_the_number_a_plain_title_and_the_language() -> None:
    catalogs = Catalogs.load()

    assert filename(catalogs.translator("fr"), consultation("../../Budget 2027: l'État!")) == \
        "baraza-report-7-budget-2027-l-etat-fr.html"
    assert filename(catalogs.translator("zh"), consultation("预算")) == "baraza-report-7-zh.html"


def test_a_withheld_group_is_marked_in_the_report() -> None:
    t = Catalogs.load().translator("en")
    page = render(t, load_questionnaire(), data("Water", officials=3))

    assert "Officials: fewer than 6 respondents, so their scores are not shown." in page
    assert '<span class="withheld">fewer than 6 respondents</span>' in page
    assert 'id="comments"' in page  # given comments: a moderator's report


def test_a_comment_names_its_authors_role_only_for_a_group_larger_than_the_minimum() -> None:
    t = Catalogs.load().translator("en")
    labelled = render(t, load_questionnaire(), data("T", officials=10))
    unlabelled = render(t, load_questionnaire(), data("T", officials=10, labelled=frozenset()))

    assert "Enabling framework · citizen" in labelled
    assert "· citizen" not in unlabelled and "Enabling framework" in unlabelled
