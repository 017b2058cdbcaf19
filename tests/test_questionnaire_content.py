"""The shipped METEP-style questionnaire meets its specification (the content, not the loader)."""

import re

import pytest

from conversations.loader import load_questionnaire
from conversations.model import Question, QuestionKind, Questionnaire

PILLARS = {
    "framework": "Enabling framework",
    "e_information": "E-information",
    "e_consultation": "E-consultation",
    "e_decision": "E-decision-making",
    "inclusion": "Inclusion and outreach",
}
MAX_QUESTION_LENGTH = 300
MAX_BUTTON_LENGTH = 30


@pytest.fixture(scope="module")
def metep() -> Questionnaire:
    return load_questionnaire()


def scored(questions: tuple[Question, ...]) -> list[Question]:
    return [q for q in questions if q.kind is QuestionKind.CHOICE]


def test_five_pillars_with_the_agreed_ids_and_titles_in_order(metep: Questionnaire) -> None:
    assert metep.id == "metep"
    assert [(p.id, p.title) for p in metep.pillars] == list(PILLARS.items())


@pytest.mark.parametrize("pillar_id", PILLARS)
def test_each_pillar_has_five_to_eight_scored_questions(metep: Questionnaire, pillar_id: str) -> None:
    assert 5 <= len(scored(metep.pillar(pillar_id).questions)) <= 8


@pytest.mark.parametrize("pillar_id", PILLARS)
def test_each_pillar_ends_with_its_only_comment_question(metep: Questionnaire, pillar_id: str) -> None:
    questions = metep.pillar(pillar_id).questions
    texts = [q for q in questions if q.kind is QuestionKind.TEXT]
    assert texts == [questions[-1]]
    comment = questions[-1]
    assert comment.show_if is None
    assert comment.text.endswith("(optional)")


def test_conditional_follow_ups_depend_on_an_earlier_yes_no_answer(metep: Questionnaire) -> None:
    conditional = [q for q in metep.questions if q.show_if is not None]
    assert 3 <= len(conditional) <= 5
    for question in conditional:
        parent = metep.question(question.show_if.question_id)
        assert parent is not None
        assert metep.position(parent.id) < metep.position(question.id)
        assert parent.scale is metep.scales["yes_no"], question.id
        assert parent.show_if is None, f"{question.id} hangs off another follow-up"
        assert question.show_if.any_of == frozenset({"yes"}), question.id
        assert question.pillar_id == parent.pillar_id, question.id


def test_respondent_answering_yes_everywhere_sees_31_to_38_questions(metep: Questionnaire) -> None:
    visible = [q for q in metep.questions
               if q.show_if is None or "yes" in q.show_if.any_of]
    assert 31 <= len(visible) <= 38


@pytest.mark.parametrize("question_id", [q.id for q in load_questionnaire().questions])
def test_question_is_short_enough_for_a_phone(metep: Questionnaire, question_id: str) -> None:
    text = metep.question(question_id).text
    assert len(text) < MAX_QUESTION_LENGTH
    assert text == text.strip() and "  " not in text


def test_ids_are_unique_and_named_after_their_pillar(metep: Questionnaire) -> None:
    ids = [q.id for q in metep.questions]
    assert len(ids) == len(set(ids))
    for question in metep.questions:
        assert re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", question.id), question.id
        assert question.id.startswith(question.pillar_id + "."), question.id
        assert len(question.id) <= 40


def test_scales_are_yes_no_and_five_point_agreement_with_dont_know(metep: Questionnaire) -> None:
    assert set(metep.scales) == {"yes_no", "agreement"}
    yes_no = metep.scales["yes_no"]
    assert [(o.id, o.points) for o in yes_no.options] == [("yes", 1), ("no", 0), ("dont_know", None)]
    agreement = metep.scales["agreement"]
    assert [o.points for o in agreement.options] == [0, 1, 2, 3, 4, None]
    assert agreement.options[-1].id == "dont_know"
    for scale in metep.scales.values():
        for option in scale.options:
            assert len(option.text) <= MAX_BUTTON_LENGTH, option.text


def test_both_scales_are_used_by_every_pillar(metep: Questionnaire) -> None:
    """Facts are yes/no/don't know items, perceptions agreement statements; each pillar has both."""
    for pillar in metep.pillars:
        used = {q.scale.id for q in scored(pillar.questions)}
        assert used == {"yes_no", "agreement"}, pillar.id
