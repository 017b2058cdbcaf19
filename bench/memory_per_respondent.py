"""Memory per respondent: RSS of the Baraza bot process with 10,000 respondents against 100.

    python bench/memory_per_respondent.py               # 100 against 10,000 (~4 min)
    python bench/memory_per_respondent.py --quick       # 100 against 1,000 (~40 s)
    python bench/memory_per_respondent.py --tracemalloc # also list where the growth was allocated
                                                        # (slow; the bot runs under tracemalloc)

The bot runs in its own process. 100 respondents are driven through real updates over the
emulator (/start, English, I agree, then part of the questionnaire); each of them then sends one
more /start ("Welcome back" and their question) and taps one answer, twice over, so that the bot
has touched every one of them. RSS is read from /proc/<pid>/status (VmRSS) after gc.collect()
and malloc_trim(0) (memory Python freed but malloc kept is no respondent's state), and also raw.
Then the other respondents are inserted part-way through the questionnaire through the storage
repositories, every one of the 10,000 sends /start and taps one answer (50 at a time), and RSS is
read again. KB per respondent = growth / added respondents. Target: under 2 KB.

For contrast, the same figure for the PicklePersistence baseline (bench/pickle_bot.py), which
keeps every respondent's answers in memory: its RSS right after loading 100 and 10,000
respondents' state.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from _common import (
    BotProcess,
    Respondent,
    answered_counts,
    emulator_running,
    load_questionnaire,
    machine,
    now,
    populate_baraza,
    populate_pickle,
    table,
    walk_plan,
)

CONCURRENCY = 50
SAMPLE = 100


async def drive_sample(emulator, user_ids: list[int], answered: list[int]) -> None:  # noqa: ANN001
    """Real updates: /start, English, I agree, then ``answered`` answers."""
    async def one(user_id: int, count: int) -> None:
        person = Respondent(emulator, user_id)
        try:
            await person.send("/start")
            await person.tap()  # English
            await person.tap()  # I agree
            for _ in range(count):
                await person.tap()
        finally:
            person.close()

    await in_parallel([one(u, c) for u, c in zip(user_ids, answered, strict=True)])


async def touch(emulator, user_ids: list[int]) -> int:  # noqa: ANN001
    """Every respondent sends /start, then taps an answer on the question it shows."""
    failures = 0

    async def one(user_id: int) -> None:
        nonlocal failures
        person = Respondent(emulator, user_id)
        try:
            await person.send("/start")
            if not person.finished:
                await person.tap()
        except (TimeoutError, AssertionError):
            failures += 1
        finally:
            person.close()

    await in_parallel([one(u) for u in user_ids])
    return failures


async def in_parallel(coroutines: list) -> None:  # noqa: ANN001
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def limited(coroutine) -> None:  # noqa: ANN001
        async with semaphore:
            await coroutine

    await asyncio.gather(*(limited(c) for c in coroutines))


async def baraza(total: int, tracemalloc: bool) -> dict:
    questionnaire = load_questionnaire()
    plan = walk_plan(questionnaire)
    user_ids = list(range(1, total + 1))
    answered = answered_counts(total, len(plan))
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        database = Path(tmp) / "baraza.db"
        async with emulator_running() as emulator:
            bot = BotProcess("baraza", emulator.api_root, database=database, tracemalloc=tracemalloc)
            ready = await bot.start()
            try:
                figures["started"] = ready
                t0 = now()
                await drive_sample(emulator, user_ids[:SAMPLE], answered[:SAMPLE])
                print(f"  {SAMPLE} respondents driven through real updates in {now() - t0:.1f} s", flush=True)
                for _ in range(2):
                    failures = await touch(emulator, user_ids[:SAMPLE])
                figures["small_raw"] = await bot.stats()
                figures["small"] = await bot.stats(collect=True)
                if tracemalloc:
                    await bot.request("tracemalloc_top")  # the reference snapshot
                print(f"  touched the {SAMPLE} twice: VmRSS {figures['small']['vmrss_kb']:,} KB", flush=True)
                t0 = now()
                populate_s = await populate_baraza(database, user_ids[SAMPLE:], answered[SAMPLE:], questionnaire)
                figures["populate_s"] = populate_s
                print(f"  inserted {total - SAMPLE:,} respondents through the storage layer in "
                      f"{populate_s:.1f} s", flush=True)
                t0 = now()
                failures += await touch(emulator, user_ids)
                figures["touch_s"] = now() - t0
                figures["large_raw"] = await bot.stats()
                figures["large"] = await bot.stats(collect=True)
                print(f"  touched all {total:,} in {figures['touch_s']:.1f} s: VmRSS "
                      f"{figures['large']['vmrss_kb']:,} KB", flush=True)
                figures["failures"] = failures
                if tracemalloc:
                    figures["top"] = (await bot.request("tracemalloc_top", limit=12))["top"]
            finally:
                await bot.stop()
            figures["errors"] = len(emulator.errors)
            figures["unanswered"] = len(emulator.unanswered_callback_queries())
    return figures


async def pickle_contrast(total: int) -> dict[int, int]:
    """VmRSS (KB, after gc) of the pickle bot right after loading ``count`` respondents' state."""
    questionnaire = load_questionnaire()
    plan = walk_plan(questionnaire)
    rss = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-pickle-") as tmp:
        for count in (SAMPLE, total):
            path = Path(tmp) / f"state-{count}.pickle"
            populate_pickle(path, list(range(1, count + 1)), answered_counts(count, len(plan)), questionnaire)
            async with emulator_running() as emulator:
                bot = BotProcess("pickle", emulator.api_root, pickle_path=path)
                await bot.start()
                try:
                    rss[count] = (await bot.stats(collect=True))["vmrss_kb"]
                finally:
                    await bot.stop()
    return rss


