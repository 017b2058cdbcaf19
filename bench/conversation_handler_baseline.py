"""The usual way, side by side: Baraza against ConversationHandler + PicklePersistence.

    python bench/conversation_handler_baseline.py            # 100, 1,000, 10,000 respondents (~4 min)
    python bench/conversation_handler_baseline.py --quick    # 100 and 1,000, fewer walks (~1 min)

For each number of known respondents, each bot starts with that many respondents part-way through
the questionnaire (the same respondents, the same answers: Baraza's are inserted through its
storage repositories after the bot started, the pickle bot's written as PicklePersistence's file
before it starts), then a fixed number of walks is timed, one respondent at a time over HTTP
through the emulator: new respondents (/start, English, I agree, 37 answers) and known ones
(/start, "Welcome back", the rest of their answers).

Cost per answer = the bot process's CPU time over the walks / answers given, plus, for the
pickle bot, the persistence write that makes those answers durable, spread over them:

* PTB's defaults (``on_flush=False``, ``update_interval=60``): every 60 s PTB hands each user,
  chat and conversation touched since the last run to PicklePersistence, and for each one that
  changed it rewrites the whole file. Nothing is written while the walks run (they take less than
  60 s; the table says if a periodic run happened), so the run that would follow them is timed
  (``Application.update_persistence``) and spread over the walks' answers. Answers given since
  the last run are lost if the process dies.
* ``on_flush=True``: the file is written once, at shutdown (timed: ``persistence.flush()``);
  everything since start is lost on a crash.

Baraza commits every answer to SQLite (WAL, synchronous=NORMAL) before showing the next question,
so its figure includes its durability. The wall time per answer (tap to edit, one respondent at a
time) is shown as well. Target (the project's issue): Baraza's cost per answer flat as respondents
grow, and lower than the pickle bot's at 10,000.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _common import (
    RATE,
    BotProcess,
    Respondent,
    answered_counts,
    emulator_running,
    load_questionnaire,
    machine,
    median,
    now,
    populate_baraza,
    populate_pickle,
    table,
    wait_for_quiet,
    walk_plan,
)

KINDS = ("baraza", "pickle", "pickle_flush")
LABEL = {"baraza": "Baraza (SQLite)", "pickle": "Pickle, PTB defaults", "pickle_flush": "Pickle, on_flush=True"}

QUIET_BUDGET = [60.0]  # seconds a run may spend waiting for the machine to go quiet


@dataclass
class Result:
    bot: str
    size: int
    populate_s: float
    startup_s: float
    rss_mb: float
    answers: int
    wall_ms: float  # mean tap-to-edit per answer, in the round with the least CPU per answer
    cpu_ms: float  # the bot's CPU per answer in its best round (other work only adds to it)
    cpu_spread: tuple[float, float]  # median and highest round
    persist_s: float = 0.0  # the persistence write that makes all the walks durable (pickle)
    persist_cpu_ms: float = 0.0  # ... its CPU per answer
    periodic_runs: int = 0
    file_mb: float = 0.0

    @property
    def total_ms(self) -> float:
        return self.cpu_ms + self.persist_cpu_ms


async def walk(emulator, user_id: int) -> tuple[int, list[float]]:  # noqa: ANN001
    """One respondent from /start to the scores; returns the answers given and their latencies."""
    person = Respondent(emulator, user_id)
    try:
        await person.send("/start")
        latencies = []
        while not person.finished:
            data = person.screen and next(
                (b.callback_data for row in person.screen.buttons for b in row), None)
            answering = data is not None and data.split("|")[0] in ("a", "s")
            queued, done = await person.tap()
            if answering:
                latencies.append((done - queued) * 1000)
        return len(latencies), latencies
    finally:
        person.close()


class Contender:
    """One bot with its own emulator, kept running through the rounds of one size."""

    def __init__(self, kind: str, size: int, tmp: Path) -> None:
        self.kind, self.size = kind, size
        self.pickle_path = tmp / f"conversations-{kind}-{size}.pickle"
        self.database = tmp / f"baraza-{kind}-{size}.db"
        self.stack = contextlib.AsyncExitStack()
        self.rounds: list[tuple[int, float, float]] = []  # answers, CPU s, summed latency ms
        self.populate_s = 0.0

    async def start(self, user_ids: list[int], answered: list[int], questionnaire) -> None:  # noqa: ANN001
        self.emulator = await self.stack.enter_async_context(emulator_running())
        if self.kind != "baraza":
            self.populate_s = populate_pickle(self.pickle_path, user_ids, answered, questionnaire)
        self.bot = BotProcess("baraza" if self.kind == "baraza" else "pickle", self.emulator.api_root,
                              database=self.database, pickle_path=self.pickle_path,
                              on_flush=self.kind == "pickle_flush")
        self.ready = await self.bot.start()
        self.stack.push_async_callback(self.bot.stop)
        if self.kind == "baraza":  # after start: the bot creates the consultation respondents join
            self.populate_s = await populate_baraza(self.database, user_ids, answered, questionnaire)
        await walk(self.emulator, 900_000_001)  # warm-up: a new respondent, not timed

    async def run_round(self, user_ids: list[int]) -> None:
        before = await self.bot.stats()
        answers, latency = 0, 0.0
        for user_id in user_ids:
            given, times = await walk(self.emulator, user_id)
            answers += given
            latency += sum(times)
        after = await self.bot.stats()
        self.rounds.append((answers, after["cpu"] - before["cpu"], latency))

    async def finish(self) -> Result:
        stats = await self.bot.stats()
        answers = sum(r[0] for r in self.rounds)
        per_round = [cpu * 1000 / n for n, cpu, _ in self.rounds]
        best = min(range(len(self.rounds)), key=per_round.__getitem__)
        result = Result(self.kind, self.size, self.populate_s, self.ready["startup_s"],
                        stats["vmrss_kb"] / 1024, answers,
                        self.rounds[best][2] / self.rounds[best][0], per_round[best],
                        (median(per_round), max(per_round)),
                        periodic_runs=stats.get("periodic_persistence_runs", 0))
        if self.kind != "baraza":
            flushed = await self.bot.request("flush")
            result.persist_s = flushed["seconds"]
            result.persist_cpu_ms = flushed["cpu"] * 1000 / answers
            result.file_mb = self.pickle_path.stat().st_size / 2**20
        if self.emulator.errors:
            print(f"  ! {LABEL[self.kind]}: {len(self.emulator.errors)} rejected calls, "
                  f"first {self.emulator.errors[0]}")
        await self.stack.aclose()
        return result


async def main(args: argparse.Namespace) -> None:
    quick = args.quick
    sizes = [100, 1_000] if quick else [100, 1_000, 10_000]
    rounds, per_round = (2, 2) if quick else (6, 3)
    questionnaire = load_questionnaire()
    plan = walk_plan(questionnaire)
    print(f"ConversationHandler + PicklePersistence baseline ({'quick' if quick else 'full'} run)")
    print(machine())
    print(f"Per size: the three bots run side by side (each its own process and emulator) and take "
          f"turns: {rounds} rounds of {per_round} new and {per_round} known respondents walking to "
          f"the end, one at a time. CPU per answer is each bot's best round (other work on a shared "
          f"machine only adds to it); median and worst are shown. A rate limiter at "
          f"{RATE:g}/s for all (never waiting); a new respondent's walk has {len(plan)} answers.\n")
    started = now()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        for size in sizes:
            user_ids = list(range(1, size + 1))
            answered = answered_counts(size, len(plan))
            walkers = rounds * per_round
            stride = max(1, size // walkers)
            existing = [user_ids[i] for i in range(0, size, stride)][:walkers]
            new = [5_000_000 + size * 10 + i for i in range(walkers)]
            await wait_for_quiet(budget=QUIET_BUDGET)
            contenders = [Contender(kind, size, Path(tmp)) for kind in KINDS]
            for contender in contenders:
                await contender.start(user_ids, answered, questionnaire)
            for r in range(rounds):
                batch = new[r * per_round:(r + 1) * per_round] + existing[r * per_round:(r + 1) * per_round]
                order = contenders if r % 2 == 0 else contenders[::-1]
                for contender in order:
                    await contender.run_round(batch)
            for contender in contenders:
                result = await contender.finish()
                results.append(result)
                print(f"  {size:6,} known, {LABEL[result.bot]:22}: {result.answers} answers, "
                      f"{result.wall_ms:.2f} ms/answer wall, {result.cpu_ms:.2f} ms CPU/answer "
                      f"(median {result.cpu_spread[0]:.2f}, worst {result.cpu_spread[1]:.2f}), persistence "
                      f"write {result.persist_s * 1000:.0f} ms (populated in {result.populate_s:.1f} s, "
                      f"started in {result.startup_s:.2f} s)", flush=True)

    print("\nCost per answer (bot process CPU, ms), with the persistence write spread over the answers")
    rows = []
    for r in results:
        baraza = next(x for x in results if x.bot == "baraza" and x.size == r.size)
        rows.append([f"{r.size:,}", LABEL[r.bot], r.wall_ms, r.cpu_ms,
                     f"{r.cpu_spread[0]:.2f} / {r.cpu_spread[1]:.2f}", r.persist_s * 1000, r.persist_cpu_ms,
                     r.total_ms, "-" if r.bot == "baraza" else f"{baraza.total_ms / r.total_ms:.2f}",
                     r.rss_mb, r.startup_s, r.file_mb if r.bot != "baraza" else "-", r.periodic_runs])
    print(table(["known", "bot", "wall ms/answer", "CPU ms/answer", "median / worst round", "write ms",
                 "write CPU ms/answer", "total ms/answer", "Baraza/this", "RSS MB", "startup s",
                 "pickle MB", "PTB periodic runs"], rows))

    print("\nAgainst the targets")
    first, last = sizes[0], sizes[-1]
    b0 = next(r for r in results if r.bot == "baraza" and r.size == first)
    b1 = next(r for r in results if r.bot == "baraza" and r.size == last)
    growth = b1.total_ms / b0.total_ms
    print(f"  Baraza's cost per answer at {last:,} / at {first:,}: {growth:.2f} "
          f"(target: no growth beyond 15%: {'met' if growth <= 1.15 else 'MISSED'}); "
          f"wall time {b1.wall_ms / b0.wall_ms:.2f}")
    for kind in ("pickle", "pickle_flush"):
        p = next(r for r in results if r.bot == kind and r.size == last)
        verdict = "Baraza cheaper" if b1.total_ms < p.total_ms else "Baraza NOT cheaper"
        print(f"  at {last:,}: Baraza {b1.total_ms:.2f} ms vs {LABEL[kind]} {p.total_ms:.2f} ms per answer "
              f"(Baraza/this {b1.total_ms / p.total_ms:.2f}): {verdict}")
    print(f"\n(total {now() - started:.0f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(130)
