"""What officials and moderators read: a consultation's summary, its chart, comments and exports.

Like ``screens``, every string goes through the reader's :class:`Translator`, interpolated text is
HTML-escaped, and numbers are formatted (and isolated in right-to-left text) by the translator.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from datetime import datetime
from html import escape, unescape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.i18n import Translator
from bot.screens import (
    TELEGRAM_TEXT_LIMIT,
    Screen,
    Texts,
    band_name,
    consultation_text,
    EPSILON,
    score_text,
)
from conversations.model import Questionnaire
from conversations.roles import Role
from conversations.scoring import ScoreCard
from conversations.summaries import OVERALL, Figure, Line, Summary, shown
from storage import Comment, Consultation

if TYPE_CHECKING:
    from bot.charts import ChartTexts

TELEGRAM_CAPTION_LIMIT = 1024
MAX_CHOICES = 20  # consultations offered as buttons, the newest (Telegram caps a keyboard's size)
_TITLE_IN_BUTTON = 60
_TITLE_LENGTH = 200
_TAG = re.compile(r"<[^>]*>")


def _markup(rows: Sequence[Sequence[tuple[str, callbacks.Action]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=callbacks.encode(action)) for text, action in row]
         for row in rows])


def _title(t: Translator, consultation: Consultation) -> str:
    # Titles are limited to 200 characters when set; the cut keeps a caption within its limit.
    return escape(consultation_text(t, consultation).title[:_TITLE_LENGTH])


def line_name(t: Translator, questionnaire: Questionnaire, line: Line) -> str:
    """A pillar's name in the reader's language, or "Overall index"."""
    if line.pillar_id == OVERALL:
        return t._("Overall index")
    return Texts(questionnaire, t).pillar(questionnaire.pillar(line.pillar_id))


def telegram_length(html: str) -> int:
    """How long Telegram finds a message: its plain text (tags removed, entities decoded) in
    UTF-16 code units, which is what its 4096 limit counts (an emoji outside the BMP is two)."""
    return utf16_length(unescape(_TAG.sub("", html)))


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut_utf16(text: str, units: int) -> str:
    """The longest start of ``text`` of at most ``units`` UTF-16 code units."""
    cut = text.encode("utf-16-le")[:units * 2]
    return cut.decode("utf-16-le", errors="ignore")  # a lone half of a surrogate pair is dropped


def fewer_than(t: Translator, summary: Summary) -> str:
    """What a withheld group shows instead of its numbers."""
    return t.ngettext("fewer than {count} respondent", "fewer than {count} respondents",
                      summary.smallest_shown).format(count=t.number(summary.smallest_shown))


def _score(t: Translator, figure: Figure, summary: Summary) -> str:
    if figure.withheld and shown(figure.respondents, summary.min_group):
        return t._("not shown, since a smaller group could be worked out from it")
    if figure.withheld:
        return fewer_than(t, summary)
    if figure.mean is None:
        return t._("no scores")
    return score_text(t, figure.mean)


def _count(t: Translator, finished: int, withheld: bool, summary: Summary) -> str:
    return fewer_than(t, summary) if withheld else t.number(finished)


def _everyone(t: Translator, line: Line, summary: Summary) -> str:
    figure = line.everyone
    if figure.mean is None or figure.band is None:
        return t._("Everyone: {score}").format(score=_score(t, figure, summary))
    respondents = t.ngettext("{count} respondent", "{count} respondents",
                             figure.respondents).format(count=t.number(figure.respondents))
    return t._("Everyone: {score} ({band}) · {respondents}").format(
        score=score_text(t, figure.mean), band=band_name(t, figure.band), respondents=respondents)


def _sides(t: Translator, questionnaire: Questionnaire, line: Line, summary: Summary) -> list[str]:
    """Citizens beside officials, leaving out a group withheld as a whole (said once, above), and
    the gap in words."""
    sides = [(t._("Citizens"), line.citizens, summary.citizens),
             (t._("Officials"), line.officials, summary.officials)]
    shown_sides = [(name, figure) for name, figure, group in sides if not group.withheld]
    if len(shown_sides) == 2:
        lines = [t._("Citizens: {citizens} · Officials: {officials}").format(
            citizens=_score(t, line.citizens, summary), officials=_score(t, line.officials, summary))]
    else:
        lines = [t._("{group}: {results}").format(group=name, results=_score(t, figure, summary))
                 for name, figure in shown_sides]
    points = gap_points(line)
    if points is not None:
        lines.append(gap_phrase(t, _gap_subject(t, questionnaire, line), points))
    return lines


def gap_points(line: Line) -> int | None:
    """Officials minus citizens, as the two shown (cut down) scores differ, or None."""
    if line.officials.mean is None or line.citizens.mean is None:
        return None
    return math.floor(line.officials.mean + EPSILON) - math.floor(line.citizens.mean + EPSILON)


def _gap_subject(t: Translator, questionnaire: Questionnaire, line: Line) -> str:
    if line.pillar_id == OVERALL:
        return t._("the overall index")
    return escape(line_name(t, questionnaire, line))


def gap_phrase(t: Translator, subject: str, points: int) -> str:
    """A pillar's gap in words: "Officials rate inclusion 19 points higher than citizens."."""
    count = t.number(abs(points))
    if points > 0:
        return t.ngettext("Officials rate {pillar} {points} point higher than citizens.",
                          "Officials rate {pillar} {points} points higher than citizens.",
                          abs(points)).format(pillar=subject, points=count)
    if points < 0:
        return t.ngettext("Officials rate {pillar} {points} point lower than citizens.",
                          "Officials rate {pillar} {points} points lower than citizens.",
                          abs(points)).format(pillar=subject, points=count)
    return t._("Officials and citizens rate {pillar} the same.").format(pillar=subject)


