"""The conversation lives in the database: a killed bot resumes where each respondent was."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path


from bot.i18n import Catalogs
from conversations.model import Questionnaire
from emulator import BotApiEmulator

from .conftest import BotProcess
from .walk import answer_all, lowest, shown_question


async def test_resumes_at_first_unanswered_question_after_sigkill(
        outside_emulator: BotApiEmulator, database: Path | str, catalogs: Catalogs,
        metep: Questionnaire) -> None:
    emulator, t = outside_emulator, catalogs.translator("en")
    bot = BotProcess(emulator, database)
    await bot.start()
    try:
        user = emulator.user(300, language_code="en")
        await user.send("/start")
        await user.wait_for(lambda m: "Welcome to Baraza." in m.text, timeout=30)
        await user.click("✓ English")
        await user.click("I agree")
        before = await answer_all(user, metep, t, choose=lambda q: "no", stop_after=3)
        old_message = user.last_message

        await bot.kill()
        await bot.start()
        # After the restart, the question message from before still works: its question is current.
        await user.click("Yes")
        assert shown_question(metep, t, user.last_message.text).id == "framework.safe_to_speak"
        answered = [*before, "framework.lead_body"]

        await bot.kill()
        await bot.start()
        await user.send("/start")
        await user.wait_for(lambda m: "Welcome back!" in m.text, timeout=30)
        assert user.last_message.message_id != old_message.message_id
        resumed = shown_question(metep, t, user.last_message.text)
        assert resumed is not None and resumed.id == "framework.safe_to_speak"  # first unanswered

        after = await answer_all(user, metep, t, choose=lowest)
        assert set(answered).isdisjoint(after), "a question was asked twice"
        assert len(answered) + len(after) == 33
        assert "Overall, as you see it: 4, low" in user.last_message.text  # one "yes" of five in one pillar
        assert emulator.errors == []
        assert emulator.unanswered_callback_queries() == []
    finally:
        await bot.stop()


async def test_missing_token_gives_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 2
    assert err.decode().strip().splitlines() == [
        "baraza: TELEGRAM_BOT_TOKEN is not set: give the token from @BotFather "
        "(or try `baraza sandbox`, which needs none)"]
