"""Summaries for officials: the rule, the privacy of small groups, the text, chart and export."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import AsyncIterator

import pytest

from bot.exports import COLUMNS, export, pseudonym
from bot.i18n import Catalogs, Translator
from bot.screens import TELEGRAM_TEXT_LIMIT
from bot.summaries import SummaryService
from bot.summary_screens import (
    TELEGRAM_CAPTION_LIMIT,
    chart_caption,
    chart_png,
    comment_pages,
    comparison,
    summary_screen,
)
from bot.turns import Turns
from conversations.flow import Flow
from conversations.loader import load_questionnaire
from conversations.model import Answer, Questionnaire
from conversations.roles import Role
from conversations.scoring import Band, score_answers
from conversations.summaries import OVERALL, Summary, Tally, summarise, tallies_of
from storage import Comment, Consultation, ConsultationText, Database, ExportedAnswer

LOCALES = ["en", "fr", "es", "ar", "ru", "zh", "sw"]


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load()


@pytest.fixture(scope="module")
def metep() -> Questionnaire:
    return load_questionnaire()


@pytest.fixture
def en(catalogs: Catalogs) -> Translator:
    return catalogs.translator("en")


def group(role: str, n: int, first: float | None, second: float | None) -> list[Tally]:
    """Totals of ``n`` respondents of ``role`` who all scored the same."""
    scored = [s for s in (first, second) if s is not None]
    overall = sum(scored) / len(scored) if scored else None
    return [Tally(role, pillar, n, n if score is not None else 0, n * (score or 0))
            for pillar, score in (("first", first), ("second", second), (OVERALL, overall))]


def consultation(title: str = "Open budgets") -> Consultation:
    return Consultation(3, "mini", 2, "open", None, None, {"en": ConsultationText(title, "")})


def test_each_group_is_the_mean_of_its_respondents_and_the_gap_is_officials_minus_citizens(
        mini: Questionnaire) -> None:
    tallies = (group("citizen", 4, 20, 60) + group("citizen", 2, 50, None)
               + group("official", 5, 80, 90))

    summary = summarise(mini, tallies, min_group=5)

    first, second = summary.pillars
    assert first.citizens.mean == pytest.approx((4 * 20 + 2 * 50) / 6)
    # Only four citizens have a score in the second pillar: too few to show.
    assert (second.citizens.respondents, second.citizens.withheld) == (4, True)
    assert first.officials.mean == 80
    assert first.gap == pytest.approx(80 - 30)
    assert first.everyone.mean == pytest.approx((80 + 100 + 400) / 11)
    assert first.everyone.band is Band.HIGH
    # The overall index is the mean of each respondent's own overall index.
    assert summary.overall.citizens.mean == pytest.approx((4 * 40 + 2 * 50) / 6)
    assert (summary.citizens.finished, summary.officials.finished) == (6, 5)


def test_citizens_lowest_pillar_is_named(mini: Questionnaire) -> None:
    summary = summarise(mini, group("citizen", 5, 70, 30), min_group=5)

    assert summary.lowest_for_citizens is not None
    assert summary.lowest_for_citizens.pillar_id == "second"


def test_a_group_below_the_minimum_is_withheld_and_so_is_everyone_if_it_could_be_worked_out(
        mini: Questionnaire) -> None:
    summary = summarise(mini, group("citizen", 5, 40, 40) + group("official", 2, 90, 90),
                        min_group=5)

    line = summary.pillars[0]
    assert (line.officials.mean, line.officials.withheld) == (None, True)
    assert line.gap is None
    # Everyone minus the five citizens would be the two officials: not shown either.
    assert (line.everyone.mean, line.everyone.withheld) == (None, True)
    assert summary.officials.withheld and not summary.citizens.withheld


def test_everyone_is_shown_when_what_is_left_after_the_shown_groups_is_big_enough(
        mini: Questionnaire) -> None:
    tallies = (group("citizen", 5, 40, 40) + group("official", 1, 100, 100)
               + group("moderator", 4, 0, 0))

    line = summarise(mini, tallies, min_group=5).pillars[0]

    assert line.officials.withheld
    assert line.everyone.mean == pytest.approx((5 * 40 + 100 + 4 * 0) / 10)


def test_moderators_count_only_in_everyone(mini: Questionnaire) -> None:
    summary = summarise(mini, group("citizen", 5, 40, 40) + group("moderator", 5, 100, 100),
                        min_group=5)

    line = summary.pillars[0]
    assert (line.citizens.mean, line.officials.mean, line.everyone.mean) == (40, None, 70)
    assert (summary.officials.finished, summary.everyone.finished) == (0, 10)


def test_a_respondents_contribution_covers_every_pillar_and_the_overall_index(
        mini: Questionnaire) -> None:
    card = score_answers(mini, {"first.law": Answer("first.law", option_id="dont_know"),
                                "second.portal": Answer("second.portal", option_id="yes")})

    assert tallies_of("official", card) == (
        Tally("official", "first", 1, 0, 0.0), Tally("official", "second", 1, 1, 100.0),
        Tally("official", OVERALL, 1, 1, 100.0))


def summary_of(mini: Questionnaire, officials: int = 5) -> Summary:
    return summarise(mini, group("citizen", 6, 20, 60) + group("official", officials, 86, 90),
                     min_group=5)


def test_the_summary_text_sets_citizens_beside_officials(mini: Questionnaire, en: Translator) -> None:
    text = summary_screen(en, mini, consultation(), summary_of(mini), Role.OFFICIAL).text

    assert "<b>Summary: Open budgets</b>" in text
    assert "Finished: 11 · citizens: 6 · officials: 5" in text
    assert "<b>First pillar</b>\nEveryone: 50 (high) · 11 respondents\n" \
           "Citizens: 20 · Officials: 86 · gap: +66" in text
    assert "Citizens rate lowest: <b>First pillar</b> (20)." in text
    assert "/digest" in text and "/export" not in text


def test_a_withheld_group_shows_fewer_than_n_instead_of_its_numbers(
        mini: Questionnaire, en: Translator) -> None:
    text = summary_screen(en, mini, consultation(), summary_of(mini, officials=4),
                          Role.OFFICIAL).text

    assert "officials: fewer than 5 respondents" in text
    assert "Citizens: 20 · Officials: fewer than 5 respondents\n" in text
    # Everyone less the six citizens would be the four officials.
    assert "Everyone: not shown, since a smaller group could be worked out from it" in text
    assert "86" not in text and "90" not in text and "gap:" not in text


def test_only_moderators_get_the_comments_button(mini: Questionnaire, en: Translator) -> None:
    official = summary_screen(en, mini, consultation(), summary_of(mini), Role.OFFICIAL)
    moderator = summary_screen(en, mini, consultation(), summary_of(mini), Role.MODERATOR)

    assert official.keyboard is None
    assert moderator.keyboard is not None
    assert [b.text for row in moderator.keyboard.inline_keyboard for b in row] == ["Comments"]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_summary_fits_one_message_and_its_chart_a_caption_in_every_language(
        catalogs: Catalogs, metep: Questionnaire, locale: str) -> None:
    t = catalogs.translator(locale)
    long_title = consultation("Ü" * 200)
    tallies = [tally for pillar in metep.pillars for tally in
               (Tally("citizen", pillar.id, 99_999, 99_999, 99_999 * 33.3),
                Tally("official", pillar.id, 4, 4, 4 * 50.0))]
    summary = summarise(metep, tallies + group("citizen", 99_999, 1, 1)[2:], min_group=5)

    text = summary_screen(t, metep, long_title, summary, Role.MODERATOR).text

    assert len(text) <= TELEGRAM_TEXT_LIMIT
    assert max(len(line) for line in text.split("\n")) <= 260  # only the title line is long
    assert len(chart_caption(t, long_title)) <= TELEGRAM_CAPTION_LIMIT


@pytest.mark.parametrize("locale", LOCALES)
def test_the_chart_is_a_png_in_every_language(catalogs: Catalogs, metep: Questionnaire,
                                              locale: str) -> None:
    tallies = [tally for pillar in metep.pillars for tally in
               (Tally("citizen", pillar.id, 9, 9, 9 * 40.0), Tally("official", pillar.id, 3, 3, 210.0))]
    summary = summarise(metep, tallies, min_group=5)

    png = chart_png(catalogs.translator(locale), catalogs.translator("en"), metep,
                    consultation(), summary)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_a_respondent_sees_the_averages_of_groups_big_enough(mini: Questionnaire,
                                                             en: Translator) -> None:
    card = score_answers(mini, {"first.law": Answer("first.law", option_id="yes"),
                                "second.portal": Answer("second.portal", option_id="no")})

    lines = comparison(en, mini, card, summary_of(mini, officials=4))

    assert lines[0].startswith("<b>Where you stand</b>")
    assert "First pillar: you 100 · citizens 20" in lines
    assert "Overall index: you 50 · citizens 40" in lines
    assert not any("officials" in line for line in lines)  # four officials: withheld
    assert comparison(en, mini, card, summarise(mini, group("citizen", 4, 1, 1), 5)) == []


def test_comments_are_escaped_and_split_to_fit_messages(mini: Questionnaire,
                                                        en: Translator) -> None:
    comments = [Comment("first.comment", "citizen", f"<b>{i}</b> " + "x" * 900) for i in range(12)]

    pages = comment_pages(en, mini, consultation(), comments, more=False, max_pages=2)

    assert len(pages) == 2
    assert all(len(page) <= TELEGRAM_TEXT_LIMIT for page in pages)
    assert pages[0].startswith("<b>Comments: Open budgets</b>\n\n<i>First pillar · citizen</i>")
    assert "&lt;b&gt;0&lt;/b&gt;" in pages[0] and "<b>0</b>" not in pages[0]
    assert pages[-1].endswith("Older comments are in /export.")


async def rows(*answers: ExportedAnswer) -> AsyncIterator[ExportedAnswer]:
    for answer in answers:
        yield answer


def exported(session: int, user: int, question: str, option: str | None = None,
             text: str | None = None) -> ExportedAnswer:
    return ExportedAnswer(session, user, "citizen", question, option, text, 2,
                          "2025-01-01T10:00:00.000000+00:00")


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def test_the_export_has_a_row_per_answer_under_pseudonyms(mini: Questionnaire) -> None:
    key = b"k" * 32
    answers = [exported(1, 765432101, "first.law", "yes"),
               exported(1, 765432101, "first.comment", text="=HYPERLINK(\"x\")"),
               exported(2, 765432102, "second.portal", "no")]

    file = await export(rows(*answers), mini, 3, key)

    assert (file.filename, file.respondents, file.answers, file.compressed) == (
        "consultation-3-answers.csv", 2, 3, False)
    assert file.data is not None and b"76543210" not in file.data
    table = read_csv(file.data)
    assert tuple(table[0]) == COLUMNS
    assert table[0] == {"respondent": pseudonym(key, 3, 765432101), "role": "citizen",
                        "pillar": "first", "question": "first.law", "option": "yes", "comment": "",
                        "questionnaire_version": "2",
                        "answered_at": "2025-01-01T10:00:00.000000+00:00"}
    assert table[1]["respondent"] == table[0]["respondent"] != table[2]["respondent"]
    assert table[1]["comment"] == "'=HYPERLINK(\"x\")"  # never a formula in a spreadsheet


def test_pseudonyms_are_16_hex_digits_stable_and_different_per_consultation() -> None:
    key = b"k" * 32

    assert pseudonym(key, 3, 42) == pseudonym(key, 3, 42)
    assert len(pseudonym(key, 3, 42)) == 16 and int(pseudonym(key, 3, 42), 16) >= 0
    assert pseudonym(key, 4, 42) != pseudonym(key, 3, 42) != pseudonym(b"j" * 32, 3, 42)


async def test_an_export_too_big_for_telegram_is_compressed_or_refused(
        mini: Questionnaire) -> None:
    answers = [exported(i, i, "first.law", "yes") for i in range(2000)]

    packed = await export(rows(*answers), mini, 3, b"k" * 32, limit=100_000)
    refused = await export(rows(*answers), mini, 3, b"k" * 32, limit=1_000)

    assert packed.compressed and packed.filename == "consultation-3-answers.csv.gz"
    assert packed.data is not None and len(read_csv(gzip.decompress(packed.data))) == 2000
    assert refused.data is None


async def test_sessions_finished_before_totals_were_kept_are_counted_when_read(
        mini: Questionnaire, catalogs: Catalogs) -> None:
    db = await Database.open(":memory:")
    try:
        made = await db.consultations.create("mini", 2, {}, created_by=None, status="open")
        for user_id, option in ((1, "yes"), (2, "no")):
            await db.respondents.ensure(user_id, chat_id=user_id)
            session = await db.sessions.start(user_id, made.id, "citizen", cursor=None)
            await db.sessions.save_answer(session.id, Answer("first.law", option_id=option), 2)
            await db.sessions.finish(session.id)  # as before 0003: not in the totals
        service = SummaryService(Turns(db, Flow(mini), catalogs), min_group=2)

        summary = await service.summary(made)

        assert summary.citizens.finished == 2
        assert summary.pillars[0].citizens.mean == 50
        assert (await service.summary(made)) == summary  # counted once
        assert [c.id for c in await service.answered()] == [made.id]
    finally:
        await db.close()


async def test_the_pseudonym_key_is_generated_once_unless_configured(
        mini: Questionnaire, catalogs: Catalogs) -> None:
    db = await Database.open(":memory:")
    try:
        turns = Turns(db, Flow(mini), catalogs)
        generated = SummaryService(turns, 5)
        configured = SummaryService(turns, 5, configured_key=b"from the environment")

        assert await generated.pseudonym_key() == await generated.pseudonym_key()
        assert len(await generated.pseudonym_key()) == 32
        assert await configured.pseudonym_key() == b"from the environment"
    finally:
        await db.close()
