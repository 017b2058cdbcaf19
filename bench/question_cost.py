"""Per-question results and the report as data grows: 1,000 and 100,000 finished respondents.

    python bench/question_cost.py            # 1,000 and 100,000 (~5 min the first time: generates)
    python bench/question_cost.py --quick    # 1,000 and 10,000, fewer repetitions

The databases are those of ``summary_cost.py`` (``_summary_data.py``: what the bot leaves when a
session finishes, the per-option running totals included), cached under /tmp; each size is
measured on a fresh copy, with the service the bot's handlers use (``SummaryService``) and the
real renderers. Database time is every aiosqlite round trip (``summary_cost.DbTimer``).

Per size (median of repetitions, after a first read that makes the release):
* per-question figures: ``SummaryService.question_results`` (the release check and the released
  option counts), its database time and its whole time;
* By question: those figures and every pillar's page (``question_page``), and the gaps message;
* the report: ``build_report`` (summary, per-question figures, comments, the HTML), in English and
  in Arabic, its size and database time;
* the first read after the respondents finished: the release itself (informational);
* end to end, the real bot in this process against the emulator: an official's /report until the
  file arrives, and a tap on By question (under the summary) until the first page arrives.

Targets: time at 100,000 / time at 1,000 <= 2 (per-question summary and report);
database time of the per-question figures at 100,000 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _summary_data as data
from _common import code_state, machine, table
from summary_cost import TIMER


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float, float]:
    """(result, seconds, database seconds) of one call."""
    mark = TIMER.mark()
    began = time.perf_counter()
    result = await call()
    elapsed = time.perf_counter() - began
    db_seconds, _ = TIMER.since(mark)
    return result, elapsed, db_seconds


async def measure(n: int, cached: Path, workdir: Path, questionnaire: Any, catalogs: Any,
                  repeats: int) -> dict[str, float]:
    from bot.context import Services
    from bot.handlers.reports import build_report
    from bot.question_screens import gaps_screen, question_page
    from bot.summaries import SummaryService
    from bot.turns import Turns
    from conversations.flow import Flow
    from conversations.roles import Role
    from storage import Database

    path = workdir / f"copy-{n}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copy(cached, path)
    db = await Database.open(path)
    try:
        turns = Turns(db, Flow(questionnaire), catalogs)
        services = Services(turns, catalogs, summaries=SummaryService(turns, 5))
        service = services.summaries
        assert service is not None
        (consultation,) = await service.answered()
        en, ar = catalogs.translator("en"), catalogs.translator("ar")

        _, first, first_db = await timed(lambda: service.question_results(consultation))
        results = await service.question_results(consultation)
        answered = sum(line.citizens.answered + line.officials.answered for line in results.lines)
        assert answered > n, "every respondent answered questions: the totals must show them"

        async def pages() -> int:
            found = await service.question_results(consultation)
            screens = [question_page(en, questionnaire, "County budget", found, page,
                                     consultation.id) for page in range(len(questionnaire.pillars))]
            gaps_screen(en, questionnaire, consultation.id, found)
            return len(screens)

        samples: dict[str, list[float]] = {k: [] for k in (
            "figures", "figures_db", "pages", "report_en", "report_en_db", "report_ar")}
        size = 0
        for _ in range(repeats):
            _, seconds, db_seconds = await timed(lambda: service.question_results(consultation))
            samples["figures"].append(seconds)
            samples["figures_db"].append(db_seconds)
            _, seconds, _ = await timed(pages)
            samples["pages"].append(seconds)
            (document, _), seconds, db_seconds = await timed(
                lambda: build_report(services, en, consultation, Role.MODERATOR))
            samples["report_en"].append(seconds)
            samples["report_en_db"].append(db_seconds)
            size = len(document)
            _, seconds, _ = await timed(lambda: build_report(services, ar, consultation, Role.OFFICIAL))
            samples["report_ar"].append(seconds)
        found = {k: statistics.median(v) for k, v in samples.items()}
        found |= {"first": first, "first_db": first_db, "size": size}
        return found
    finally:
        await db.close()


async def end_to_end(n: int, cached: Path, workdir: Path, questionnaire: Any, catalogs: Any,
                     repeats: int) -> dict[str, float]:
    """An official through the emulator: /report until the file arrives; the By question button
    under the summary until its first page arrives (medians, after one cold run)."""
    from bot.application import build_application, running
    from bot.config import Settings
    from emulator import BotApiEmulator

    from _common import TOKEN
    from summary_cost import Chat

    database = workdir / f"e2e-{n}.db"
    shutil.copy(cached, database)
    emulator = BotApiEmulator(token=TOKEN, history=100)
    await emulator.start()
    found: dict[str, list[float]] = {"report_e2e": [], "page_e2e": []}
    try:
        settings = Settings(token=TOKEN, api_url=emulator.api_root, database=database,
                            moderators=frozenset({data.MODERATOR}))
        application = build_application(settings, questionnaire, catalogs)
        official = Chat(emulator, data.OFFICIAL)
        async with running(application, poll_timeout=1):
            for rep in range(repeats + 1):
                queued = await official.send("/report")
                arrived, _ = await official.next(lambda m: m.document is not None, 60)
                await official.send("/summary")
                await official.next(lambda m: "By question" in (m.markup_json or ""), 60)
                await official.user.settle()
                began = time.perf_counter()
                await official.user.click("By question", settle=False)
                page_at, _ = await official.next(lambda m: "Pillar 1 of" in (m.text or ""), 60)
                if rep:  # the first of each is a cold one
                    found["report_e2e"].append(arrived - queued)
                    found["page_e2e"].append(page_at - began)
    finally:
        await emulator.stop()
    return {k: statistics.median(v) for k, v in found.items()}


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


async def main(args: argparse.Namespace) -> int:
    from bot.i18n import Catalogs
    from conversations.loader import load_questionnaire

    sizes = (1_000, 10_000) if args.quick else (1_000, 100_000)
    repeats = 5 if args.quick else 15
    print("# question_cost")
    print(machine())
    print("load average (1, 5, 15 min) before: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(code_state())
    questionnaire, catalogs = load_questionnaire(), Catalogs.load()
    TIMER.install()
    workdir = Path(tempfile.mkdtemp(prefix="baraza-question-cost-"))
    print(await data.check_bulk_matches(workdir, questionnaire, 40))
    figures: dict[int, dict[str, float]] = {}
    try:
        for n in sizes:
            cached, generated = await data.database_with(n, questionnaire)
            if generated is not None:
                print(f"generated {n:,} finished respondents in {generated:.0f} s")
            figures[n] = await measure(n, cached, workdir, questionnaire, catalogs, repeats)
            figures[n] |= await end_to_end(n, cached, workdir, questionnaire, catalogs,
                                           max(5, repeats // 2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = []
    for n, f in figures.items():
        rows.append([f"{n:,}", ms(f["figures_db"]), ms(f["figures"]), ms(f["pages"]),
                     ms(f["report_en"]), ms(f["report_en_db"]), ms(f["report_ar"]),
                     round(f["size"] / 1024), ms(f["first"]), ms(f["first_db"])])
    print()
    print(table(["finished", "figures db ms", "figures ms", "5 pages+gaps ms", "report en ms",
                 "report db ms", "report ar ms", "report KiB", "1st read ms", "1st read db ms"],
                rows))
    print()
    print("End to end, an official through the emulator (median after a cold run):")
    print(table(["finished", "/report until the file ms", "By question until page 1 ms"],
                [[f"{n:,}", ms(f["report_e2e"]), ms(f["page_e2e"])] for n, f in figures.items()]))
    small, large = figures[sizes[0]], figures[sizes[-1]]
    print()
    verdicts = []
    for key, name in (("pages", "per-question summary (5 pages + gaps)"),
                      ("report_en", "report (en)"), ("report_ar", "report (ar)"),
                      ("report_e2e", "/report end to end"),
                      ("page_e2e", "By question end to end")):
        ratio = large[key] / small[key]
        verdicts.append(ratio <= 2)
        print(f"{name}: {sizes[-1]:,} / {sizes[0]:,} = {ratio:.2f}  (target <= 2: "
              f"{'met' if ratio <= 2 else 'NOT met'})")
    print("load average (1, 5, 15 min) after: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    db_ms = large["figures_db"] * 1000
    verdicts.append(db_ms < 50)
    print(f"database time of the per-question figures at {sizes[-1]:,}: {db_ms:.2f} ms "
          f"(target < 50 ms: {'met' if db_ms < 50 else 'NOT met'})")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000, fewer repetitions")
    sys.exit(asyncio.run(main(parser.parse_args())))
