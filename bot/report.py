"""A consultation's report: one self-contained HTML file to take to the ministry.

Inline CSS and inline SVG charts, no script and no external request (a Content-Security-Policy
says so to the browser too). Charts keep their words as SVG text, so the reader's browser shapes
Arabic and Persian and draws Chinese with its own fonts. The page has ``lang`` and, for
right-to-left languages, ``dir="rtl"``; it reads on a phone 390 px wide (only wide tables scroll,
in their own box) and prints on A4.

Built with ``html.escape`` on every value that comes from outside the code (titles, questionnaire
texts, comments, numbers); translated strings are trusted markup like the bot's messages (their
only tags are <b> and <i>), and their placeholders are filled with escaped values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape


from bot.i18n import Translator
from bot.question_screens import demo_note, legend, percent_text, points_phrase, sides_text
from bot.screens import Texts, band_name, consultation_text, score_text
from bot.summary_screens import gap_phrase, gap_points, line_name, withheld_groups
from conversations.model import Question, Questionnaire
from conversations.question_results import GroupResult, QuestionLine, QuestionResults, percent
from conversations.summaries import OVERALL, Figure, Summary, shown
from storage import Comment, Consultation

CITIZENS_COLOUR = "#1f77b4"  # as in the PNG chart
OFFICIALS_COLOUR = "#e8710a"
_CHART_WIDTH = 360  # SVG user units: about CSS pixels on a phone, so the text is legible there
_LABEL_CHARS = 44

_CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic",
"Noto Sans CJK SC",sans-serif;color:#1b1b1b;background:#fff;overflow-wrap:break-word}
p,li,h1,h2,h3,blockquote,figcaption{overflow-wrap:anywhere}
main{max-width:46rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;line-height:1.25;margin:.25rem 0 .5rem}
h2{font-size:1.25rem;margin:2rem 0 .5rem;border-bottom:2px solid #ddd;padding-bottom:.25rem}
h3{font-size:1rem;margin:1.25rem 0 .5rem}
.kicker{color:#555;margin:0;font-size:.9rem;text-transform:uppercase;letter-spacing:.04em}
.meta{color:#444;margin:.25rem 0}
.demo{background:#fff3cd;border:1px solid #e0b100;padding:.5rem .75rem;border-radius:.25rem}
.note{color:#555;font-size:.9rem}
.withheld{color:#8a4b00;font-style:italic;white-space:normal}
.scroll{overflow-x:auto;max-width:100%;margin:.5rem 0}
table{border-collapse:collapse;font-size:.9rem;min-width:100%}
th,td{padding:.3rem .5rem;border-bottom:1px solid #e3e3e3;text-align:start;vertical-align:top}
td.n,th.n{text-align:end;white-space:nowrap;font-variant-numeric:tabular-nums}
th[scope=row]{min-width:9em;font-weight:600}
thead th{background:#f4f4f4}
figure{margin:.75rem 0}
figure svg{display:block;width:100%;max-width:28rem;height:auto}
figcaption{font-size:.85rem;color:#555}
.legend{list-style:none;padding:0;margin:.25rem 0;display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.85rem}
.legend li{display:flex;align-items:center;gap:.35rem}
.swatch{display:inline-block;width:.9rem;height:.9rem;border-radius:.15rem;flex:none}
.question{border-top:1px solid #eee;padding-top:.25rem}
.gap{font-weight:600}
ol,ul{padding-inline-start:1.5rem}
blockquote{margin:.5rem 0;padding:.25rem .75rem;border-inline-start:3px solid #ccc;white-space:pre-wrap}
@page{size:A4;margin:14mm}
@media print{
body{font-size:10.5pt}
main{max-width:none;padding:0}
.scroll{overflow:visible}
.question,figure,tr{break-inside:avoid}
h2,h3{break-after:avoid}
section.pillar{break-before:page}
}
"""


