"""Button payloads: round-trip, fit in 64 bytes, and forged data is recognised as such."""

import pytest

from bot import callbacks
from bot.callbacks import (
    Announce,
    Back,
    Choose,
    Consent,
    Export,
    Moderate,
    OpenConsultation,
    PickLanguage,
    ReadComments,
    Skip,
    Summarise,
    decode,
    encode,
)
from conversations.loader import MAX_ID_LENGTH, MAX_OPTION_ID_LENGTH, load_questionnaire


@pytest.mark.parametrize("action", [
    Choose(1, "framework.info_law", "yes"), Skip(3, "framework.comment"), Back(12, "framework.comment"),
    PickLanguage("sw"), Consent(True), Consent(False), OpenConsultation(4), Moderate("close", 4),
    Summarise(999_999), Export(5), ReadComments(6),
    Announce("pick", 3), Announce("send", 999_999), Announce("cancel", 1), Announce("stop", 12),
])
def test_actions_round_trip(action: callbacks.Action) -> None:
    assert decode(encode(action)) == action


def test_the_longest_possible_answer_fits_in_64_bytes() -> None:
    longest = Choose(999_999, "q" * MAX_ID_LENGTH, "o" * MAX_OPTION_ID_LENGTH)
    assert len(encode(longest).encode()) <= callbacks.MAX_CALLBACK_BYTES


def test_every_button_of_the_shipped_questionnaire_fits() -> None:
    questionnaire = load_questionnaire()
    for question in questionnaire.questions:
        for option in question.scale.options if question.scale else ():
            encode(Choose(questionnaire.version, question.id, option.id))


@pytest.mark.parametrize("data", [
    None, "", "x", "a|1|q", "a|one|q|yes", "a|1||yes", "c|maybe", "b|1", "l|", "s|9999999|q",
    "a|1|q|" + "o" * 80, "m|destroy|3", "o|", "y|", "x|1|2", "k|abc", "a|1234567|q|yes",
    "n|resend|1", "n|send|", "n|send|-1", "n|stop|1|2",
])
def test_forged_data_decodes_to_nothing(data: str | None) -> None:
    assert decode(data) is None
