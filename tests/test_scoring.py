"""Scoring rule: shares of the maximum over answered, shown items; "don't know" is missing."""

import pytest

from conversations.model import Answer, Questionnaire
from conversations.scoring import Band, band_for, score_answers


def answers(**chosen: str) -> dict[str, Answer]:
    return {qid.replace("__", "."): Answer(qid.replace("__", "."), option_id=o) for qid, o in chosen.items()}


@pytest.mark.parametrize(("score", "band"), [
    (0, Band.LOW), (24.99, Band.LOW), (25, Band.MIDDLE), (49.9, Band.MIDDLE),
    (50, Band.HIGH), (74.9, Band.HIGH), (75, Band.VERY_HIGH), (100, Band.VERY_HIGH),
])
def test_bands_follow_the_e_government_survey(score: float, band: Band) -> None:
    assert band_for(score) is band


def test_dont_know_counts_as_missing_not_zero(mini: Questionnaire) -> None:
    card = score_answers(mini, answers(second__portal="yes", second__useful="dont_know"))
    second = card.pillars[1]
    assert (second.score, second.counted) == (100.0, 1)


def test_pillar_with_only_dont_know_has_no_score_and_is_left_out_of_the_overall(mini: Questionnaire) -> None:
    card = score_answers(mini, answers(first__law="dont_know", second__portal="no", second__useful="agree"))
    assert card.pillars[0].score is None
    assert card.overall == 50.0
    assert card.band is Band.HIGH


def test_scale_answers_earn_their_share_of_the_maximum(mini: Questionnaire) -> None:
    card = score_answers(mini, answers(first__law="yes", first__law_used="neutral"))
    assert card.pillars[0].score == pytest.approx(75.0)  # (1/1 + 1/2) / 2


def test_items_that_were_not_shown_are_ignored(mini: Questionnaire) -> None:
    # The follow-up was answered, then "law" changed to "no": the follow-up is hidden again.
    card = score_answers(mini, answers(first__law="no", first__law_used="agree"))
    assert (card.pillars[0].score, card.pillars[0].counted) == (0.0, 1)


def test_partial_answers_score_what_was_answered(mini: Questionnaire) -> None:
    card = score_answers(mini, answers(first__law="yes"))
    assert card.pillars[0].score == 100.0 and card.pillars[1].score is None
    assert card.overall == 100.0


def test_no_answers_have_no_overall_and_no_band(mini: Questionnaire) -> None:
    card = score_answers(mini, {})
    assert card.overall is None and card.band is None