def withheld_groups(t: Translator, summary: Summary) -> list[str]:
    """A group too small to show, said once rather than in every line."""
    return [t.ngettext("{group}: fewer than {count} respondent, so their scores are not shown.",
                       "{group}: fewer than {count} respondents, so their scores are not shown.",
                       summary.smallest_shown).format(group=name,
                                                      count=t.number(summary.smallest_shown))
            for name, group in ((t._("Citizens"), summary.citizens),
                                (t._("Officials"), summary.officials)) if group.withheld]


def summary_screen(t: Translator, questionnaire: Questionnaire, consultation: Consultation,
                   summary: Summary, role: Role) -> Screen:
    """The summary as text for a phone; moderators get a button for the comments."""
    lines = [t._("<b>Summary: {title}</b>").format(title=_title(t, consultation))]
    if summary.everyone.finished == 0:
        lines.append(t._("Nobody has finished the questionnaire yet."))
        return Screen(t.directed("\n".join(lines)))
    lines += [
        t._("Finished: {everyone} · citizens: {citizens} · officials: {officials}").format(
            everyone=_count(t, summary.everyone.finished, summary.everyone.withheld, summary),
            citizens=_count(t, summary.citizens.finished, summary.citizens.withheld, summary),
            officials=_count(t, summary.officials.finished, summary.officials.withheld, summary)),
        *withheld_groups(t, summary),
        t._("Scores from 0 to 100; the gap is officials minus citizens, in points."),
    ]
    for line in (*summary.pillars, summary.overall):
        lines += ["", f"<b>{escape(line_name(t, questionnaire, line))}</b>",
                  _everyone(t, line, summary), *_sides(t, questionnaire, line, summary)]
    lowest = summary.lowest_for_citizens
    if lowest is not None and lowest.citizens.mean is not None:
        lines += ["", t._("Citizens rate lowest: {pillar} ({score}).").format(
            pillar=f"<b>{escape(line_name(t, questionnaire, lowest))}</b>",
            score=score_text(t, lowest.citizens.mean))]
    lines += ["", "<i>" + t.ngettext(
        "A group of fewer than {count} respondent is not shown, so that nobody's answers can be "
        "worked out.",
        "A group of fewer than {count} respondents is not shown, so that nobody's answers can be "
        "worked out.", summary.smallest_shown).format(count=t.number(summary.smallest_shown))
        + "</i>"]
    keyboard = None
    if role is Role.MODERATOR:
        lines.append(t._("Every answer as a spreadsheet: /export"))
        keyboard = _markup([[(t._("Comments"), callbacks.ReadComments(consultation.id))]])
    lines.append(t._("Receive this summary weekly and when a consultation closes: /digest"))
    return Screen(t.directed("\n".join(lines)), keyboard)


def chart_caption(t: Translator, consultation: Consultation) -> str:
    caption = t._("<b>{title}</b>: citizens (blue) and officials (orange) in each pillar, 0 to "
                  "100.").format(title=_title(t, consultation))
    return t.directed(caption)