async def main(args: argparse.Namespace) -> None:
    total = 1_000 if args.quick else 10_000
    print(f"Memory per respondent ({'quick' if args.quick else 'full'} run)")
    print(machine())
    print(f"Baraza bot in its own process; {SAMPLE} against {total:,} respondents part-way through "
          f"the questionnaire, each touched by an update.\n")
    started = now()
    figures = await baraza(total, args.tracemalloc)
    contrast = await pickle_contrast(total)
    added = total - SAMPLE
    small, large = figures["small"]["vmrss_kb"], figures["large"]["vmrss_kb"]
    small_raw, large_raw = figures["small_raw"]["vmrss_kb"], figures["large_raw"]["vmrss_kb"]
    per = (large - small) / added
    per_raw = (large_raw - small_raw) / added
    pickle_per = (contrast[total] - contrast[SAMPLE]) / added
    print()
    print(table(["process", f"{SAMPLE} respondents KB", f"{total:,} respondents KB", "growth KB", "KB/respondent"], [
        ["Baraza, after gc + malloc_trim", small, large, large - small, per],
        ["Baraza, raw VmRSS", small_raw, large_raw, large_raw - small_raw, per_raw],
        ["Baraza, VmHWM (peak)", figures["small"]["vmhwm_kb"], figures["large"]["vmhwm_kb"],
         figures["large"]["vmhwm_kb"] - figures["small"]["vmhwm_kb"],
         (figures["large"]["vmhwm_kb"] - figures["small"]["vmhwm_kb"]) / added],
        ["Pickle baseline, after loading (contrast)", contrast[SAMPLE], contrast[total],
         contrast[total] - contrast[SAMPLE], pickle_per],
    ]))
    a, b = figures["small"], figures["large"]
    detail = []
    if a.get("sqlite_kb") is not None:
        detail.append(["SQLite memory (page cache etc.), KB", a["sqlite_kb"], b["sqlite_kb"],
                       b["sqlite_kb"] - a["sqlite_kb"], (b["sqlite_kb"] - a["sqlite_kb"]) / added])
    detail.append(["objects tracked by Python's gc", a["gc_objects"], b["gc_objects"],
                   b["gc_objects"] - a["gc_objects"], (b["gc_objects"] - a["gc_objects"]) / added])
    if a.get("ptb_marked_ids") is not None:
        detail.append(["ids in PTB's persistence-update sets", a["ptb_marked_ids"], b["ptb_marked_ids"],
                       b["ptb_marked_ids"] - a["ptb_marked_ids"],
                       (b["ptb_marked_ids"] - a["ptb_marked_ids"]) / added])
    print("\nWhere Baraza's growth is (after gc)")
    print(table(["", f"{SAMPLE} respondents", f"{total:,} respondents", "growth", "per respondent"], detail))
    print(f"\n  Baraza at start-up: {figures['started']['vmrss_kb']:,} KB; touching all {total:,} took "
          f"{figures['touch_s']:.0f} s ({2 * total / figures['touch_s']:.0f} updates/s); "
          f"rejected calls {figures['errors']}, unanswered callback queries {figures['unanswered']}, "
          f"respondents timed out {figures['failures']}")
    print(f"\nAgainst the target: {per:.2f} KB per respondent (target < 2 KB): "
          f"{'met' if per < 2 else 'MISSED'}")
    if figures.get("top"):
        print("\nLargest allocation growth (tracemalloc, between the two measurements):")
        for entry in figures["top"]:
            print(f"  {entry['kb']:9.1f} KB {entry['count']:+7d} blocks  {' <- '.join(reversed(entry['where'][-3:]))}")
    print(f"\n(total {now() - started:.0f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 against 1,000 respondents")
    parser.add_argument("--tracemalloc", action="store_true", help="also show where memory grew")
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(130)
