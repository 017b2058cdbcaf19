"""The questionnaire engine, step by step, without Telegram or a database."""

import pytest

from conversations.flow import AskQuestion, Completed, Flow, Problem, Progress, Rejected, Step
from conversations.model import Answer, Questionnaire


@pytest.fixture
def flow(mini: Questionnaire) -> Flow:
    return Flow(mini)


def asked(step: Step) -> AskQuestion:
    (event,) = step.events
    assert isinstance(event, AskQuestion), event
    return event


def rejected(step: Step) -> Problem:
    (event,) = step.events
    assert isinstance(event, Rejected), event
    return event.problem


def walk(flow: Flow, *inputs: tuple[str, str]) -> Progress:
    progress = flow.new_progress()
    for question_id, value in inputs:
        step = flow.choose(progress, question_id, value) if value != "skip" else flow.skip(progress, question_id)
        assert step.saved is not None, step.events
        progress = step.progress
    return progress


def test_starts_at_the_first_question_with_progress_numbers(flow: Flow) -> None:
    event = asked(flow.resume(flow.new_progress()))
    assert (event.question.id, event.pillar.id, event.first) == ("first.law", "first", True)
    assert (event.place.part, event.place.number, event.place.follow_up) == (1, 1, False)


def test_no_progress_total_grows_during_a_walk(flow: Flow) -> None:
    totals = []
    progress = flow.new_progress()
    while not progress.finished:
        step = flow.resume(progress)
        (event,) = step.events
        if not isinstance(event, AskQuestion):
            break
        totals.append((event.place.part, event.place.parts, event.place.total))
        question = event.question
        step = (flow.choose(progress, question.id, question.scale.options[0].id)
                if question.scale is not None
                else flow.skip(progress, question.id))
        progress = step.progress
    # Within each part the total is the same from its first question to its last.
    for (part, parts, total), (next_part, next_parts, next_total) in zip(totals, totals[1:]):
        assert next_parts == parts
        assert next_part > part or next_total == total


def test_follow_up_is_asked_only_after_yes(flow: Flow) -> None:
    yes = flow.choose(flow.new_progress(), "first.law", "yes")
    assert asked(yes).question.id == "first.law_used"
    assert asked(yes).place.follow_up and asked(yes).place.number == 1  # shares its number
    no = flow.choose(flow.new_progress(), "first.law", "no")
    assert asked(no).question.id == "first.comment"


def test_records_the_answer_and_moves_the_cursor(flow: Flow) -> None:
    step = flow.choose(flow.new_progress(), "first.law", "no")
    assert step.saved == Answer("first.law", option_id="no")
    assert step.progress.cursor == "first.comment"


def test_a_double_tap_is_reported_as_already_answered(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "no"))
    step = flow.choose(progress, "first.law", "no")
    assert rejected(step) is Problem.ALREADY_ANSWERED
    assert step.progress == progress and step.saved is None


def test_a_button_of_an_earlier_question_is_stale(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "no"))
    assert rejected(flow.choose(progress, "first.law", "yes")) is Problem.STALE


@pytest.mark.parametrize(("question_id", "option_id"), [
    ("first.law", "maybe"), ("nope", "yes"), ("first.comment", "yes"),
])
def test_forged_question_or_option_is_invalid(flow: Flow, question_id: str, option_id: str) -> None:
    assert rejected(flow.choose(flow.new_progress(), question_id, option_id)) is Problem.INVALID


def test_text_is_refused_where_a_button_is_expected(flow: Flow) -> None:
    assert rejected(flow.comment(flow.new_progress(), "hello")) is Problem.EXPECTED_BUTTON


def test_comment_is_recorded_stripped(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "no"))
    step = flow.comment(progress, "  fine  ")
    assert step.saved == Answer("first.comment", text="fine")
    assert asked(step).question.id == "second.portal"


def test_over_long_comment_is_refused_with_the_limit(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "no"))
    step = flow.comment(progress, "x" * 21)
    assert step.events == (Rejected(Problem.TEXT_TOO_LONG, 20),)
    assert step.saved is None


def test_blank_comment_is_refused(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "no"))
    assert rejected(flow.comment(progress, "   ")) is Problem.EMPTY_TEXT


