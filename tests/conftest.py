"""Shared fixtures: the small test questionnaire and the shipped one."""

from pathlib import Path

import pytest

from conversations.loader import load_questionnaire
from conversations.model import Questionnaire

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def mini() -> Questionnaire:
    return load_questionnaire(FIXTURES / "mini.json")
