"""A tap's database work alone: ``Turns.enter`` with an answer, then ``Turns.shown``, no HTTP.

What storage costs per tap, without PTB, the emulator or the network around it: each tap claims
its update, reads the respondent, consultation and session, lets the engine answer the current
question (the first option, or Skip on a comment) and writes the answer and the new position in
one transaction; then it records the message that shows the next question, as the bot does after
its edit. Respondents who finish are replaced by new ones. The database is a WAL file, as the
bot's. Printed: wall and CPU (all threads of this process) milliseconds per tap, sequentially and
with 10 respondents tapping at once; each figure is the best of several repetitions, because on a
shared machine other work only ever slows a run down. It uses only the public API of
``bot.turns.Turns`` and ``storage.Database``, so it runs unchanged against older code to compare.

    python bench/hot_path.py [--taps 1000] [--repetitions 5]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from telegram import CallbackQuery, Chat, Message, Update, User

from bot.i18n import Catalogs
from bot.turns import Turns
from conversations.flow import Flow, Progress, Step
from conversations.loader import load_questionnaire
from conversations.model import QuestionKind
from storage import ConsultationText, Database, Session

CONCURRENT = 10


def answer_current(flow: Flow, progress: Progress) -> Step:
    """What the walk taps: the first option of a choice question, Skip on a comment."""
    question = flow.current(progress)
    assert question is not None
    if question.kind is QuestionKind.TEXT or question.scale is None:
        return flow.skip(progress, question.id)
    return flow.choose(progress, question.id, question.scale.options[0].id)


def tap(update_id: int, user_id: int) -> Update:
    user = User(user_id, "Amina", is_bot=False)
    message = Message(40, datetime.now(UTC), Chat(user_id, Chat.PRIVATE))
    return Update(update_id, callback_query=CallbackQuery(
        str(update_id), user, "chat", message=message, data=f"a:{update_id}"))


class Walker:
    """Respondents answering one after another; a finished one is replaced by a new one."""

    def __init__(self, turns: Turns, consultation_id: int) -> None:
        self.turns = turns
        self.consultation_id = consultation_id
        self.update_ids = itertools.count(1)
        self.user_ids = itertools.count(1_000_000)

    async def respondent(self) -> int:
        user_id = next(self.user_ids)
        db = self.turns.db
        await db.respondents.ensure(user_id, user_id)
        consultation = await db.consultations.get(self.consultation_id)
        assert consultation is not None
        await self.turns.begin(user_id, consultation)
        return user_id

    async def taps(self, count: int) -> None:
        user_id = await self.respondent()
        for _ in range(count):
            entered = await self.turns.enter(tap(next(self.update_ids), user_id), answer_current)
            assert entered is not None
            turn, step = entered
            assert step is not None and turn.session is not None
            if step.progress.finished:
                user_id = await self.respondent()
            else:
                session: Session = turn.session
                await self.turns.shown(session, 41)


async def measure(walker: Walker, taps: int, concurrent: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per tap for ``taps`` taps by ``concurrent`` respondents."""
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(walker.taps(taps // concurrent) for _ in range(concurrent)))
    done = taps // concurrent * concurrent
    return ((time.perf_counter() - wall) * 1000 / done, (time.process_time() - cpu) * 1000 / done)


async def main(args: argparse.Namespace) -> None:
    questionnaire = load_questionnaire()
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "baraza.db")
        try:
            consultation = await db.consultations.create(
                questionnaire.id, questionnaire.version, {"en": ConsultationText("Bench", "")},
                None, status="open")
            walker = Walker(Turns(db, Flow(questionnaire), Catalogs.load()), consultation.id)
            await measure(walker, 200, 1)  # warm-up
            print(f"{args.taps} taps a repetition, best of {args.repetitions}; load "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            for concurrent in (1, CONCURRENT):
                runs = [await measure(walker, args.taps, concurrent)
                        for _ in range(args.repetitions)]
                wall = min(r[0] for r in runs)
                cpu = min(r[1] for r in runs)
                print(f"{concurrent:3} respondent(s) at once: {wall:.3f} ms wall per tap "
                      f"({1000 / wall:,.0f} taps/s), {cpu:.3f} ms CPU per tap")
        finally:
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--taps", type=int, default=1000)
    parser.add_argument("--repetitions", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