def chart_png(t: Translator, english: Translator, questionnaire: Questionnaire,
              consultation: Consultation, summary: Summary) -> bytes:
    """The chart in the reader's language, or in English when the fonts cannot draw it."""
    # matplotlib takes half a second and some 45 MB to load: only once a chart is wanted.
    from bot import charts

    labels, texts = _chart_texts(t, questionnaire, consultation, summary)
    if not charts.can_draw(*labels, texts.title, texts.axis, texts.citizens, texts.officials,
                           texts.note):
        labels, texts = _chart_texts(english, questionnaire, consultation, summary)
    lines = (*summary.pillars, summary.overall)
    return charts.render(labels, [line.citizens.mean for line in lines],
                         [line.officials.mean for line in lines], texts)


def _chart_texts(t: Translator, questionnaire: Questionnaire, consultation: Consultation,
                 summary: Summary) -> tuple[list[str], ChartTexts]:
    from bot.charts import ChartTexts

    lines = (*summary.pillars, summary.overall)
    withheld = any(f.withheld for line in lines for f in (line.citizens, line.officials))
    note = t.ngettext("No bar: fewer than {count} respondent, or no scores.",
                      "No bar: fewer than {count} respondents, or no scores.",
                      summary.smallest_shown).format(
        count=t.plain_number(summary.smallest_shown)) if withheld else ""  # a chart: no isolates
    return [line_name(t, questionnaire, line) for line in lines], ChartTexts(
        title=consultation_text(t, consultation).title, axis=t._("Score (0 to 100)"),
        citizens=t._("Citizens"), officials=t._("Officials"), note=note, number=t.plain_number)


def comparison(t: Translator, questionnaire: Questionnaire, card: ScoreCard,
               summary: Summary) -> list[str]:
    """Lines setting the respondent's scores beside citizens' and officials' averages.

    Only groups big enough to be shown appear; with none, there are no lines.
    """
    yours = {p.pillar_id: p.score for p in card.pillars} | {OVERALL: card.overall}
    lines = []
    for line in (*summary.pillars, summary.overall):
        sides = []
        if line.citizens.mean is not None:
            sides.append(t._("citizens {score}").format(score=score_text(t, line.citizens.mean)))
        if line.officials.mean is not None:
            sides.append(t._("officials {score}").format(score=score_text(t, line.officials.mean)))
        if not sides:
            continue
        you = yours.get(line.pillar_id)
        mine = t._("you {score}").format(score=score_text(t, you) if you is not None else "—")
        lines.append(t._("{pillar}: {scores}").format(
            pillar=escape(line_name(t, questionnaire, line)), scores=" · ".join([mine, *sides])))
    if not lines:
        return []
    return [t._("<b>Where you stand</b> (averages of everyone who finished, 0 to 100):"), *lines]


def chooser(t: Translator, consultations: Sequence[Consultation],
            action: type[callbacks.Summarise] | type[callbacks.Export] | type[callbacks.Report]
            ) -> Screen:
    """Several consultations have answers (newest first): a button for each of the newest
    ``MAX_CHOICES``; an older one is reached by its number after the command."""
    rows = [[(f"#{c.id} {consultation_text(t, c).title}"[:_TITLE_IN_BUTTON], action(c.id))]
            for c in consultations[:MAX_CHOICES]]
    text = t._("Which consultation?")
    if len(consultations) > MAX_CHOICES:
        command = {callbacks.Summarise: "/summary", callbacks.Export: "/export",
                   callbacks.Report: "/report"}[action]
        text += "\n" + t.ngettext(
            "Only the {count} newest is listed. For an older one, send the command with its "
            "number, as in {example}.",
            "Only the {count} newest are listed. For an older one, send the command with its "
            "number, as in {example}.", MAX_CHOICES).format(
            count=t.number(MAX_CHOICES),
            example=t.isolate(f"{command} {consultations[-1].id}"))
    return Screen(t.directed(text), _markup(rows))


def not_answered(t: Translator, number: int) -> str:
    """The number after /summary or /export names no consultation with answers."""
    return t.directed(t._("Consultation #{number} does not exist or nobody has finished it "
                          "yet.").format(number=t.number(number)))


def nothing_answered(t: Translator) -> str:
    return t._("Nobody has finished a consultation yet, so there is nothing to summarise.")


