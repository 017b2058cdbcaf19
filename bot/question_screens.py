"""Per-question results in Telegram: the perception gaps beside the summary, and "By question" pages.

As in ``summary_screens``, every string goes through the reader's :class:`Translator`, texts are
HTML-escaped, numbers and percentages are formatted by babel (and isolated in right-to-left text),
and every message is kept within Telegram's 4,096 characters as Telegram counts them.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.i18n import Translator
from bot.screens import TELEGRAM_TEXT_LIMIT, Screen, Texts
from bot.summary_screens import telegram_length
from conversations.model import Questionnaire
from conversations.question_results import GroupResult, QuestionLine, QuestionResults, percent

_TITLE_LENGTH = 200
_QUESTION_IN_LIST = 120  # characters of a question's text in the lists of gaps and lowest


def percent_text(t: Translator, share: float) -> str:
    """A share (0-1) as a whole percentage, the locale's way (44 %, 44%, ٤٤٪), isolated in RTL."""
    return t.percent(percent(share) / 100)


def points_phrase(t: Translator, gap: int) -> str:
    """A question's gap in words, from the officials' side."""
    points = t.number(abs(gap))
    if gap > 0:
        return t.ngettext("Officials answer positively {points} point more often than citizens.",
                          "Officials answer positively {points} points more often than citizens.",
                          abs(gap)).format(points=points)
    if gap < 0:
        return t.ngettext("Officials answer positively {points} point less often than citizens.",
                          "Officials answer positively {points} points less often than citizens.",
                          abs(gap)).format(points=points)
    return t._("Officials and citizens answer positively equally often.")


def sides_text(t: Translator, line: QuestionLine) -> str:
    """Both groups' positive shares: "Officials 89%, citizens 51%."."""
    assert line.officials_positive is not None and line.citizens_positive is not None
    return t._("Officials {officials}, citizens {citizens}.").format(
        officials=percent_text(t, line.officials_positive),
        citizens=percent_text(t, line.citizens_positive))


def _short(text: str, length: int = _QUESTION_IN_LIST) -> str:
    return text if len(text) <= length else text[:length - 1].rstrip() + "…"


def _fewer_than(t: Translator, min_group: int) -> str:
    return t.ngettext("fewer than {count} respondent", "fewer than {count} respondents",
                      min_group + 1).format(count=t.number(min_group + 1))


def group_line(t: Translator, texts: Texts, line: QuestionLine, result: GroupResult,
               min_group: int, who: str) -> str:
    """One group's results on a question: the share of each option, then positive and how many."""
    if result.withheld:
        return t._("{group}: {results}").format(group=who, results=_fewer_than(t, min_group))
    if result.answered == 0:
        return t._("{group}: {results}").format(group=who, results=t._("no answers yet"))
    question = line.question
    assert question.scale is not None
    shares = " · ".join(
        t._("{option} {percent}").format(option=escape(texts.option(question, option)),
                                         percent=percent_text(t, result.share(option.id) or 0.0))
        for option in question.scale.options)
    answered = t.ngettext("{count} answered", "{count} answered",
                          result.answered).format(count=t.number(result.answered))
    positive = line.positive(result)
    summary = (t._("positive: {percent}").format(percent=percent_text(t, positive))
               if positive is not None else t._("positive: none rated"))
    return t._("{group} ({answered}): {shares}; {positive}").format(
        group=who, answered=answered, shares=shares, positive=summary)


