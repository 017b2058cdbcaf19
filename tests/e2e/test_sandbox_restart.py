"""The sandbox remembers a respondent across restarts: quit halfway, start again, carry on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import SANDBOX_TOKEN, _sandbox, emulator_state_file
from bot.config import Settings
from bot.i18n import Catalogs
from bot.screens import Texts
from conversations.flow import Flow
from conversations.model import Questionnaire

from .walk import shown_question


async def _run_sandbox(settings: Settings, metep: Questionnaire, lines: list[str]) -> str:
    """One sandbox session that reads ``lines`` as if typed, then ends; what it printed."""
    reader = asyncio.StreamReader()
    for line in lines:
        reader.feed_data((line + "\n").encode())
    reader.feed_eof()
    printed: list[str] = []
    await asyncio.wait_for(_sandbox(settings, metep, reader, printed.append), 60)
    return "\n".join(printed)


def _after_first_options(metep: Questionnaire, count: int) -> str:
    """The question shown after tapping the first button ``count`` times."""
    flow = Flow(metep)
    progress = flow.new_progress()
    for _ in range(count):
        question = flow.current(progress)
        assert question is not None and question.scale is not None
        progress = flow.choose(progress, question.id, question.scale.options[0].id).progress
    assert progress.cursor is not None
    return progress.cursor


async def test_sandbox_restart_mid_walk_resumes_at_the_right_question(
        tmp_path: Path, metep: Questionnaire, catalogs: Catalogs,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    settings = Settings(token=SANDBOX_TOKEN, database=tmp_path / "sandbox.db")
    t = catalogs.translator("en")
    # /start, English (button 1), I agree (1), the first option (1) of three questions, then quit.
    first = await _run_sandbox(settings, metep, ["/start", "1", "1", "1", "1", "1"])
    assert "refused" not in first, first

    # Started again on the same database: /start is answered at once, at the fourth question.
    second = await _run_sandbox(settings, metep, ["/start", "1"])
    assert "refused" not in second, second
    resumed_screen = second[second.index("Welcome back! Let's continue."):]
    resumed = shown_question(metep, t, resumed_screen)
    assert resumed is not None and resumed.id == _after_first_options(metep, 3)
    # ...and answering it moves on: the update was not taken for one seen before the restart.
    following = resumed_screen[resumed_screen.rindex(Texts(metep, t).question(resumed)) + 1:]
    answered = shown_question(metep, t, following)
    assert answered is not None and answered.id == _after_first_options(metep, 4)


async def test_a_damaged_saved_chat_is_ignored_and_ids_still_continue(
        tmp_path: Path, metep: Questionnaire, catalogs: Catalogs,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    settings = Settings(token=SANDBOX_TOKEN, database=tmp_path / "sandbox.db")
    await _run_sandbox(settings, metep, ["/start", "1", "1", "1"])
    emulator_state_file(settings.database).write_text("{not json", encoding="utf-8")

    again = await _run_sandbox(settings, metep, ["/start"])
    assert "(the sandbox's saved chat is ignored:" in again
    assert "Welcome back! Let's continue." in again  # the update was not taken for an old one
