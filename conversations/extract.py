"""Babel extractor: questionnaire texts become gettext messages whose context is their stable id.

Registered as the ``baraza_questionnaire`` extractor (see ``babel.cfg``), so ``pybabel extract``
puts question texts in the same catalog as the bot's own strings and translators use standard
tools. The id as context keeps two questions with the same English text apart, and keeps a
translation attached to its question when the English wording is polished.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from conversations.loader import parse_questionnaire
from conversations.model import Questionnaire


def message_context(*parts: str) -> str:
    """The gettext context of a questionnaire text: its ids joined with ':'."""
    return ":".join(parts)


def questionnaire_messages(questionnaire: Questionnaire) -> Iterator[tuple[str, str, str]]:
    """Yield (context, English text, translator comment) for every text of a questionnaire."""
    q = questionnaire
    yield message_context(q.id, "title"), q.title, "Questionnaire title"
    for scale in q.scales.values():
        for option in scale.options:
            yield (message_context(q.id, "scale", scale.id, option.id), option.text,
                   "Answer button; keep it short (it is shown on a phone button)")
    for pillar in q.pillars:
        yield message_context(q.id, "pillar", pillar.id), pillar.title, "Pillar (section) title"
        for question in pillar.questions:
            yield message_context(q.id, "question", question.id), question.text, "Question"


def extract_questionnaire(fileobj: BinaryIO, keywords: Any, comment_tags: Any,
                          options: dict[str, Any]) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    """Babel extraction method for questionnaire JSON files."""
    document = json.loads(fileobj.read().decode("utf-8"))
    questionnaire = parse_questionnaire(document, getattr(fileobj, "name", "<questionnaire>"))
    for context, text, comment in questionnaire_messages(questionnaire):
        yield 0, "pgettext", (context, text), [comment]
