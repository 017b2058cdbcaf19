"""Load a questionnaire file (JSON) and validate it, naming the file and key of any mistake."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conversations.model import (
    Condition,
    Option,
    Pillar,
    Question,
    QuestionKind,
    Questionnaire,
    Scale,
)

FORMAT = "baraza-questionnaire/1"
BUILTIN_DIR = Path(__file__).parent / "questionnaires"
DEFAULT_QUESTIONNAIRE = BUILTIN_DIR / "metep.json"

# Ids travel inside callback_data (at most 64 bytes), so they are short and plain ASCII.
MAX_ID_LENGTH = 36
MAX_OPTION_ID_LENGTH = 16
MAX_TEXT_LENGTH = 1000
MAX_FILE_BYTES = 4 * 2**20  # the shipped questionnaire is about 20 kB
_ID = re.compile(r"^[a-z][a-z0-9_.]*$")


class QuestionnaireError(ValueError):
    """A questionnaire file is malformed; the message names the file and the key or line."""


class _Checker:
    """Collects the path of keys being validated so every error can say where it is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> QuestionnaireError:
        return QuestionnaireError(f"{self.source}: {where}: {message}")

    def mapping(self, value: Any, where: str, required: set[str], optional: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, "expected an object")
        missing = sorted(required - value.keys())
        if missing:
            raise self.fail(where, f"missing key {missing[0]!r}")
        unknown = sorted(value.keys() - required - optional)
        if unknown:
            raise self.fail(f"{where}.{unknown[0]}", "unknown key (a typo?)")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "expected a non-empty string")
        if len(value) > MAX_TEXT_LENGTH:
            raise self.fail(where, f"longer than {MAX_TEXT_LENGTH} characters")
        return value

    def ident(self, value: Any, where: str, limit: int = MAX_ID_LENGTH) -> str:
        if not isinstance(value, str) or not _ID.match(value):
            raise self.fail(where, "expected an id of lowercase letters, digits, '_' and '.'")
        if len(value) > limit:
            raise self.fail(where, f"id {value!r} is longer than {limit} characters")
        return value

    def items(self, value: Any, where: str) -> list:
        if not isinstance(value, list) or not value:
            raise self.fail(where, "expected a non-empty list")
        return value


def parse_questionnaire(document: Mapping[str, Any], source: str) -> Questionnaire:
    """Build a validated questionnaire from a decoded document; ``source`` names it in errors."""
    c = _Checker(source)
    doc = c.mapping(document, "$", {"format", "id", "version", "title", "scales", "pillars"}, set())
    if doc["format"] != FORMAT:
        raise c.fail("format", f"expected {FORMAT!r}")
    if not isinstance(doc["version"], int) or isinstance(doc["version"], bool) or doc["version"] < 1:
        raise c.fail("version", "expected a whole number from 1")
    if doc["version"] > 9999:
        raise c.fail("version", "expected at most 9999")

    scales = _parse_scales(c, doc["scales"])
    seen: dict[str, Question] = {}
    pillars = []
    pillar_ids: set[str] = set()
    for p_index, raw_pillar in enumerate(c.items(doc["pillars"], "pillars")):
        where = f"pillars[{p_index}]"
        raw = c.mapping(raw_pillar, where, {"id", "title", "questions"}, set())
        pillar_id = c.ident(raw["id"], f"{where}.id")
        if pillar_id in pillar_ids:
            raise c.fail(f"{where}.id", f"duplicate pillar id {pillar_id!r}")
        pillar_ids.add(pillar_id)
        questions = []
        for q_index, raw_question in enumerate(c.items(raw["questions"], f"{where}.questions")):
            question = _parse_question(c, raw_question, f"{where}.questions[{q_index}]",
                                       pillar_id, scales, seen)
            seen[question.id] = question
            questions.append(question)
        pillars.append(Pillar(pillar_id, c.text(raw["title"], f"{where}.title"), tuple(questions)))

    return Questionnaire(
        id=c.ident(doc["id"], "id"),
        version=doc["version"],
        title=c.text(doc["title"], "title"),
        pillars=tuple(pillars),
        scales=scales,
    )


