"""Summary cost as data grows: an official's /summary at 1,000, 10,000 and 100,000 finished respondents.

    python bench/summary_cost.py            # ~2 min once the databases are cached (~35 s to make)
    python bench/summary_cost.py --quick    # 1,000 and 10,000 only, fewer repetitions (~20 s)

The databases are generated once (``_summary_data.py``: what the bot leaves when a session
finishes, the running totals included) and cached under /tmp; each size is measured on a fresh
copy. The bot (``build_application``, the real handlers) runs in this process against the local
Bot API emulator, so that its database time can be measured: every statement the storage layer
sends (``SQLiteBackend``: its BEGIN and COMMIT included) goes through aiosqlite's
``Connection.execute_fetchall`` or ``executemany``, which are wrapped here with a timer (the bot's
code is unchanged).

Per size:
* service level, the calls /summary makes, repeated (median): database time of the summary
  (``SummaryService.answered()`` + ``.summary()``: every storage call), the text (those plus
  ``summary_screen``), and the chart (``chart_png``, matplotlib on Agg);
* end to end, an official sends /summary through the emulator (median of repetitions): time until
  the text arrives, until the chart arrives, and the update's database time (its claim included);
* the baseline, in the same run: the same summary computed naively, by reading every answer of
  every finished session (``ExportRepository.answers``) and scoring each respondent
  (``score_answers``), then ``summarise``. Its result is checked equal to the running totals';
  naive / running totals is what the totals buy;
* /export by a moderator (informational): time until the file (or the "too large" answer) arrives.

Targets: time at 100,000 / time at 1,000 <= 2 (text and chart, service and end to end);
database time of the summary at 100,000 < 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _summary_data as data
from _common import TOKEN, code_state, machine, now, table, wait_for_quiet


# -- database time ----------------------------------------------------------------------------------


class DbTimer:
    """Time spent waiting for SQLite: every aiosqlite round trip (statement, BEGIN, COMMIT)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0

    def install(self) -> None:
        import aiosqlite

        for name in ("execute_fetchall", "executemany"):
            setattr(aiosqlite.Connection, name, self._timed(getattr(aiosqlite.Connection, name)))

    def _timed(self, original: Any) -> Any:
        timer = self

        async def timed(connection: Any, *args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await original(connection, *args, **kwargs)
            finally:
                timer.seconds += time.perf_counter() - began
                timer.statements += 1

        return timed

    def mark(self) -> tuple[float, int]:
        return self.seconds, self.statements

    def since(self, mark: tuple[float, int]) -> tuple[float, int]:
        return self.seconds - mark[0], self.statements - mark[1]


TIMER = DbTimer()
EXPORTS: list[tuple[float, float]] = []  # (began, ended) of each bot.exports.export call


def time_exports() -> None:
    """Record when the bot builds an export (the CSV, and gzip when needed) before sending it:
    the handler calls ``exports.export`` through the module, so a wrapper sees every call."""
    from bot import exports

    original = exports.export

    async def timed_export(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            EXPORTS.append((began, time.perf_counter()))

    exports.export = timed_export  # type: ignore[assignment]


# -- the baseline -----------------------------------------------------------------------------------


async def naive_summary(db: Any, questionnaire: Any, consultation_id: int, min_group: int) -> Any:
    """The summary without running totals: every answer read, every respondent scored."""
    from conversations.model import Answer
    from conversations.scoring import score_answers
    from conversations.summaries import Tally, summarise, tallies_of

    totals: dict[tuple[str, str], list[float]] = {}

    def add(role: str, answers: dict[str, Answer]) -> None:
        for t in tallies_of(role, score_answers(questionnaire, answers)):
            total = totals.setdefault((t.role, t.pillar_id), [0, 0, 0.0])
            total[0] += t.respondents
            total[1] += t.scored
            total[2] += t.score_sum

    session, role, answers = None, "", {}
    async for row in db.exports.answers(consultation_id):
        if row.session_id != session:
            if session is not None:
                add(role, answers)
            session, role, answers = row.session_id, row.role, {}
        answers[row.question_id] = Answer(row.question_id, option_id=row.option_id, text=row.text)
    if session is not None:
        add(role, answers)
    tallies = [Tally(r, p, int(a), int(b), c) for (r, p), (a, b, c) in totals.items()]
    return summarise(questionnaire, tallies, min_group)


def same_summary(a: Any, b: Any) -> bool:
    """Equal, but for the last bits of float sums added in another order (~1e-12 here)."""
    if (a.everyone, a.citizens, a.officials) != (b.everyone, b.citizens, b.officials):
        return False
    for la, lb in zip((*a.pillars, a.overall), (*b.pillars, b.overall), strict=True):
        for fa, fb in ((la.everyone, lb.everyone), (la.citizens, lb.citizens),
                       (la.officials, lb.officials)):
            if (la.pillar_id, fa.respondents, fa.withheld) != (lb.pillar_id, fb.respondents,
                                                              fb.withheld):
                return False
            if (fa.mean is None) != (fb.mean is None) or (
                    fa.mean is not None and abs(fa.mean - fb.mean) > 1e-6):
                return False
    return True


class LoopLag:
    """The longest the event loop was kept from running a 5 ms timer (other users wait that long)."""

    def __init__(self) -> None:
        self.stalls: list[tuple[float, float]] = []  # (when it ended, seconds)
        self._task: asyncio.Task[None] | None = None

    @property
    def worst(self) -> float:
        return max((stall for _, stall in self.stalls), default=0.0)

    def worst_within(self, begin: float, end: float) -> float:
        return max((stall for at, stall in self.stalls if begin <= at <= end + 0.005),
                   default=0.0)

    async def _run(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.005)
            ended = time.perf_counter()
            self.stalls.append((ended, ended - began - 0.005))

    def __enter__(self) -> LoopLag:  # noqa: PYI034
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


# -- one size ---------------------------------------------------------------------------------------


@dataclass
class Size:
    n: int
    summary_db_ms: list[float] = field(default_factory=list)
    summary_statements: int = 0
    text_ms: list[float] = field(default_factory=list)
    chart_ms: list[float] = field(default_factory=list)
    e2e_text_ms: list[float] = field(default_factory=list)
    e2e_chart_ms: list[float] = field(default_factory=list)
    e2e_db_ms: list[float] = field(default_factory=list)
    e2e_first: tuple[float, float] = (math.nan, math.nan)  # the first /summary after start
    naive_ms: list[float] = field(default_factory=list)
    naive_db_ms: list[float] = field(default_factory=list)
    naive_equal: bool = False
    export_s: float = math.nan
    export_db_s: float = math.nan
    export_mb: float = math.nan
    export_what: str = "-"
    export_build_s: float = math.nan  # bot.exports.export: reading, CSV, gzip
    export_lag_ms: float = math.nan  # the longest event-loop stall while building the export
    e2e_lag_ms: list[float] = field(default_factory=list)  # the same, during /summary
    background: float = 0.0

    @staticmethod
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else math.nan


class Chat:
    """A user's chat with every new bot message stamped as the emulator stores it."""

    def __init__(self, emulator: Any, user_id: int) -> None:
        self.user = emulator.user(user_id, first_name="Bench", language_code="en")
        self.queue: asyncio.Queue[tuple[float, Any]] = asyncio.Queue()
        subscription = self.user.subscribe()
        put = self.queue.put_nowait

        def stamped(event: Any) -> None:
            if event.kind == "message":
                put((time.perf_counter(), event.message))

        subscription.put_nowait = stamped  # type: ignore[method-assign]

    async def send(self, text: str) -> float:
        while not self.queue.empty():
            self.queue.get_nowait()
        queued = now()
        await self.user.send(text, settle=False)
        return queued

    async def next(self, predicate: Callable[[Any], bool], timeout: float) -> tuple[float, Any]:
        deadline = now() + timeout
        while True:
            stamp, message = await asyncio.wait_for(self.queue.get(), max(0.01, deadline - now()))
            if predicate(message):
                return stamp, message


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float, float, int]:
    """(result, wall seconds, database seconds, statements)."""
    mark = TIMER.mark()
    began = now()
    result = await call()
    wall = now() - began
    db_seconds, statements = TIMER.since(mark)
    return result, wall, db_seconds, statements


async def measure(n: int, cached: Path, workdir: Path, questionnaire: Any, catalogs: Any,
                  args: argparse.Namespace) -> Size:
    from bot.application import build_application, running
    from bot.config import Settings
    from bot.context import SERVICES
    from bot.i18n import SOURCE_LOCALE
    from bot.summary_screens import chart_png, summary_screen
    from conversations.roles import Role
    from emulator import BotApiEmulator

    size = Size(n)
    database = workdir / f"summary-{n}.db"
    shutil.copy(cached, database)
    emulator = BotApiEmulator(token=TOKEN, history=100)
    await emulator.start()
    try:
        settings = Settings(token=TOKEN, api_url=emulator.api_root, database=database,
                            moderators=frozenset({data.MODERATOR}))
        application = build_application(settings, questionnaire, catalogs)
        official, moderator = Chat(emulator, data.OFFICIAL), Chat(emulator, data.MODERATOR)
        async with running(application, poll_timeout=1):
            services = application.bot_data[SERVICES]
            service, db = services.summaries, services.db
            t = catalogs.translator("en")
            english = catalogs.translator(SOURCE_LOCALE)
            size.background = await wait_for_quiet(max_wait=args.quiet_wait)

            # End to end first, so the first /summary after start is a cold one.
            for rep in range(args.e2e + 1):
                mark = TIMER.mark()
                with LoopLag() as lag:
                    queued = await official.send("/summary")
                    text_at, text = await official.next(lambda m: m.photo is None, 60)
                    chart_at, _ = await official.next(lambda m: m.photo is not None, 60)
                db_seconds, _ = TIMER.since(mark)
                if f"Finished: {n:,}" not in text.text:
                    raise RuntimeError(f"unexpected summary text:\n{text.text[:600]}")
                if rep == 0:
                    size.e2e_first = ((text_at - queued) * 1000, (chart_at - queued) * 1000)
                    continue
                size.e2e_text_ms.append((text_at - queued) * 1000)
                size.e2e_chart_ms.append((chart_at - queued) * 1000)
                size.e2e_db_ms.append(db_seconds * 1000)
                size.e2e_lag_ms.append(lag.worst * 1000)

            # Service level: the calls /summary makes, without Telegram.
            consultation = summary = None
            for _ in range(args.reps):
                mark = TIMER.mark()
                began = now()
                answered = await service.answered()
                consultation = answered[0]
                summary = await service.summary(consultation)
                db_seconds, size.summary_statements = TIMER.since(mark)
                summary_screen(t, services.questionnaire, consultation, summary, Role.OFFICIAL)
                size.text_ms.append((now() - began) * 1000)
                size.summary_db_ms.append(db_seconds * 1000)
            assert consultation is not None and summary is not None
            for _ in range(args.charts):
                began = now()
                chart_png(t, english, services.questionnaire, consultation, summary)
                size.chart_ms.append((now() - began) * 1000)

            # The baseline: the same summary from every answer.
            for _ in range(1 if n >= 100_000 else args.naive):
                naive, wall, db_seconds, _ = await timed(
                    lambda: naive_summary(db, services.questionnaire, consultation.id,
                                          settings.min_group))
                size.naive_ms.append(wall * 1000)
                size.naive_db_ms.append(db_seconds * 1000)
                size.naive_equal = same_summary(naive, summary)

            # /export, once (informational).
            if not args.no_export:
                mark = TIMER.mark()
                with LoopLag() as lag:
                    queued = await moderator.send("/export")
                    arrived, message = await moderator.next(
                        lambda m: m.document is not None or "too large" in m.text,
                        args.export_timeout)
                built_from, built_to = EXPORTS[-1]
                size.export_build_s = built_to - built_from
                size.export_lag_ms = lag.worst_within(built_from, built_to) * 1000
                size.export_s = arrived - queued
                size.export_db_s = TIMER.since(mark)[0]
                if message.document is not None:
                    size.export_mb = len(message.document) / 2**20
                    size.export_what = message.document_name or "file"
                else:
                    size.export_what = "too large to send"
    finally:
        await emulator.stop()
        for suffix in ("", "-wal", "-shm"):
            Path(str(database) + suffix).unlink(missing_ok=True)
    return size


# -- output -----------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


async def main(args: argparse.Namespace) -> int:
    from bot.i18n import Catalogs
    from conversations.loader import load_questionnaire

    sizes = (1_000, 10_000) if args.quick else (1_000, 10_000, 100_000)
    if args.quick:
        args.charts, args.e2e, args.naive = 3, 3, 2  # service-level repetitions cost ~1 ms each
    TIMER.install()
    time_exports()
    questionnaire, catalogs = load_questionnaire(), Catalogs.load()
    print(machine())
    print(code_state())
    print(f"\nSummary cost: {', '.join(f'{n:,}' for n in sizes)} finished respondents "
          "(85% citizens, 13% officials, 2% moderators; random walks through the engine). "
          f"Service level: median of {args.reps} (charts: {args.charts}); end to end: median of "
          f"{args.e2e} after a first (cold) one; naive baseline: median of {args.naive} "
          "(1 at 100,000).\n")
    workdir = Path(tempfile.mkdtemp(prefix="bench-summary-"))
    try:
        print("  " + await data.check_bulk_matches(workdir, questionnaire, 300))
        cached = {}
        for n in sizes:
            cached[n], generated = await data.database_with(n, questionnaire)
            how = f"generated in {generated:.0f} s" if generated is not None else "cached"
            print(f"  {n:,} respondents: {cached[n]} ({cached[n].stat().st_size / 2**20:,.0f} MB, "
                  f"{how})", flush=True)
        # matplotlib is imported by the first chart: once, outside the measurements.
        began = now()
        from bot import charts  # noqa: F401
        print(f"  importing matplotlib (the first chart of a process): {now() - began:.2f} s")

        results = []
        for n in sizes:
            began = now()
            size = await measure(n, cached[n], workdir, questionnaire, catalogs, args)
            results.append(size)
            print(f"  {n:,}: measured in {now() - began:.0f} s "
                  f"(other processes used {size.background:.2f} cores before it)", flush=True)

        med = Size.med
        rows = []
        for s in results:
            rows.append([
                s.n, med(s.summary_db_ms), s.summary_statements, med(s.text_ms), med(s.chart_ms),
                med(s.e2e_text_ms), med(s.e2e_chart_ms), med(s.e2e_db_ms),
                f"{s.e2e_first[0]:.0f} / {s.e2e_first[1]:.0f}",
                med(s.naive_ms), med(s.naive_db_ms), ratio(med(s.naive_ms), med(s.text_ms)),
                "yes" if s.naive_equal else "NO",
            ])
        print("\nPer size (milliseconds; medians):\n")
        print(table(["finished", "summary DB", "stmts", "text", "chart", "e2e text", "e2e chart",
                     "e2e DB", "1st e2e text/chart", "naive", "naive DB", "naive/text",
                     "naive = totals"], rows))
        if not args.no_export:
            print("\n/export by a moderator, once per size (informational):\n")
            print(table(["finished", "seconds", "building s", "DB s", "MB", "sent",
                         "loop stall ms"],
                        [[s.n, s.export_s, s.export_build_s, s.export_db_s, s.export_mb,
                          s.export_what, s.export_lag_ms] for s in results]))
            print("(building: bot.exports.export, reading every answer, writing the CSV and "
                  "compressing it; the rest is the upload to the emulator, in this process. "
                  "Loop stall: the longest the event loop could not run a 5 ms timer while the "
                  "export was built, i.e. how long another user's tap could wait; during /summary "
                  "(the emulator's work included): "
                  + ", ".join(f"{s.n:,}: {max(s.e2e_lag_ms, default=math.nan):.0f} ms"
                              for s in results) + ")")

        first, last = results[0], results[-1]
        label = f"{last.n:,} / {first.n:,}"
        checks = [
            ("summary DB time", med(last.summary_db_ms), med(first.summary_db_ms)),
            ("text (service)", med(last.text_ms), med(first.text_ms)),
            ("chart (service)", med(last.chart_ms), med(first.chart_ms)),
            ("/summary -> text (e2e)", med(last.e2e_text_ms), med(first.e2e_text_ms)),
            ("/summary -> chart (e2e)", med(last.e2e_chart_ms), med(first.e2e_chart_ms)),
        ]
        rows = [[name, f"{b:.2f} ms", f"{a:.2f} ms", ratio(a, b), "<= 2x",
                 "met" if a / b <= 2 else "MISSED"] for name, a, b in checks]
        rows.append([f"summary DB time at {last.n:,}", "", f"{med(last.summary_db_ms):.2f} ms", "",
                     "< 200 ms", "met" if med(last.summary_db_ms) < 200 else "MISSED"])
        for s in results:
            rows.append([f"baseline: naive / totals at {s.n:,}", f"{med(s.text_ms):.2f} ms",
                         f"{med(s.naive_ms):,.0f} ms", ratio(med(s.naive_ms), med(s.text_ms)),
                         "", ""])
        print(f"\nGrowth ({label}) and the baseline:\n")
        print(table(["figure", f"at {first.n:,}", f"at {last.n:,}", "ratio", "target", ""], rows))
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=30, help="service-level summaries per size")
    parser.add_argument("--charts", type=int, default=5, help="charts drawn per size")
    parser.add_argument("--e2e", type=int, default=5, help="/summary through the emulator per size")
    parser.add_argument("--naive", type=int, default=3, help="naive summaries per size (1 at 100k)")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--export-timeout", type=float, default=240)
    parser.add_argument("--quiet-wait", type=float, default=5,
                        help="wait up to this long for other processes to go quiet before a size")
    sys.exit(asyncio.run(main(parser.parse_args())))