@dataclass(frozen=True)
class ReportData:
    """Everything a report says, already read (as of the last release) and checked."""

    consultation: Consultation
    summary: Summary
    results: QuestionResults
    comments: Sequence[Comment] | None  # None: not for this reader (moderators only)
    # The roles a comment may be labelled with: groups larger than the minimum, so that a label
    # never narrows a comment down to a few people.
    labelled: frozenset[str]
    demo: bool
    made_at: datetime


def filename(t: Translator, consultation: Consultation) -> str:
    """``baraza-report-7-open-budgets-fr.html``: the consultation's number, title and language."""
    title = unicodedata.normalize("NFKD", consultation_text(t, consultation).title)
    slug = re.sub(r"[^a-z0-9]+", "-", title.encode("ascii", "ignore").decode().lower()).strip("-")
    slug = slug[:40].rstrip("-")
    return "-".join(part for part in ("baraza-report", str(consultation.id), slug, t.locale) if part) + ".html"


def render(t: Translator, questionnaire: Questionnaire, data: ReportData) -> str:
    """The report as one HTML document in the reader's language."""
    texts = Texts(questionnaire, t)
    title = consultation_text(t, data.consultation).title
    heading = t._("Report: {title}").format(title=title)
    direction = ' dir="rtl"' if t.rtl else ' dir="ltr"'
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(t.locale.replace("_", "-"))}"{direction}>',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No script, and nothing fetched: every style and chart is in this file.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{escape(heading)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body><main>",
        *_header(t, data, title),
        *_respondents(t, data.summary),
        *_method(t, data.summary),
        *_scores(t, questionnaire, data.summary),
        *_highlights(t, texts, data.results),
        *(_pillar(t, texts, questionnaire, data.results, index)
          for index in range(len(questionnaire.pillars))),
    ]
    if data.comments is not None:
        parts += _comments(t, questionnaire, texts, data.comments, data.labelled)
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


# -- sections -------------------------------------------------------------------------------------


def _header(t: Translator, data: ReportData, title: str) -> list[str]:
    consultation = data.consultation
    status = {"draft": t._("draft"), "open": t._("open"), "closed": t._("closed")}.get(
        consultation.status, consultation.status)
    meta = [t._("Consultation #{number}").format(number=t.number(consultation.id)), escape(status)]
    if consultation.opens_at is not None:
        meta.append(t._("opens {moment}").format(moment=t.moment(consultation.opens_at)))
    if consultation.closes_at is not None:
        meta.append(t._("closes {moment}").format(moment=t.moment(consultation.closes_at)))
    kicker = t._("Consultation report")
    made = t._("Made on {moment}").format(moment=t.moment(data.made_at))
    lines = [f'<p class="kicker">{escape(kicker)}</p>',
             f"<h1>{escape(title)}</h1>"]
    description = consultation_text(t, consultation).description
    if description:
        lines.append(f"<p>{escape(description)}</p>")
    lines.append(f'<p class="meta">{escape(" · ".join(meta))}</p>')
    lines.append(f'<p class="meta">{escape(made)}</p>')
    if data.demo:
        lines.append(f'<p class="demo" role="note">{escape(demo_note(t))}</p>')
    return lines


def _count(t: Translator, finished: int, withheld: bool, summary: Summary) -> str:
    if withheld:
        return f'<span class="withheld">{escape(_fewer_than(t, summary.min_group))}</span>'
    return escape(t.number(finished))


def _fewer_than(t: Translator, min_group: int) -> str:
    return t.ngettext("fewer than {count} respondent", "fewer than {count} respondents",
                      min_group + 1).format(count=t.number(min_group + 1))


def _respondents(t: Translator, summary: Summary) -> list[str]:
    rows = [(t._("Everyone"), summary.everyone), (t._("Citizens"), summary.citizens),
            (t._("Officials"), summary.officials)]
    body = "".join(f"<tr><th scope=\"row\">{escape(name)}</th>"
                   f"<td class=\"n\">{_count(t, group.finished, group.withheld, summary)}</td></tr>"
                   for name, group in rows)
    heading, group, finished = t._("Respondents"), t._("Group"), t._("Finished")
    return [f'<section id="respondents"><h2>{escape(heading)}</h2>',
            f'<div class="scroll"><table><thead><tr><th>{escape(group)}</th>'
            f'<th class="n">{escape(finished)}</th></tr></thead><tbody>{body}</tbody>'
            "</table></div></section>"]


