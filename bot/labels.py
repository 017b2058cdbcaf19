"""What a respondent may type instead of tapping: the option labels of their language."""

from __future__ import annotations

from bot.i18n import Translator
from bot.screens import Texts
from conversations.flow import Labels, normalised
from conversations.model import Questionnaire


def option_labels(questionnaire: Questionnaire, t: Translator) -> Labels:
    """Per scale, each option's label as the buttons show it in ``t``'s language."""
    labels: dict[str, dict[str, str]] = {}
    texts = Texts(questionnaire, t)
    for question in questionnaire.questions:
        if question.scale is None or question.scale.id in labels:
            continue
        labels[question.scale.id] = {normalised(texts.option(question, option)): option.id
                                     for option in question.scale.options}
    return labels