def question_page(t: Translator, questionnaire: Questionnaire, consultation_title: str,
                  results: QuestionResults, page: int, consultation_id: int,
                  demo: bool = False) -> Screen:
    """One pillar's questions, citizens beside officials, with buttons to the other pillars."""
    texts = Texts(questionnaire, t)
    pillars = questionnaire.pillars
    page = max(0, min(page, len(pillars) - 1))
    pillar = pillars[page]
    head = [t._("<b>By question: {title}</b>").format(title=escape(consultation_title[:_TITLE_LENGTH]))]
    if demo:
        head.append(demo_note(t))
    head += [t._("Pillar {number} of {total}: {pillar}").format(
                 number=t.number(page + 1), total=t.number(len(pillars)),
                 pillar="<b>" + escape(texts.pillar(pillar)) + "</b>"),
             "<i>" + legend(t) + "</i>"]
    blocks = []
    for number, line in enumerate(results.pillar(pillar.id), start=1):
        block = [f"<b>{t.number(number)}. {escape(texts.question(line.question))}</b>",
                 group_line(t, texts, line, line.citizens, results.min_group, t._("Citizens")),
                 group_line(t, texts, line, line.officials, results.min_group, t._("Officials"))]
        if line.gap is not None:
            block.append(points_phrase(t, line.gap))
        blocks.append("\n".join(block))
    text = t.directed("\n".join(head) + "\n\n" + "\n\n".join(blocks))
    if telegram_length(text) > TELEGRAM_TEXT_LIMIT:
        # A pillar too long for one message (a long questionnaire in a wordy language): the
        # option shares go first, positive shares and gaps stay.
        blocks = [_compact(t, texts, line, results.min_group, number)
                  for number, line in enumerate(results.pillar(pillar.id), start=1)]
        text = t.directed("\n".join(head) + "\n\n" + "\n\n".join(blocks))
    buttons = []
    # Translators: the arrows point to the previous and the next page; in a right-to-left
    # language, swap them (▶ before the previous pillar, ◀ after the next).
    if page > 0:
        buttons.append(InlineKeyboardButton(
            t._("◀ {pillar}").format(pillar=texts.pillar(pillars[page - 1]))[:40],
            callback_data=callbacks.encode(callbacks.QuestionPage(consultation_id, page - 1, True))))
    if page < len(pillars) - 1:
        buttons.append(InlineKeyboardButton(
            t._("{pillar} ▶").format(pillar=texts.pillar(pillars[page + 1]))[:40],
            callback_data=callbacks.encode(callbacks.QuestionPage(consultation_id, page + 1, True))))
    return Screen(text, InlineKeyboardMarkup([buttons]) if buttons else None)


def _compact(t: Translator, texts: Texts, line: QuestionLine, min_group: int, number: int) -> str:
    def side(result: GroupResult) -> str:
        positive = line.positive(result)
        if result.withheld:
            return _fewer_than(t, min_group)
        return percent_text(t, positive) if positive is not None else "—"

    return "\n".join([
        f"<b>{t.number(number)}. {escape(_short(texts.question(line.question)))}</b>",
        t._("Positive answers: citizens {citizens} · officials {officials}").format(
            citizens=side(line.citizens), officials=side(line.officials))])


def legend(t: Translator) -> str:
    return t._("Shares of those who answered. Positive: yes, or agree and strongly agree, among "
               "those who gave an answer other than \"don't know\".")


def demo_note(t: Translator) -> str:
    return t._("⚠ Demo data: synthetic respondents made up by baraza sandbox --demo, not a real "
               "consultation.")


def gaps_screen(t: Translator, questionnaire: Questionnaire, consultation_id: int,
                results: QuestionResults, demo: bool = False) -> Screen:
    """The five largest perception gaps and the five questions citizens rate lowest, with a
    button to every question's results."""
    texts = Texts(questionnaire, t)
    lines = [demo_note(t)] if demo else []
    lines.append(t._("<b>Where officials and citizens differ most</b> (share of positive answers)"))
    gaps = results.largest_gaps()
    if not gaps:
        lines.append(t._("Not enough answers from both groups to compare questions yet."))
    for line in gaps:
        assert line.officials_positive is not None and line.citizens_positive is not None
        lines.append("• <i>" + escape(_short(texts.question(line.question))) + "</i>\n"
                     + sides_text(t, line) + " " + points_phrase(t, line.gap or 0))
    lowest = results.lowest_for_citizens()
    if lowest:
        lines += ["", t._("<b>What citizens rate lowest</b> (share of positive answers)")]
        for line in lowest:
            assert line.citizens_positive is not None
            lines.append(f"• {percent_text(t, line.citizens_positive)} · "
                         f"{escape(_short(texts.question(line.question)))}")
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(t._("By question"),
                             callback_data=callbacks.encode(callbacks.QuestionPage(consultation_id, 0))),
        InlineKeyboardButton(t._("Report (HTML)"),
                             callback_data=callbacks.encode(callbacks.Report(consultation_id)))]])
    return Screen(t.directed("\n".join(lines)), keyboard)