def _method(t: Translator, summary: Summary) -> list[str]:
    items = [
        t._("Each answer earns points: yes 1, no 0; on the agreement scale, from 0 (strongly "
            "disagree) to 4 (strongly agree). A respondent's score in a pillar is 100 times their "
            "share of the possible points over the questions they answered; their overall index is "
            "the mean of their pillar scores. A group's score is the mean of its respondents'."),
        t._("\"Don't know\" counts as no answer, not as zero. A follow-up question counts only for "
            "those it was shown to."),
        t._("Bands: low: under 25; middle: 25 to under 50; high: 50 to under 75; very "
            "high: 75 and above."),
        legend(t),
        t._("Scores from 0 to 100; the gap is officials minus citizens, in points."),
        t.ngettext(
            "A group's figures are shown only when more than {count} of its respondents answered, "
            "and they are updated only after more than {count} new respondents have finished, so "
            "that nobody's answers can be worked out.",
            "A group's figures are shown only when more than {count} of its respondents answered, "
            "and they are updated only after more than {count} new respondents have finished, so "
            "that nobody's answers can be worked out.",
            summary.min_group).format(count=t.number(summary.min_group)),
    ]
    heading = t._("How to read this report")
    return [f'<section id="method"><h2>{escape(heading)}</h2><ul>',
            *(f"<li>{escape(item)}</li>" for item in items), "</ul></section>"]


def _score_cell(t: Translator, figure: Figure, summary: Summary) -> str:
    if figure.withheld and shown(figure.respondents, summary.min_group):
        reason = t._("not shown, since a smaller group could be worked out from it")
        return f'<span class="withheld">{escape(reason)}</span>'
    if figure.withheld:
        return f'<span class="withheld">{escape(_fewer_than(t, summary.min_group))}</span>'
    if figure.mean is None or figure.band is None:
        return escape(t._("no scores"))
    return escape(f"{score_text(t, figure.mean)} ({band_name(t, figure.band)})")


def _scores(t: Translator, questionnaire: Questionnaire, summary: Summary) -> list[str]:
    lines = (*summary.pillars, summary.overall)
    names = (t._("Pillar"), t._("Everyone"), t._("Citizens"), t._("Officials"))
    head = "".join(f'<th{" class=n" if i else ""}>{escape(name)}</th>' for i, name in enumerate(names))
    rows = []
    for line in lines:
        name = escape(line_name(t, questionnaire, line))
        if line.pillar_id == OVERALL:
            name = f"<strong>{name}</strong>"
        rows.append(f"<tr><th scope=\"row\">{name}</th>"
                    + "".join(f"<td class=\"n\">{_score_cell(t, f, summary)}</td>"
                              for f in (line.everyone, line.citizens, line.officials)) + "</tr>")
    gaps = []
    for line in lines:
        points = gap_points(line)
        if points is not None:
            subject = (t._("the overall index") if line.pillar_id == OVERALL
                       else escape(line_name(t, questionnaire, line)))
            # The phrase's only value from outside, the pillar's name, is escaped already.
            gaps.append(f"<li>{gap_phrase(t, subject, points)}</li>")
    heading = t._("Scores")
    section = [f'<section id="scores"><h2>{escape(heading)}</h2>',
               f"<div class=\"scroll\"><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
               "</tbody></table></div>",
               _pillar_chart(t, questionnaire, summary)]
    if gaps:
        section.append(f"<ul>{''.join(gaps)}</ul>")
    section += [f'<p class="withheld">{escape(text)}</p>' for text in withheld_groups(t, summary)]
    section.append("</section>")
    return section


