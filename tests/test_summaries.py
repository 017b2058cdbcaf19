"""Summaries for officials: the rule, the privacy of small groups, the text, chart and export."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from matplotlib.text import Text
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut

from bot import callbacks, charts, digests
from bot.context import SERVICES, Services
from bot.exports import COLUMNS, export, pseudonym
from bot.i18n import Catalogs, Translator
from bot.screens import TELEGRAM_TEXT_LIMIT
from bot.summaries import SummaryService
from bot.summary_screens import (
    MAX_CHOICES,
    TELEGRAM_CAPTION_LIMIT,
    chart_caption,
    chart_png,
    chooser,
    comment_pages,
    comparison,
    summary_screen,
    telegram_length,
)
from bot.turns import Turns
from conversations.flow import Flow
from conversations.loader import load_questionnaire
from conversations.model import Answer, Questionnaire
from conversations.roles import Role
from conversations.scoring import Band, PillarScore, ScoreCard, score_answers
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
               + group("official", 6, 80, 90))

    summary = summarise(mini, tallies, min_group=5)

    first, second = summary.pillars
    assert first.citizens.mean == pytest.approx((4 * 20 + 2 * 50) / 6)
    # Only four citizens have a score in the second pillar: too few to show.
    assert (second.citizens.respondents, second.citizens.withheld) == (4, True)
    assert first.officials.mean == 80
    assert first.gap == pytest.approx(80 - 30)
    assert first.everyone.mean == pytest.approx((80 + 100 + 480) / 12)
    assert first.everyone.band is Band.HIGH
    # The overall index is the mean of each respondent's own overall index.
    assert summary.overall.citizens.mean == pytest.approx((4 * 40 + 2 * 50) / 6)
    assert (summary.citizens.finished, summary.officials.finished) == (6, 6)


def test_citizens_lowest_pillar_is_named(mini: Questionnaire) -> None:
    summary = summarise(mini, group("citizen", 6, 70, 30), min_group=5)

    assert summary.lowest_for_citizens is not None
    assert summary.lowest_for_citizens.pillar_id == "second"


def test_a_group_below_the_minimum_is_withheld_and_so_is_everyone_if_it_could_be_worked_out(
        mini: Questionnaire) -> None:
    summary = summarise(mini, group("citizen", 6, 40, 40) + group("official", 2, 90, 90),
                        min_group=5)

    line = summary.pillars[0]
    assert (line.officials.mean, line.officials.withheld) == (None, True)
    assert line.gap is None
    # Everyone minus the six citizens would be the two officials: not shown either.
    assert (line.everyone.mean, line.everyone.withheld) == (None, True)
    assert summary.officials.withheld and not summary.citizens.withheld


@pytest.mark.parametrize("min_group", [2, 5])
def test_a_group_of_exactly_the_minimum_is_withheld_since_a_member_could_subtract_themselves(
        mini: Questionnaire, min_group: int) -> None:
    # Each of them knows their own score: the group's mean would give the mean of the others,
    # fewer than the minimum. With min_group=2, two officials would each learn the other's.
    exact = summarise(mini, group("citizen", min_group, 10, 10)
                      + group("official", min_group, 90, 90), min_group)
    more = summarise(mini, group("citizen", min_group + 1, 10, 10)
                     + group("official", min_group + 1, 90, 90), min_group)

    for line in (*exact.pillars, exact.overall):
        assert line.citizens.mean is line.officials.mean is None
        assert line.citizens.withheld and line.officials.withheld
        # Everyone (2 × min_group, neither group shown) leaves each at least min_group others.
        assert line.everyone.mean == 50
    assert exact.citizens.withheld and exact.officials.withheld
    assert exact.smallest_shown == min_group + 1
    assert (more.pillars[0].citizens.mean, more.pillars[0].officials.mean) == (10, 90)
    assert more.pillars[0].everyone.mean == 50


def test_everyone_alone_needs_more_than_the_minimum(mini: Questionnaire) -> None:
    exact = summarise(mini, group("citizen", 1, 10, 10) + group("moderator", 1, 30, 30), 2)
    more = summarise(mini, group("citizen", 2, 10, 10) + group("moderator", 1, 40, 40), 2)

    assert exact.pillars[0].everyone.withheld and exact.everyone.withheld
    assert more.pillars[0].everyone.mean == 20 and not more.everyone.withheld


def test_everyone_is_shown_when_what_is_left_after_the_shown_groups_is_big_enough(
        mini: Questionnaire) -> None:
    tallies = (group("citizen", 6, 40, 40) + group("official", 1, 100, 100)
               + group("moderator", 5, 0, 0))

    line = summarise(mini, tallies, min_group=5).pillars[0]

    assert line.officials.withheld
    assert line.everyone.mean == pytest.approx((6 * 40 + 100 + 5 * 0) / 12)


def test_everyone_is_withheld_when_what_is_left_is_exactly_the_minimum(
        mini: Questionnaire) -> None:
    # Everyone less the shown citizens is the one official and four moderators: five people,
    # each of whom could take themselves out of the five's mean.
    tallies = (group("citizen", 6, 40, 40) + group("official", 1, 100, 100)
               + group("moderator", 4, 0, 0))

    line = summarise(mini, tallies, min_group=5).pillars[0]

    assert (line.everyone.mean, line.everyone.withheld) == (None, True)
    assert line.citizens.mean == 40


def test_moderators_count_only_in_everyone(mini: Questionnaire) -> None:
    summary = summarise(mini, group("citizen", 6, 40, 40) + group("moderator", 6, 100, 100),
                        min_group=5)

    line = summary.pillars[0]
    assert (line.citizens.mean, line.officials.mean, line.everyone.mean) == (40, None, 70)
    assert (summary.officials.finished, summary.everyone.finished) == (0, 12)


def test_a_respondents_contribution_covers_every_pillar_and_the_overall_index(
        mini: Questionnaire) -> None:
    card = score_answers(mini, {"first.law": Answer("first.law", option_id="dont_know"),
                                "second.portal": Answer("second.portal", option_id="yes")})

    assert tallies_of("official", card) == (
        Tally("official", "first", 1, 0, 0.0), Tally("official", "second", 1, 1, 100.0),
        Tally("official", OVERALL, 1, 1, 100.0))


def summary_of(mini: Questionnaire, officials: int = 6) -> Summary:
    return summarise(mini, group("citizen", 6, 20, 60) + group("official", officials, 86, 90),
                     min_group=5)


def test_the_summary_text_sets_citizens_beside_officials(mini: Questionnaire, en: Translator) -> None:
    text = summary_screen(en, mini, consultation(), summary_of(mini), Role.OFFICIAL).text

    assert "<b>Summary: Open budgets</b>" in text
    assert "Finished: 12 · citizens: 6 · officials: 6" in text
    assert "<b>First pillar</b>\nEveryone: 53 (high) · 12 respondents\n" \
           "Citizens: 20 · Officials: 86\n" \
           "Officials rate First pillar 66 points higher than citizens." in text
    assert "Officials rate the overall index 48 points higher than citizens." in text
    assert "Citizens rate lowest: <b>First pillar</b> (20)." in text
    assert "/digest" in text and "/export" not in text


def test_a_withheld_group_shows_fewer_than_n_instead_of_its_numbers(
        mini: Questionnaire, en: Translator) -> None:
    text = summary_screen(en, mini, consultation(), summary_of(mini, officials=5),
                          Role.OFFICIAL).text

    # Five officials with a minimum of five: each could take themselves out of the mean.
    assert "officials: fewer than 6 respondents" in text
    # Said once, not in every line.
    assert text.count("Officials: fewer than 6 respondents, so their scores are not shown.") == 1
    assert "<b>First pillar</b>\nEveryone: not shown, since a smaller group could be worked out " \
           "from it\nCitizens: 20\n\n" in text
    # Everyone less the six citizens would be the five officials.
    assert "Everyone: not shown, since a smaller group could be worked out from it" in text
    assert "86" not in text and "90" not in text and "higher than" not in text
    assert "A group of fewer than 6 respondents is not shown" in text


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

    lines = comparison(en, mini, card, summary_of(mini, officials=5))

    assert lines[0].startswith("<b>Where you stand</b>")
    assert "First pillar: you 100 · citizens 20" in lines
    assert "Overall index: you 50 · citizens 40" in lines
    assert not any("officials" in line for line in lines)  # five officials: withheld
    # Five citizens: the fifth would see the mean of the four others beside their own score.
    assert comparison(en, mini, card, summarise(mini, group("citizen", 5, 1, 1), 5)) == []


def test_where_you_stand_cuts_the_respondents_own_scores_down_like_the_groups(
        mini: Questionnaire, en: Translator) -> None:
    card = ScoreCard((PillarScore("first", 49.9, 3), PillarScore("second", None, 0)), 49.9)

    lines = comparison(en, mini, card, summary_of(mini))

    assert "First pillar: you 49 · citizens 20 · officials 86" in lines  # 49, middle: not 50
    assert "Second pillar: you — · citizens 60 · officials 90" in lines
    assert "Overall index: you 49 · citizens 40 · officials 88" in lines


def test_comments_are_escaped_and_split_to_fit_messages(mini: Questionnaire,
                                                        en: Translator) -> None:
    comments = [Comment("first.comment", "citizen", f"<b>{i}</b> " + "x" * 900) for i in range(12)]

    pages = comment_pages(en, mini, consultation(), comments, more=False, max_pages=2)

    assert len(pages) == 2
    assert all(len(page) <= TELEGRAM_TEXT_LIMIT for page in pages)
    assert pages[0].startswith("<b>Comments: Open budgets</b>\n\n<i>First pillar · citizen</i>")
    assert "&lt;b&gt;0&lt;/b&gt;" in pages[0] and "<b>0</b>" not in pages[0]
    assert pages[-1].endswith("Older comments are in /export.")


def test_telegram_length_counts_utf16_units_of_the_text_without_tags_and_entities() -> None:
    assert telegram_length("<b>a&amp;b</b>\n<i>😀</i>") == 3 + 1 + 2


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_comment_pages_fit_telegrams_limit_in_utf16_units_with_emoji(
        mini: Questionnaire, catalogs: Catalogs, locale: str) -> None:
    # 900 emoji are 900 code points but 1,800 UTF-16 units: counted in code points, four such
    # comments made one "4,000-character" page that Telegram refused as too long.
    comments = [Comment("first.comment", "citizen", f"{i} " + "😀" * 900) for i in range(12)]

    pages = comment_pages(catalogs.translator(locale), mini, consultation(), comments, more=False,
                          max_pages=5)

    assert all(telegram_length(page) <= TELEGRAM_TEXT_LIMIT for page in pages)
    shown = sum(page.count("😀" * 900) for page in pages)
    assert 2 * 5 <= shown < 12 and len(pages) == 5  # two to a page
    assert pages[-1].endswith("/export.")


def test_a_comment_as_long_as_telegram_allows_is_cut_to_fit_beside_its_label(
        mini: Questionnaire, en: Translator) -> None:
    longest = "😀" * 2047 + "&"  # 4,095 UTF-16 units, as much as a Telegram message holds
    pages = comment_pages(en, mini, consultation(), [Comment("first.comment", "citizen", longest)],
                          more=False, max_pages=5)

    assert len(pages) == 2 and all(telegram_length(p) <= TELEGRAM_TEXT_LIMIT for p in pages)
    assert pages[1].startswith("<i>First pillar · citizen</i>\n😀") and pages[1].endswith("😀…")
    assert telegram_length(pages[1]) == TELEGRAM_TEXT_LIMIT


def test_the_chooser_offers_the_newest_consultations_only(en: Translator) -> None:
    many = [Consultation(n, "mini", 2, "open", None, None, {"en": ConsultationText(f"C{n}", "")})
            for n in range(45, 0, -1)]  # newest first

    screen = chooser(en, many, callbacks.Summarise)

    assert screen.keyboard is not None
    buttons = [b for row in screen.keyboard.inline_keyboard for b in row]
    assert len(buttons) == MAX_CHOICES == 20
    assert [b.text for b in buttons[:2]] == ["#45 C45", "#44 C44"] and buttons[-1].text == "#26 C26"
    assert "Only the 20 newest are listed" in screen.text and "/summary 1" in screen.text
    few = chooser(en, many[:3], callbacks.Export)
    assert few.text == "Which consultation?"


def test_the_comments_button_has_a_prefix_of_its_own() -> None:
    data = callbacks.encode(callbacks.ReadComments(6))

    assert data == "r|6"
    assert callbacks.decode(data) == callbacks.ReadComments(6)
    assert callbacks.encode(callbacks.Keep(6, "q")).split("|")[0] != data.split("|")[0]


def test_chart_texts_with_dollar_signs_are_drawn_as_they_are(metep: Questionnaire) -> None:
    texts = charts.ChartTexts(title="Budget $5M to $10M, $\\frac$", axis="$x$", citizens="$a$",
                              officials="$\\frac$", note="$\\sqrt$")
    pillars = ["$\\frac$ pillar", "Overall"]

    figure = charts.draw(pillars, [49.9, None], [75.99, 3], texts)
    png = charts.render(pillars, [49.9, None], [75.99, 3], texts)  # "$\\frac$": a ValueError

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    drawn = [text for text in figure.findobj(Text) if text.get_text()]
    assert {t.get_text() for t in drawn} >= {"Budget $5M to $10M, $\\frac$", "$\\frac$ pillar",
                                             "$a$", "$\\frac$", "$\\sqrt$", "$x$"}
    assert not [t.get_text() for t in drawn if t.get_parse_math()]


def test_chart_bars_are_labelled_cut_down_like_the_text() -> None:
    figure = charts.draw(["One", "Two"], [49.9, 0.4], [75.99, None],
                         charts.ChartTexts("Title", "Score", "Citizens", "Officials"))

    labels = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert labels == ["49", "0", "75"]  # not 50, 0, 76


def test_a_consultation_title_with_dollars_makes_a_chart(catalogs: Catalogs,
                                                         metep: Questionnaire) -> None:
    tallies = [tally for pillar in metep.pillars for tally in
               (Tally("citizen", pillar.id, 9, 9, 9 * 40.0), Tally("official", pillar.id, 9, 9, 9 * 60.0))]
    summary = summarise(metep, tallies, min_group=5)

    png = chart_png(catalogs.translator("en"), catalogs.translator("en"), metep,
                    consultation("Budget $5M to $10M: $\\frac$"), summary)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")


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
                        "answered_at": "2025-01-01"}  # to the day, not the microsecond
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
            await db.sessions.move(session.id, None, finished=True)  # as before 0003: not in the totals
        service = SummaryService(Turns(db, Flow(mini), catalogs), min_group=1)

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


class FlakyBot:
    """Records what is sent, and fails for some chats as Telegram would."""

    def __init__(self, failures: dict[int, Exception]) -> None:
        self.failures = failures
        self.sent: list[tuple[str, int]] = []

    async def send_message(self, chat_id: int, text: str, **kwargs: object) -> None:
        if chat_id in self.failures:
            raise self.failures[chat_id]
        self.sent.append(("text", chat_id))

    async def send_photo(self, chat_id: int, **kwargs: object) -> None:
        self.sent.append(("photo", chat_id))


async def test_the_sweep_retries_transient_failures_and_gives_up_on_the_rest(
        mini: Questionnaire, catalogs: Catalogs) -> None:
    db = await Database.open(":memory:")
    try:
        made = await db.consultations.create("mini", 2, {}, created_by=None, status="open")
        for user_id in (1, 2, 3, 4, 5):
            await db.respondents.ensure(user_id, chat_id=user_id * 10)
            await db.roles.grant(user_id, "official", None, None)
            await db.digests.toggle(user_id)
        session = await db.sessions.start(1, made.id, "official", cursor=None)
        await db.sessions.move(session.id, None, finished=True)
        turns = Turns(db, Flow(mini), catalogs)
        services = Services(turns, catalogs, summaries=SummaryService(turns, 2))
        bot = FlakyBot({20: TimedOut(), 30: BadRequest("Chat not found"), 40: Forbidden("blocked")})
        application = SimpleNamespace(bot=bot, bot_data={SERVICES: services})
        await db.consultations.set_status(made.id, "closed")
        (digest,) = await db.digests.due()

        assert await digests.sweep(application) == 2  # type: ignore[arg-type]
        # The summary and the perception gaps; one official is too few for a chart with a bar.
        assert bot.sent == [("text", 10), ("text", 10), ("text", 50), ("text", 50)]
        assert await db.digests.due() == [digest]  # 2 is to be tried again
        assert [s.user_id for s in await db.digests.subscribers()] == [1, 2, 3, 5]  # 4 blocked

        bot.failures.pop(20)
        assert await digests.sweep(application) == 1  # type: ignore[arg-type]
        assert bot.sent[-2:] == [("text", 20), ("text", 20)]
        assert await db.digests.due() == []
        assert await db.digests.sent_to(digest.id) == [1, 2, 5]
        assert await digests.sweep(application) == 0  # type: ignore[arg-type]
    finally:
        await db.close()


async def test_the_sweep_gives_up_on_a_subscriber_after_five_failures(
        mini: Questionnaire, catalogs: Catalogs) -> None:
    db = await Database.open(":memory:")
    try:
        made = await db.consultations.create("mini", 2, {}, created_by=None, status="open")
        await db.respondents.ensure(1, chat_id=10)
        await db.roles.grant(1, "official", None, None)
        await db.digests.toggle(1)
        session = await db.sessions.start(1, made.id, "official", cursor=None)
        await db.sessions.move(session.id, None, finished=True)
        turns = Turns(db, Flow(mini), catalogs)
        application = SimpleNamespace(bot=FlakyBot({10: NetworkError("down")}), bot_data={
            SERVICES: Services(turns, catalogs, summaries=SummaryService(turns, 2))})
        await db.consultations.set_status(made.id, "closed")

        for _ in range(digests.MAX_ATTEMPTS - 1):
            await digests.sweep(application)  # type: ignore[arg-type]
            assert len(await db.digests.due()) == 1
        await digests.sweep(application)  # type: ignore[arg-type]

        assert await db.digests.due() == []
    finally:
        await db.close()