def comment_pages(t: Translator, questionnaire: Questionnaire, consultation: Consultation,
                  comments: Sequence[Comment], more: bool, max_pages: int,
                  labelled: Collection[str] | None = None) -> list[str]:
    """The comments, newest first, in as many messages as they need (at most ``max_pages``).

    A comment is labelled with its author's role only for the roles in ``labelled`` (None: all):
    the groups larger than the minimum, so a label never narrows a comment down to a few people.
    A message's length is measured as Telegram measures it (see ``telegram_length``).
    """
    roles = {Role.CITIZEN: t._("citizen"), Role.OFFICIAL: t._("official"),
             Role.MODERATOR: t._("moderator")}
    texts = Texts(questionnaire, t)
    heading = t._("<b>Comments: {title}</b>").format(title=_title(t, consultation))
    if not comments:
        return [t.directed(heading + "\n" + t._("There are no comments yet."))]
    blocks = []
    for comment in comments:
        question = questionnaire.question(comment.question_id)
        where = (texts.pillar(questionnaire.pillar(question.pillar_id)) if question is not None
                 else comment.question_id)
        if labelled is None or comment.role in labelled:
            where = f"{where} · {roles[Role(comment.role)]}"
        label = t.directed(f"<i>{escape(where)}</i>\n")
        body = t.directed(escape(comment.text))
        over = telegram_length(label) + telegram_length(body) - TELEGRAM_TEXT_LIMIT
        if over > 0:  # only a comment near Telegram's own limit: cut, and marked as cut
            kept = _cut_utf16(comment.text, utf16_length(comment.text) - over - 1)
            body = t.directed(escape(kept + "…"))
        blocks.append(label + body)
    pages: list[str] = []
    page = t.directed(heading)
    length = telegram_length(page)
    for block in blocks:
        size = telegram_length(block)
        if length + 2 + size > TELEGRAM_TEXT_LIMIT:
            pages.append(page)
            if len(pages) == max_pages:
                more = True
                break
            page, length = block, size
        else:
            page += "\n\n" + block
            length += 2 + size
    else:
        pages.append(page)
    if more:
        ending = t.directed(t._("Older comments are in /export."))
        if telegram_length(pages[-1]) + 2 + telegram_length(ending) <= TELEGRAM_TEXT_LIMIT:
            pages[-1] += "\n\n" + ending
        else:
            pages.append(ending)
    return pages


def export_caption(t: Translator, consultation: Consultation, respondents: int,
                   compressed: bool) -> str:
    text = t.ngettext(
        "Every answer of the {count} respondent who finished consultation #{number}, one row "
        "per answer. Respondents appear under pseudonyms, never their Telegram accounts.",
        "Every answer of the {count} respondents who finished consultation #{number}, one row "
        "per answer. Respondents appear under pseudonyms, never their Telegram accounts.",
        respondents).format(count=t.number(respondents), number=t.number(consultation.id))
    if compressed:
        text += "\n" + t._("The file is compressed (gzip) to fit Telegram's size limit.")
    return t.directed(text)


def left_out_note(t: Translator, role: str, count: int, minimum: int) -> str:
    """Why a group's rows are not in the export (no more respondents than the minimum group)."""
    groups = {Role.CITIZEN: t._("Citizens"), Role.OFFICIAL: t._("Officials"),
              Role.MODERATOR: t._("Moderators")}
    return t.ngettext(
        "{group} are left out: {count} finished, no more than the minimum group of {minimum}.",
        "{group} are left out: {count} finished, no more than the minimum group of {minimum}.",
        count).format(group=groups[Role(role)], count=t.number(count), minimum=t.number(minimum))


def export_too_large(t: Translator, megabytes: int) -> str:
    return t.directed(t._("The export is too large to send through Telegram, even compressed "
                          "(limit: {limit} MB).").format(limit=t.number(megabytes)))


def digest_heading(t: Translator, consultation: Consultation, closed: bool) -> str:
    if closed:
        text = t._("Consultation #{number} has closed. Here is its final summary.")
    else:
        text = t._("Your weekly digest of consultation #{number}:")
    return t.directed(text.format(number=t.number(consultation.id)))


def digest_toggled(t: Translator, subscribed: bool, next_weekly: datetime | None) -> str:
    """/digest's answer: whether digests are now on or off, and when the next weekly one is due."""
    if not subscribed:
        return t.directed(t._("Digests are now off: you will not receive summaries. Send /digest "
                              "to turn them on again."))
    lines = [t._("Digests are now on: you will receive the summary when a consultation closes, "
                 "and every week while one is open.")]
    if next_weekly is None:
        lines.append(t._("No consultation is open now, so no weekly summary is due."))
    else:
        lines.append(t._("The next weekly summary goes out around {moment}.").format(
            moment=t.moment(next_weekly)))
    lines.append(t._("Send /digest again to turn them off."))
    return t.directed("\n".join(lines))
