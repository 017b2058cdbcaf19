"""Rendering details that a person would notice."""

from bot.i18n import Catalogs
from bot.screens import score_text


def test_shown_score_never_crosses_into_a_higher_band() -> None:
    t = Catalogs.load().translator("en")
    assert score_text(t, 49.9) == "49"
    assert score_text(t, 75.0) == "75"


def test_a_question_whose_screen_could_exceed_4096_characters_is_refused_at_start() -> None:
    import dataclasses

    import pytest

    from bot.screens import check_screens_fit
    from conversations.loader import QuestionnaireError, load_questionnaire

    shipped = load_questionnaire()
    catalogs = Catalogs.load()
    check_screens_fit(shipped, catalogs)  # the shipped questionnaire fits, in every language
    comment = next(q for q in shipped.questions if q.id == "framework.comment")
    roomy = dataclasses.replace(comment, max_length=3500)
    pillar = dataclasses.replace(shipped.pillars[0], questions=(roomy,))
    too_big = dataclasses.replace(shipped, pillars=(pillar,))
    with pytest.raises(QuestionnaireError, match="'framework.comment' can need"):
        check_screens_fit(too_big, catalogs)


def test_a_mean_of_exactly_fifty_summed_imprecisely_is_still_fifty_and_high() -> None:
    from conversations.scoring import Band, band_for

    t = Catalogs.load().translator("en")
    mean = sum([0.1] * 10) * 50  # 49.99999999999999
    assert mean < 50
    assert score_text(t, mean) == "50" and band_for(mean) is Band.HIGH