def _highlights(t: Translator, texts: Texts, results: QuestionResults) -> list[str]:
    gaps = results.largest_gaps()
    heading = t._("<b>Where officials and citizens differ most</b> (share of positive answers)")
    lines = [f'<section id="gaps"><h2>{heading}</h2>']
    if not gaps:
        missing = t._("Not enough answers from both groups to compare questions yet.")
        lines.append(f'<p class="withheld">{escape(missing)}</p>')
    else:
        lines.append("<ol>")
        for line in gaps:
            lines.append(f"<li><strong>{escape(texts.question(line.question))}</strong><br>"
                         f"{escape(sides_text(t, line))} {escape(points_phrase(t, line.gap or 0))}"
                         "</li>")
        lines.append("</ol>")
        lines.append(_gaps_chart(t, texts, gaps))
    lowest = results.lowest_for_citizens()
    if lowest:
        heading = t._("<b>What citizens rate lowest</b> (share of positive answers)")
        lines.append(f"<h2>{heading}</h2><ol>")
        for line in lowest:
            assert line.citizens_positive is not None
            lines.append(f"<li><strong>{escape(percent_text(t, line.citizens_positive))}</strong>"
                         f" · {escape(texts.question(line.question))}</li>")
        lines.append("</ol>")
    lines.append("</section>")
    return lines


def _pillar(t: Translator, texts: Texts, questionnaire: Questionnaire, results: QuestionResults,
            index: int) -> str:
    pillar = questionnaire.pillars[index]
    heading = t._("Pillar {number} of {total}: {pillar}").format(
        number=t.number(index + 1), total=t.number(len(questionnaire.pillars)),
        pillar=texts.pillar(pillar))
    parts = [f'<section class="pillar" id="pillar-{escape(pillar.id)}"><h2>{escape(heading)}</h2>']
    for number, line in enumerate(results.pillar(pillar.id), start=1):
        parts.append(_question(t, texts, results, line, number))
    parts.append("</section>")
    return "\n".join(parts)


def _question(t: Translator, texts: Texts, results: QuestionResults, line: QuestionLine,
              number: int) -> str:
    question = line.question
    assert question.scale is not None
    groups = ((t._("Citizens"), line.citizens), (t._("Officials"), line.officials))

    def cell(result: GroupResult, value: float | None) -> str:
        if result.withheld:
            return f'<span class="withheld">{escape(_fewer_than(t, results.min_group))}</span>'
        if result.answered == 0:
            return "—"
        return escape(percent_text(t, value)) if value is not None else "—"

    head = "".join(f"<th class=\"n\">{escape(name)}</th>" for name, _ in groups)
    rows = [f"<tr><th scope=\"row\">{escape(texts.option(question, option))}</th>"
            + "".join(f"<td class=\"n\">{cell(r, r.share(option.id))}</td>" for _, r in groups)
            + "</tr>" for option in question.scale.options]
    positive, answered, answer = t._("Positive"), t._("Answered"), t._("Answer")
    rows.append(f'<tr><th scope="row">{escape(positive)}</th>'
                + "".join(f"<td class=\"n\">{cell(r, line.positive(r))}</td>" for _, r in groups)
                + "</tr>")
    rows.append(f'<tr><th scope="row">{escape(answered)}</th>'
                + "".join(f'<td class="n">{cell(r, None) if r.withheld else escape(t.number(r.answered))}</td>'
                          for _, r in groups) + "</tr>")
    parts = [f'<article class="question" id="q-{escape(question.id)}">',
             f"<h3>{escape(t.number(number))}. {escape(texts.question(question))}</h3>",
             f'<div class="scroll"><table><thead><tr><th>{escape(answer)}</th>{head}</tr>'
             f"</thead><tbody>{''.join(rows)}</tbody></table></div>",
             _question_chart(t, texts, line)]
    if line.gap is not None:
        parts.append(f'<p class="gap">{escape(points_phrase(t, line.gap))}</p>')
    parts.append("</article>")
    return "\n".join(parts)


