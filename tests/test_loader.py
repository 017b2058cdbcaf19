"""Loading questionnaire files: a mistake is reported with the file and the key or line."""

import copy
import re
import json
from pathlib import Path
from typing import Any

import pytest

from conversations.loader import QuestionnaireError, load_questionnaire, parse_questionnaire
from conversations.model import QuestionKind

from .conftest import FIXTURES


@pytest.fixture
def document() -> dict[str, Any]:
    return json.loads((FIXTURES / "mini.json").read_text())


def error_of(document: dict[str, Any]) -> str:
    with pytest.raises(QuestionnaireError) as caught:
        parse_questionnaire(document, "mini.json")
    return str(caught.value)


def test_loads_pillars_questions_and_conditions_in_file_order(document: dict[str, Any]) -> None:
    q = parse_questionnaire(document, "mini.json")
    assert [x.id for x in q.questions] == [
        "first.law", "first.law_used", "first.comment", "second.portal", "second.useful"]
    assert q.version == 2
    assert q.question("first.comment").kind is QuestionKind.TEXT
    assert q.question("first.law_used").show_if.any_of == frozenset({"yes"})
    assert q.scales["agreement"].max_points == 2


def test_json_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "id": "x",\n  oops\n}')
    with pytest.raises(QuestionnaireError, match=r"broken\.json: line 3, column 3"):
        load_questionnaire(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(QuestionnaireError, match=r"absent\.json: cannot be read"):
        load_questionnaire(tmp_path / "absent.json")


def mutate(document: dict[str, Any], change: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    change(changed)
    return changed


def q(doc: dict[str, Any], pillar: int, question: int) -> dict[str, Any]:
    return doc["pillars"][pillar]["questions"][question]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("version"), r"mini\.json: \$: missing key 'version'"),
    (lambda d: d.update(format="other/9"), r"format: expected"),
    (lambda d: d.update(version=0), r"version: expected a whole number"),
    (lambda d: q(d, 0, 0).update(scale="nope"), r"pillars\[0\]\.questions\[0\]\.scale: no scale named 'nope'"),
    (lambda d: q(d, 0, 0).update(txt="typo"), r"pillars\[0\]\.questions\[0\]\.txt: unknown key"),
    (lambda d: q(d, 1, 0).update(id="first.law"), r"pillars\[1\]\.questions\[0\]\.id: duplicate question id"),
    (lambda d: q(d, 0, 0).update(id="Has Spaces"), r"questions\[0\]\.id: expected an id"),
    (lambda d: q(d, 0, 0).update(id="x" * 37), r"longer than 36"),
    (lambda d: q(d, 0, 0).update(text=""), r"questions\[0\]\.text: expected a non-empty string"),
    (lambda d: q(d, 0, 1)["show_if"].update(question="second.portal"),
     r"show_if\.question: 'second\.portal' is not an earlier question"),
    (lambda d: q(d, 0, 1)["show_if"].update(any_of=["perhaps"]), r"'perhaps' is not an option of 'first\.law'"),
    (lambda d: q(d, 0, 2).update(scale="yes_no"), r"a text question takes no scale"),
    (lambda d: q(d, 0, 0).pop("scale"), r"a choice question needs a 'scale'"),
    (lambda d: d["scales"]["yes_no"][0].update(points=-1), r"scales\.yes_no\[0\]\.points"),
    (lambda d: d["scales"]["yes_no"][1].update(id="yes"), r"scales\.yes_no: duplicate option id"),
    (lambda d: d["pillars"][1].update(questions=[]), r"pillars\[1\]\.questions: expected a non-empty list"),
    (lambda d: q(d, 0, 0).update(scale=["yes_no"]), r"questions\[0\]\.scale: no scale named"),
    (lambda d: q(d, 0, 2).update(type=["text"]), r"questions\[2\]\.type: expected 'choice' or 'text'"),
    (lambda d: q(d, 0, 1)["show_if"].update(question=["first.law"]), r"is not an earlier question"),
    (lambda d: q(d, 0, 1)["show_if"].update(any_of=[["yes"]]), r"is not an option of"),
    (lambda d: q(d, 0, 2).update(max_length=True), r"max_length: expected a whole number"),
])
def test_invalid_questionnaire_names_the_key(document: dict[str, Any], change: Any, message: str) -> None:
    assert re.search(message, error_of(mutate(document, change)))


def test_shipped_questionnaire_loads() -> None:
    questionnaire = load_questionnaire()
    assert questionnaire.id == "metep" and len(questionnaire.pillars) == 5


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.json"
    path.write_text('{"id": "a", "id": "b"}')
    with pytest.raises(QuestionnaireError, match=r"twice\.json: key 'id' appears twice"):
        load_questionnaire(path)


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"title": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(QuestionnaireError, match=r"latin1\.json: is not UTF-8 text"):
        load_questionnaire(path)


def test_a_deeply_nested_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(QuestionnaireError, match=r"deep\.json: is nested too deeply"):
        load_questionnaire(path)


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_text('{"padding": "' + "x" * (5 * 2**20) + '"}')
    with pytest.raises(QuestionnaireError, match=r"huge\.json: is larger than 4 MB"):
        load_questionnaire(path)