def test_skip_records_an_empty_comment(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "no"))
    step = flow.skip(progress, "first.comment")
    assert step.saved == Answer("first.comment")
    assert rejected(flow.skip(step.progress, "first.comment")) is Problem.ALREADY_ANSWERED


def test_back_shows_the_previous_question_with_its_answer(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "yes"), ("first.law_used", "agree"))
    event = asked(flow.back(progress))
    assert event.question.id == "first.law_used"
    assert event.current == Answer("first.law_used", option_id="agree")


def test_changing_an_answer_returns_to_the_first_unanswered_question(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "yes"), ("first.law_used", "agree"), ("first.comment", "skip"))
    for _ in range(3):
        progress = flow.back(progress).progress
    assert progress.cursor == "first.law"
    step = flow.choose(progress, "first.law", "no")
    assert asked(step).question.id == "second.portal"
    assert "first.law_used" in step.progress.answers  # kept, but no longer shown or scored


def test_back_from_the_first_question_is_refused(flow: Flow) -> None:
    assert rejected(flow.back(flow.new_progress())) is Problem.NOTHING_BEFORE


def test_completes_with_scores_after_the_last_question(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "yes"), ("first.law_used", "agree"), ("first.comment", "skip"),
                    ("second.portal", "no"))
    step = flow.choose(progress, "second.useful", "neutral")
    (event,) = step.events
    assert isinstance(event, Completed)
    assert step.progress.finished and step.progress.cursor is None
    assert [p.score for p in event.scores.pillars] == [100.0, 25.0]


def test_input_after_completion_is_refused(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "no"), ("first.comment", "skip"), ("second.portal", "no"),
                    ("second.useful", "agree"))
    assert progress.finished
    assert rejected(flow.choose(progress, "first.law", "yes")) is Problem.FINISHED
    assert rejected(flow.back(progress)) is Problem.FINISHED
    assert isinstance(flow.resume(progress).events[0], Completed)


def test_resume_continues_at_the_first_unanswered_question(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "no"))
    assert asked(flow.resume(Progress(progress.answers, cursor=None))).question.id == "first.comment"


def test_a_second_back_from_the_same_button_is_stale(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "yes"), ("first.law_used", "agree"))
    once = flow.back(progress, "first.comment")
    assert asked(once).question.id == "first.law_used"
    assert rejected(flow.back(once.progress, "first.comment")) is Problem.STALE
    assert asked(flow.back(once.progress, "first.law_used")).question.id == "first.law"


def test_keep_moves_on_from_an_answered_comment_without_changing_it(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "no"))
    progress = flow.comment(progress, "Mine").progress
    back = flow.back(progress).progress
    step = flow.keep(back, "first.comment")
    assert step.saved is None and step.progress.answers["first.comment"].text == "Mine"
    assert asked(step).question.id == "second.portal"
    assert rejected(flow.keep(step.progress, "first.comment")) is Problem.STALE


LABELS = {"yes_no": {"yes": "yes", "no": "no", "don't know": "dont_know"}}


@pytest.mark.parametrize(("typed", "option"), [
    ("yes", "yes"), ("  YES. ", "yes"), ("No!", "no"), ("1", "yes"), ("2", "no"), ("٢", "no")])
def test_typing_an_options_label_or_number_chooses_it(flow: Flow, typed: str, option: str) -> None:
    step = flow.typed(flow.new_progress(), typed, LABELS)
    assert step.saved == Answer("first.law", option_id=option)


@pytest.mark.parametrize("typed", ["maybe", "0", "4", "9" * 5000, "yes please"])
def test_typed_text_that_matches_no_option_is_rejected_and_changes_nothing(
        flow: Flow, typed: str) -> None:
    progress = flow.new_progress()
    step = flow.typed(progress, typed, LABELS)
    assert rejected(step) is Problem.EXPECTED_BUTTON
    assert step.progress == progress and step.saved is None


def test_typed_text_on_a_comment_question_is_the_comment(flow: Flow) -> None:
    progress = walk(flow, ("first.law", "no"))
    step = flow.typed(progress, "1", LABELS)
    assert step.saved == Answer("first.comment", text="1")