def _comments(t: Translator, questionnaire: Questionnaire, texts: Texts,
              comments: Sequence[Comment], labelled: frozenset[str]) -> list[str]:
    roles = {"citizen": t._("citizen"), "official": t._("official"), "moderator": t._("moderator")}
    note = t._("Only moderators receive this section. Comments are shown without names.")
    heading, none = t._("Comments"), t._("There are no comments yet.")
    parts = [f'<section id="comments"><h2>{escape(heading)}</h2>',
             f'<p class="note">{escape(note)}</p>']
    if not comments:
        parts.append(f"<p>{escape(none)}</p>")
    for comment in comments:
        question = questionnaire.question(comment.question_id)
        where = (texts.pillar(questionnaire.pillar(question.pillar_id)) if question is not None
                 else comment.question_id)
        if comment.role in labelled:
            where = f"{where} · {roles.get(comment.role, comment.role)}"
        parts.append(f'<p class="note">{escape(where)}</p>'
                     f"<blockquote>{escape(comment.text)}</blockquote>")
    parts.append("</section>")
    return parts


# -- charts (inline SVG, words as text) -----------------------------------------------------------


def _svg_text(t: Translator, x: float, y: float, text: str, *, anchor: str = "start",
              size: float = 12, weight: str = "normal", fill: str = "#1b1b1b") -> str:
    # In right-to-left text "start" is the right-hand end; the x given is for left to right.
    if t.rtl:
        x = _CHART_WIDTH - x
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" fill="{fill}" '
            f'text-anchor="{anchor}" direction="{"rtl" if t.rtl else "ltr"}">{escape(text)}</text>')


def _svg_rect(t: Translator, x: float, y: float, width: float, height: float, fill: str) -> str:
    if t.rtl:
        x = _CHART_WIDTH - x - width
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" height="{height:.1f}" fill="{fill}"/>'


def _label(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[:_LABEL_CHARS - 1].rstrip() + "…"


def _svg(t: Translator, height: float, label: str, body: Sequence[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_CHART_WIDTH} {height:.0f}" '
            f'role="img" aria-label="{escape(label)}" font-family="system-ui, sans-serif">'
            + "".join(body) + "</svg>")


def _legend(items: Sequence[tuple[str, str]]) -> str:
    return '<ul class="legend">' + "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{escape(name)}</li>'
        for name, colour in items) + "</ul>"


def _pillar_chart(t: Translator, questionnaire: Questionnaire, summary: Summary) -> str:
    """Citizens' and officials' bars per pillar and overall, 0 to 100, with the gap."""
    lines = (*summary.pillars, summary.overall)
    if not any(f.mean is not None for line in lines for f in (line.citizens, line.officials)):
        missing = t._("No chart yet: neither group is large enough.")
        return f'<p class="withheld">{escape(missing)}</p>'
    row, bar, left, right = 58, 14, 8, 300  # bars span left..right for 0..100
    body = []
    for i, line in enumerate(lines):
        y = 8 + i * row
        body.append(_svg_text(t, left, y + 12, _label(line_name(t, questionnaire, line)), size=12,
                              weight="bold" if line.pillar_id == OVERALL else "normal"))
        for j, (figure, colour) in enumerate(((line.citizens, CITIZENS_COLOUR),
                                              (line.officials, OFFICIALS_COLOUR))):
            top = y + 18 + j * (bar + 4)
            body.append(_svg_rect(t, left, top, right - left, bar, "#f0f0f0"))
            if figure.mean is None:
                body.append(_svg_text(t, left + 4, top + 11, "—", size=10, fill="#555"))
                continue
            width = (right - left) * figure.mean / 100
            body.append(_svg_rect(t, left, top, width, bar, colour))
            body.append(_svg_text(t, left + width + 4, top + 11,
                                  score_text(t, figure.mean), size=11))
        points = gap_points(line)
        if points is not None:
            body.append(_svg_text(t, _CHART_WIDTH - 4, y + 12, t.signed(points), anchor="end",
                                  size=11, weight="bold"))
    height = 8 + len(lines) * row
    label = t._("Citizens and officials in each pillar, 0 to 100")
    return ("<figure>" + _svg(t, height, label, body)
            + _legend(((t._("Citizens"), CITIZENS_COLOUR), (t._("Officials"), OFFICIALS_COLOUR)))
            + f"<figcaption>{escape(label)}</figcaption></figure>")


