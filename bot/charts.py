"""The summary chart: citizens beside officials in each pillar, 0 to 100, drawn as a PNG.

Drawn with matplotlib's object API on the headless Agg canvas: no pyplot, so no global figure list
to leak into and nothing to close, and a chart can be drawn in a worker thread. Text uses DejaVu
Sans (shipped with matplotlib) with any installed font for scripts it lacks as a fallback; callers
check ``can_draw`` first, since without such a font (Chinese, say) characters would show as boxes.
"""

from __future__ import annotations

import io
import math
import textwrap
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.patches import Patch

_FALLBACKS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "WenQuanYi Zen Hei",
              "Droid Sans Fallback", "Noto Sans Arabic", "Noto Naskh Arabic")
_INSTALLED = {entry.name for entry in font_manager.fontManager.ttflist}
FAMILIES = ["DejaVu Sans", *(name for name in _FALLBACKS if name in _INSTALLED)]
CITIZENS_COLOUR = "#1f77b4"
OFFICIALS_COLOUR = "#ff7f0e"
_LABEL_WIDTH = 14  # characters per line of a pillar's name under its bars

_DRAWABLE = frozenset().union(*(
    FT2Font(font_manager.findfont(FontProperties(family=name))).get_charmap() for name in FAMILIES))

# A missing glyph is drawn as a box; saying so on every chart would only fill the log.
warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from", category=UserWarning)


def can_draw(*texts: str) -> bool:
    """Whether the installed fonts have every character of the texts (else they show as boxes)."""
    return all(ord(c) in _DRAWABLE or c.isspace()
               for text in texts for c in text)


@dataclass(frozen=True)
class ChartTexts:
    """The chart's words, already in the reader's language."""

    title: str
    axis: str  # the score axis, e.g. "Score (0 to 100)"
    citizens: str  # legend entries
    officials: str
    note: str = ""  # under the chart, e.g. which group is withheld
    number: Callable[[int], str] = str  # a bar's or tick's figure in the reader's digits


def render(pillars: Sequence[str], citizens: Sequence[float | None],
           officials: Sequence[float | None], texts: ChartTexts) -> bytes:
    """A PNG with a pair of bars per pillar; a missing score (withheld) has no bar."""
    buffer = io.BytesIO()
    draw(pillars, citizens, officials, texts).savefig(buffer, format="png")
    return buffer.getvalue()


def draw(pillars: Sequence[str], citizens: Sequence[float | None],
         officials: Sequence[float | None], texts: ChartTexts) -> Figure:
    """The chart as a matplotlib figure (``render`` saves it as a PNG).

    Every text is drawn as it is, never parsed as mathtext: a title such as "Budget $5M to $10M"
    would otherwise be typeset as a formula, and "$\\frac$" would raise an error.
    """
    figure = Figure(figsize=(8, 4.8), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.38
    for offset, values, colour in ((-width / 2, citizens, CITIZENS_COLOUR),
                                   (width / 2, officials, OFFICIALS_COLOUR)):
        shown = [(i + offset, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
        bars = axes.bar([x for x, _ in shown], [v for _, v in shown], width, color=colour)
        # Cut down like the scores in the text (49.9 shows as 49), so both say the same.
        axes.bar_label(bars, labels=[texts.number(math.floor(v)) for _, v in shown], padding=2,
                       fontproperties=_font(8), parse_math=False)
    for band in (25, 50, 75):
        axes.axhline(band, color="#bbbbbb", linewidth=0.8, linestyle="--", zorder=0)
    axes.set_ylim(0, 105)
    ticks = [0, 25, 50, 75, 100]
    axes.set_yticks(ticks, labels=[texts.number(tick) for tick in ticks], parse_math=False)
    axes.set_xticks(range(len(pillars)))
    axes.set_xticklabels([textwrap.fill(name, _LABEL_WIDTH) for name in pillars],
                         fontproperties=_font(8), parse_math=False)
    axes.set_ylabel(texts.axis, fontproperties=_font(9), parse_math=False)
    axes.spines[["top", "right"]].set_visible(False)
    figure.suptitle(texts.title, fontproperties=_font(12), parse_math=False)
    if texts.note:
        axes.set_title(texts.note, fontproperties=_font(8), color="#555555", parse_math=False)
    keys = [Patch(color=CITIZENS_COLOUR), Patch(color=OFFICIALS_COLOUR)]
    legend = figure.legend(keys, [texts.citizens, texts.officials], loc="outside lower center",
                           ncols=2, frameon=False, prop=_font(9))
    for text in legend.get_texts():
        text.set_parse_math(False)
    return figure


def _font(size: float) -> FontProperties:
    return FontProperties(family=FAMILIES, size=size)