def _parse_scales(c: _Checker, raw_scales: Any) -> dict[str, Scale]:
    if not isinstance(raw_scales, dict) or not raw_scales:
        raise c.fail("scales", "expected a non-empty object of scales")
    scales = {}
    for scale_id, raw_options in raw_scales.items():
        where = f"scales.{scale_id}"
        c.ident(scale_id, where)
        options = []
        for o_index, raw_option in enumerate(c.items(raw_options, where)):
            o_where = f"{where}[{o_index}]"
            raw = c.mapping(raw_option, o_where, {"id", "text", "points"}, set())
            points = raw["points"]
            if points is not None and (not isinstance(points, int) or isinstance(points, bool)
                                       or points < 0):
                raise c.fail(f"{o_where}.points", "expected a whole number from 0, or null")
            options.append(Option(c.ident(raw["id"], f"{o_where}.id", MAX_OPTION_ID_LENGTH),
                                  c.text(raw["text"], f"{o_where}.text"), points))
        ids = [o.id for o in options]
        if len(set(ids)) != len(ids):
            raise c.fail(where, "duplicate option id")
        scored = sorted({o.points for o in options if o.points is not None})
        if len(scored) < 2 or scored[0] != 0:
            raise c.fail(where, "needs options scoring 0 and at least one higher value")
        scales[scale_id] = Scale(scale_id, tuple(options))
    return scales


def _parse_question(c: _Checker, raw_question: Any, where: str, pillar_id: str,
                    scales: Mapping[str, Scale], seen: Mapping[str, Question]) -> Question:
    raw = c.mapping(raw_question, where, {"id", "text"}, {"scale", "type", "show_if", "max_length"})
    question_id = c.ident(raw["id"], f"{where}.id")
    if question_id in seen:
        raise c.fail(f"{where}.id", f"duplicate question id {question_id!r}")
    text = c.text(raw["text"], f"{where}.text")
    kind = raw.get("type", "choice")
    if not isinstance(kind, str) or kind not in {k.value for k in QuestionKind}:
        raise c.fail(f"{where}.type", "expected 'choice' or 'text'")
    kind = QuestionKind(kind)
    scale = None
    if kind is QuestionKind.CHOICE:
        if "scale" not in raw:
            raise c.fail(where, "a choice question needs a 'scale'")
        scale = scales.get(raw["scale"]) if isinstance(raw["scale"], str) else None
        if scale is None:
            raise c.fail(f"{where}.scale", f"no scale named {raw['scale']!r}")
    elif "scale" in raw:
        raise c.fail(f"{where}.scale", "a text question takes no scale")
    max_length = raw.get("max_length", MAX_TEXT_LENGTH)
    if kind is QuestionKind.CHOICE and "max_length" in raw:
        raise c.fail(f"{where}.max_length", "only text questions have a maximum length")
    if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= 3500:
        raise c.fail(f"{where}.max_length", "expected a whole number from 1 to 3500")
    condition = None
    if "show_if" in raw:
        cond = c.mapping(raw["show_if"], f"{where}.show_if", {"question", "any_of"}, set())
        earlier = seen.get(cond["question"]) if isinstance(cond["question"], str) else None
        if earlier is None:
            raise c.fail(f"{where}.show_if.question",
                         f"{cond['question']!r} is not an earlier question")
        if earlier.scale is None:
            raise c.fail(f"{where}.show_if.question", "must name a choice question")
        any_of = c.items(cond["any_of"], f"{where}.show_if.any_of")
        for option_id in any_of:
            if not isinstance(option_id, str) or earlier.scale.option(option_id) is None:
                raise c.fail(f"{where}.show_if.any_of",
                             f"{option_id!r} is not an option of {earlier.id!r}")
        condition = Condition(earlier.id, frozenset(any_of))
    return Question(question_id, pillar_id, text, kind, scale, condition, max_length)


def load_questionnaire(path: Path | str = DEFAULT_QUESTIONNAIRE) -> Questionnaire:
    """Read and validate one questionnaire file."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            # Read one byte past the limit, so a huge file is refused without reading it all.
            data = file.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise QuestionnaireError(
                f"{path}: is larger than {MAX_FILE_BYTES // 2**20} MB: not a questionnaire")
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except RecursionError as error:
        raise QuestionnaireError(f"{path}: is nested too deeply to be a questionnaire") from error
    except OSError as error:
        raise QuestionnaireError(f"{path}: cannot be read: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise QuestionnaireError(f"{path}: is not UTF-8 text (byte {error.start})") from error
    except json.JSONDecodeError as error:
        raise QuestionnaireError(
            f"{path}: line {error.lineno}, column {error.colno}: {error.msg}") from error
    except QuestionnaireError as error:
        if str(error).startswith(f"{path}: "):
            raise
        raise QuestionnaireError(f"{path}: {error}") from error
    return parse_questionnaire(document, str(path))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON objects as dicts, refusing a key given twice (the first would be silently lost)."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise QuestionnaireError(f"key {key!r} appears twice in one object")
        document[key] = value
    return document