def _gaps_chart(t: Translator, texts: Texts, gaps: Sequence[QuestionLine]) -> str:
    """The largest gaps as bars from a middle line: officials higher to one side, lower to the other."""
    row, middle, half = 40, _CHART_WIDTH / 2, _CHART_WIDTH / 2 - 40
    body = []
    for i, line in enumerate(gaps):
        y = 4 + i * row
        gap = line.gap or 0
        # The zero line beside each bar only, so it never crosses a question's words.
        body.append(f'<line x1="{middle}" y1="{y + 16}" x2="{middle}" y2="{y + 32}" stroke="#999"/>')
        body.append(_svg_text(t, 4, y + 12, _label(texts.question(line.question)), size=11))
        width = half * abs(gap) / 100
        x = middle if gap > 0 else middle - width
        body.append(_svg_rect(t, x, y + 18, width, 12, OFFICIALS_COLOUR if gap > 0 else CITIZENS_COLOUR))
        label_x = middle + width + 4 if gap > 0 else middle - width - 4
        body.append(_svg_text(t, label_x, y + 28, t.signed(gap),
                              anchor="start" if gap > 0 else "end", size=11, weight="bold"))
    caption = t._("Officials' share of positive answers minus citizens', in points")
    return ("<figure>" + _svg(t, len(gaps) * row + 8, caption, body)
            + f"<figcaption>{escape(caption)}</figcaption></figure>")


def _option_colour(question: Question, option_id: str) -> str:
    assert question.scale is not None
    option = question.scale.option(option_id)
    if option is None or option.points is None:
        return "#b0b0b0"  # don't know
    ratio = option.points / question.scale.max_points
    low, mid, high = (178, 24, 43), (235, 235, 235), (33, 102, 172)
    start, end, r = (low, mid, ratio * 2) if ratio <= 0.5 else (mid, high, ratio * 2 - 1)
    return "#" + "".join(f"{round(a + (b - a) * r):02x}" for a, b in zip(start, end))


def _dark(colour: str) -> bool:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue < 150


def _question_chart(t: Translator, texts: Texts, line: QuestionLine) -> str:
    """Each group's answers as one bar split by option (shares), with the percentages on it."""
    question = line.question
    assert question.scale is not None
    groups = ((t._("Citizens"), line.citizens), (t._("Officials"), line.officials))
    if not any(r.visible for _, r in groups):
        return ""
    left, right, bar = 4, _CHART_WIDTH - 4, 22
    body = []
    for i, (name, result) in enumerate(groups):
        y = 4 + i * 48
        body.append(_svg_text(t, left, y + 12, name, size=12, weight="bold"))
        if not result.visible:
            body.append(_svg_text(t, left, y + 32, "—", size=11, fill="#555"))
            continue
        x = float(left)
        for option in question.scale.options:
            share = result.share(option.id) or 0.0
            width = (right - left) * share
            if width <= 0:
                continue
            colour = _option_colour(question, option.id)
            body.append(_svg_rect(t, x, y + 18, width, bar, colour))
            if percent(share) >= 9:
                body.append(_svg_text(t, x + width / 2, y + 33, percent_text(t, share),
                                      anchor="middle", size=10,
                                      fill="#fff" if _dark(colour) else "#1b1b1b"))
            x += width
    label = t._("Answers of citizens and officials: {question}").format(
        question=texts.question(question))
    items = [(texts.option(question, o), _option_colour(question, o.id))
             for o in question.scale.options]
    return "<figure>" + _svg(t, 100, label, body) + _legend(items) + "</figure>"
