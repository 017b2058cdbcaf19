"""A consultation's summary: per pillar and overall, citizens beside officials, small groups withheld.

The rule (also in the README): every finished respondent is scored by ``score_answers``. A group's
score in a pillar is the mean over its respondents who have a score there; its overall index is the
mean of its respondents' overall indexes. Citizens and officials are set side by side, with the gap
officials minus citizens; moderators count only in "everyone".

Privacy: a reader who belongs to a group knows their own score, so from the group's mean they can
work out the mean of the others in it. A mean is therefore shown only when it rests on MORE than
``min_group`` respondents: even a member who takes themselves out is left with at least
``min_group`` others. The same holds for "everyone", and for what taking the shown groups out of
"everyone" would leave (moderators, and any withheld group): between one and ``min_group``
respondents there withholds the everyone figure too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from conversations.model import Questionnaire
from conversations.roles import Role
from conversations.scoring import Band, ScoreCard, band_for

OVERALL = "*"  # the pseudo-pillar holding the overall index (pillar ids begin with a letter)
_ALL = tuple(role.value for role in Role)


@dataclass(frozen=True)
class Tally:
    """Running totals of one role's finished respondents in one pillar of a consultation."""

    role: str
    pillar_id: str  # a pillar id, or OVERALL
    respondents: int  # finished respondents of the role
    scored: int  # of them, those with a score here
    score_sum: float


def tallies_of(role: str, card: ScoreCard) -> tuple[Tally, ...]:
    """One respondent's contribution to the totals: each pillar and the overall index."""
    scores = [(p.pillar_id, p.score) for p in card.pillars] + [(OVERALL, card.overall)]
    return tuple(Tally(role, pillar_id, 1, int(score is not None), score or 0.0)
                 for pillar_id, score in scores)


@dataclass(frozen=True)
class Figure:
    """A group's mean score somewhere, or why there is none."""

    respondents: int  # respondents with a score here
    mean: float | None  # None when withheld or when nobody has a score here
    withheld: bool = False  # too few (or could be worked out by subtraction): not broken out

    @property
    def band(self) -> Band | None:
        return None if self.mean is None else band_for(self.mean)


@dataclass(frozen=True)
class Line:
    """One pillar (or the overall index): everyone, citizens and officials."""

    pillar_id: str  # a pillar id, or OVERALL
    everyone: Figure
    citizens: Figure
    officials: Figure

    @property
    def gap(self) -> float | None:
        """Officials minus citizens, in points, when both are shown."""
        if self.officials.mean is None or self.citizens.mean is None:
            return None
        return self.officials.mean - self.citizens.mean


@dataclass(frozen=True)
class Group:
    """How many respondents of a group finished; ``withheld`` when too few to report."""

    finished: int
    withheld: bool


def shown(respondents: int, min_group: int) -> bool:
    """Whether a mean of this many respondents may be shown: each of them, taking themselves out,
    is still left with at least ``min_group`` others (n - 1 >= min_group)."""
    return respondents - 1 >= min_group


@dataclass(frozen=True)
class Summary:
    min_group: int  # a shown mean rests on more respondents than this
    everyone: Group
    citizens: Group
    officials: Group
    pillars: tuple[Line, ...]
    overall: Line

    @property
    def smallest_shown(self) -> int:
        """The fewest respondents a shown mean rests on: smaller groups are "fewer than" it."""
        return self.min_group + 1

    @property
    def lowest_for_citizens(self) -> Line | None:
        """The pillar citizens rate lowest (the first of equals), if their scores are shown."""
        rated = [line for line in self.pillars if line.citizens.mean is not None]
        return min(rated, key=lambda line: line.citizens.mean or 0.0) if rated else None


def summarise(questionnaire: Questionnaire, tallies: Iterable[Tally], min_group: int) -> Summary:
    """Apply the summary rule to a consultation's running totals."""
    by_key: dict[tuple[str, str], Tally] = {}
    for t in tallies:
        key = (t.role, t.pillar_id)
        if key in by_key:
            t = Tally(t.role, t.pillar_id, by_key[key].respondents + t.respondents,
                      by_key[key].scored + t.scored, by_key[key].score_sum + t.score_sum)
        by_key[key] = t

    def figure(roles: tuple[str, ...], pillar_id: str) -> tuple[int, float]:
        found = [by_key[(r, pillar_id)] for r in roles if (r, pillar_id) in by_key]
        return sum(t.scored for t in found), sum(t.score_sum for t in found)

    def group_figure(role: Role, pillar_id: str) -> Figure:
        scored, total = figure((role.value,), pillar_id)
        if scored == 0:
            return Figure(0, None)
        if not shown(scored, min_group):
            return Figure(scored, None, withheld=True)
        return Figure(scored, total / scored)

    def line(pillar_id: str) -> Line:
        citizens = group_figure(Role.CITIZEN, pillar_id)
        officials = group_figure(Role.OFFICIAL, pillar_id)
        scored, total = figure(_ALL, pillar_id)
        rest = scored - sum(f.respondents for f in (citizens, officials) if f.mean is not None)
        if scored == 0:
            everyone = Figure(0, None)
        elif not shown(scored, min_group) or (rest > 0 and not shown(rest, min_group)):
            everyone = Figure(scored, None, withheld=True)
        else:
            everyone = Figure(scored, total / scored)
        return Line(pillar_id, everyone, citizens, officials)

    def group(roles: tuple[str, ...]) -> Group:
        # Every row of a role counts all its finished respondents.
        finished = sum(max((t.respondents for (r, _), t in by_key.items() if r == role), default=0)
                       for role in roles)
        return Group(finished, finished > 0 and not shown(finished, min_group))

    return Summary(
        min_group=min_group,
        everyone=group(_ALL),
        citizens=group((Role.CITIZEN.value,)),
        officials=group((Role.OFFICIAL.value,)),
        pillars=tuple(line(p.id) for p in questionnaire.pillars),
        overall=line(OVERALL),
    )
