"""Replies never wait: Baraza as shipped (its own rate limiter, default settings) under real loads.

    python bench/traffic.py                  # all three, ~10 min (two repetitions)
    python bench/traffic.py --only capacity  # or broadcast, flood
    python bench/traffic.py --quick          # shorter windows and broadcast, ~5 min
    python bench/traffic.py --only broadcast --broadcast-rate 30   # section 2 at Telegram's free rate

The emulator enforces Telegram's limits as they are (``emulator/ratelimit.py``): bulk messages
(to chats whose user has not written within a minute) at 30 a second (300 in section 2, as in
``broadcast_rate.py``), and one message a second per chat with bursts of 3, answering 429 beyond.
Baraza runs as shipped: ``build_application`` with ``Settings`` defaults (bulk 30/s, per chat
1/s, bursts of 3), in a child process (``_botproc.py``, ``_broadcast_bot.py``). Respondents act at a
person's pace: after each answer arrives they wait 2-5 s (uniformly random) and tap again, walking
the questionnaire (``_common.walk_forever``; a respondent who finishes is replaced). A tap's latency
runs from queueing its update to the emulator applying the edit that answers it.

1. Conversation capacity: 100 and 500 respondents for a fixed window, against the bare PTB bot
   with no rate limiter at all (``bare_bot.py``, the floor: the same calls, byte-identical screens,
   no storage) and against Baraza's previous design (PTB's AIORateLimiter, 24 calls per 0.8 s for
   every call naming a chat; ``_whatif.py previous-limiter``), bots taking turns in one run.
   Targets: p95 at 100 <= 1.5x the bare bot's, each p95 over every repetition's taps; taps/s at
   500 >= 0.8x the bare bot's, each from its repetition with the most.
2. Replies during a broadcast: 3,000 subscribers, bulk limit 300/s (bot and emulator), 50
   respondents; their p95 while the broadcast is sent against the same 50 in a run without one
   (a separate bot process with the same database, since a respondent who starts is a subscriber).
   Above Telegram's free 30/s a bot pays for its broadcasts (BARAZA_PAID_BROADCAST=1), and as
   shipped then sends them from a process of its own (``Settings.broadcast_sender``,
   bot/sender.py): so here, in both runs, with the emulator's limit at 300/s rather than the paid
   1000; its CPU is printed apart.
   Targets: p95 <= 1.5x idle, each p95 over every repetition's taps (a window's ~113 taps make
   one repetition's p95 the 6th-slowest tap, too noisy to judge alone); broadcast rate >= 95%
   of the limit; 0 duplicates, 0 missing.
3. Flood: 50 respondents; for a window with no flood, then for a window in which one more account
   sends 50 messages a second (10 s); then until its backlog is handled. Targets: the others' p95
   <= 2x without the flood; the bot's RSS (after gc) back to its level before the flood.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BotProcess,
    Load,
    code_state,
    emulator_running,
    machine,
    now,
    percentile,
    record_walk,
    self_cpu,
    system_busy,
    table,
    wait_for_quiet,
    walk_forever,
)

SCREENS = Path(tempfile.gettempdir()) / f"baraza-bench-traffic-screens-{time.monotonic_ns()}.json"
SHIPPED_BULK = 30.0  # Settings.messages_per_second, as shipped
LABEL = {"bare": "bare PTB, no limiter", "baraza": "Baraza as shipped",
         "previous": "Baraza, previous limiter"}


def telegram(bulk: float = SHIPPED_BULK) -> Any:
    """Telegram's limits as the emulator models them."""
    from emulator import RateLimit

    return RateLimit(per_second=bulk, per_chat_per_second=1, per_chat_burst=3)


def human(rng: random.Random) -> Any:
    """A person's pace: 2-5 s between an answer arriving and the next tap."""
    async def pace() -> None:
        await asyncio.sleep(rng.uniform(2, 5))

    return pace


@dataclass
class Window:
    """What one measured window recorded."""

    label: str
    respondents: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # ms, taps answered in the window
    late: int = 0  # taps still unanswered (or timed out) when the window ended
    bot_cpu: float = 0.0
    sender_cpu: float = 0.0  # its sender process's, when it has one
    own_cpu: float = 0.0  # CPU seconds of this process (the emulator and the respondents)
    others: float = 0.0  # cores other processes used
    refused: dict[str, int] = field(default_factory=dict)  # 429s by limit
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def taps_per_s(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


async def respondents_for(emulator: Any, count: int, seconds: float, warmup: float,
                          seed: int) -> tuple[Load, float, float]:
    """``count`` respondents at a person's pace; returns their load and the measured window."""
    rng = random.Random(seed)
    load = Load()
    began = now()
    window = (began + warmup, began + warmup + seconds)
    await asyncio.gather(*(walk_forever(emulator, load, window[1], human(rng))
                           for _ in range(count)))
    return load, *window


def measured(load: Load, start: float, end: float) -> list[float]:
    return [t.latency_ms for t in load.taps if start <= t.done <= end]


@dataclass(frozen=True)
class CpuUse:
    """Who used the CPU while a coroutine ran."""

    bot: float  # CPU seconds of the bot process (the one answering people)
    sender: float  # CPU seconds of its sender process, if it has one (bot/sender.py)
    own: float  # CPU seconds of this process: the emulator and the respondents
    others: float  # cores used by every other process


async def sampled(bot: Any, coroutine: Any) -> tuple[Any, CpuUse]:
    """Run ``coroutine``; also returns who used the CPU meanwhile."""
    s0, busy0, self0, t0 = await bot.request("stats"), system_busy(), self_cpu(), now()
    result = await coroutine
    s1, busy1, self1, t1 = await bot.request("stats"), system_busy(), self_cpu(), now()
    used = s1["cpu"] - s0["cpu"]
    # A sender that was started or replaced meanwhile would count from zero: never below 0.
    sender = max(0.0, s1.get("children_cpu", 0.0) - s0.get("children_cpu", 0.0))
    others = max(0.0, (busy1 - busy0 - (self1 - self0) - used - sender) / (t1 - t0))
    return result, CpuUse(bot=used, sender=sender, own=self1 - self0, others=others)


# -- 1. conversation capacity -----------------------------------------------------------------------


async def capacity_run(kind: str, respondents: int, seconds: float, warmup: float) -> Window:
    await wait_for_quiet(max_wait=10)
    with tempfile.TemporaryDirectory(prefix="bench-traffic-") as tmp:
        async with emulator_running(telegram()) as emulator:
            if kind == "bare":
                bot = BotProcess("bare", emulator.api_root, screens=SCREENS, rate=0)
            else:
                bot = BotProcess("baraza", emulator.api_root, database=Path(tmp) / "baraza.db",
                                 rate=SHIPPED_BULK, chat_rate=None,
                                 whatif="previous-limiter" if kind == "previous" else None)
            await bot.start()
            try:
                (load, start, end), cpu = await sampled(
                    bot, respondents_for(emulator, respondents, seconds, warmup, seed=respondents))
            finally:
                await bot.stop()
            window = Window(LABEL[kind], respondents, end - start, measured(load, start, end),
                            late=len(load.failures), bot_cpu=cpu.bot, others=cpu.others)
            window.refused = {r.value: n for r, n in emulator.refused_by_limit.items()}
            window.notes["rejected"] = sum(1 for e in emulator.errors if e.code != 429)
    return window


async def capacity(args: argparse.Namespace) -> list[str]:
    seconds, warmup = (10.0, 4.0) if args.quick else (20.0, 5.0)
    await record_walk(SCREENS)
    runs: dict[tuple[str, int], list[Window]] = {}
    kinds = ("bare", "baraza", "previous")
    for rep in range(args.repetitions):
        for n in args.sizes:
            for kind in (kinds if rep % 2 == 0 else kinds[::-1]):
                w = await capacity_run(kind, n, seconds, warmup)
                runs.setdefault((kind, n), []).append(w)
                print(f"  rep {rep + 1} [{w.label:24}] {n:3} respondents: {w.taps_per_s:6.1f} taps/s, "
                      f"p50 {w.p(50):7.1f} ms, p95 {w.p(95):8.1f} ms, timed out {w.late}, 429s "
                      f"{w.refused}, bot CPU {w.bot_cpu / (w.seconds + warmup):.0%} of a core, "
                      f"others {w.others:.2f} cores", flush=True)

    def together(kind: str, n: int) -> Window:
        """Every repetition's taps as one window (see section 2 on why one repetition's p95 won't do)."""
        return pooled(LABEL[kind], runs[(kind, n)])

    def most_taps(kind: str, n: int) -> float:
        return max(w.taps_per_s for w in runs[(kind, n)])

    print(f"\n1. Conversation capacity: respondents at a person's pace, {seconds:g} s measured after "
          f"{warmup:g} s, {args.repetitions} repetition(s), their taps pooled; the emulator at "
          f"Telegram's limits\n")
    print(table(["bot", "N", "taps/s", "best taps/s", "p50 ms", "p95 ms", "p99 ms", "timed out",
                 "429 bulk/chat", "others' cores"],
                [[w.label, n, w.taps_per_s, most_taps(kind, n), w.p(50), w.p(95), w.p(99), w.late,
                  f"{w.refused.get('bulk', 0)}/{w.refused.get('chat', 0)}", w.others]
                 for (kind, n) in runs for w in [together(kind, n)]]))
    verdicts = []
    if 100 in args.sizes:
        bare100, baraza100 = together("bare", 100), together("baraza", 100)
        p95_ratio = baraza100.p(95) / bare100.p(95)
        each = ", ".join(f"{b.p(95) / a.p(95):.2f}x"
                         for a, b in zip(runs[("bare", 100)], runs[("baraza", 100)]))
        verdicts.append(
            f"1. p95 at 100 respondents: {baraza100.p(95):.1f} ms vs bare {bare100.p(95):.1f} ms = "
            f"{p95_ratio:.2f}x, all repetitions' taps pooled (target <= 1.5x): "
            f"{'met' if p95_ratio <= 1.5 else 'MISSED'}; repetition by repetition {each}; "
            f"previous design {together('previous', 100).p(95):.0f} ms")
    if 500 in args.sizes:
        taps_ratio = most_taps("baraza", 500) / most_taps("bare", 500)
        verdicts.append(
            f"1. taps/s at 500 respondents: {most_taps('baraza', 500):.1f} vs bare "
            f"{most_taps('bare', 500):.1f} = {taps_ratio:.2f}x (target >= 0.8x): "
            f"{'met' if taps_ratio >= 0.8 else 'MISSED'}; previous design "
            f"{most_taps('previous', 500):.1f} taps/s, p95 {together('previous', 500).p(95):.0f} ms")
    return verdicts


# -- 2. replies during a broadcast ------------------------------------------------------------------


async def broadcast(args: argparse.Namespace) -> list[str]:
    import broadcast_rate as br

    n, rate, respondents = (1500, 300.0, 50) if args.quick else (3000, 300.0, 50)
    if args.broadcast_rate is not None:  # the same ten seconds of sending at another rate
        rate = args.broadcast_rate
        n = round(n * rate / 300.0)
    workdir = Path(tempfile.mkdtemp(prefix="bench-traffic-broadcast-"))
    try:
        template = workdir / "template.db"
        await br.prepare(template, n)
        idles: list[Window] = []
        busies: list[Window] = []
        for rep in range(args.repetitions):
            idles.append(await broadcast_run(br, n, rate, respondents, template, workdir,
                                             send=False))
            busies.append(await broadcast_run(br, n, rate, respondents, template, workdir,
                                              send=True))
            idles[-1].label += f", rep {rep + 1}"
            busies[-1].label += f", rep {rep + 1}"
            print(f"  rep {rep + 1}: p95 idle {idles[-1].p(95):.1f} ms, during the broadcast "
                  f"{busies[-1].p(95):.1f} ms; broadcast {busies[-1].notes['run'].achieved / rate:.1%} "
                  f"of the limit; others {idles[-1].others:.2f} / {busies[-1].others:.2f} cores; "
                  f"bot {idles[-1].bot_cpu / idles[-1].seconds:.2f} / "
                  f"{busies[-1].bot_cpu / busies[-1].seconds:.2f} cores, its sender process "
                  f"{idles[-1].sender_cpu / idles[-1].seconds:.2f} / "
                  f"{busies[-1].sender_cpu / busies[-1].seconds:.2f}, emulator and respondents "
                  f"{idles[-1].own_cpu / idles[-1].seconds:.2f} / "
                  f"{busies[-1].own_cpu / busies[-1].seconds:.2f} cores", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # Every repetition's taps together: a window holds ~113 taps, whose p95 (the 6th slowest) swings
    # 0.9-1.9x between repetitions of the same code; the pooled p95 is the figure judged.
    idle = pooled("idle (no broadcast), all repetitions", idles)
    busy = pooled("during the broadcast, all repetitions", busies)
    run: Any = max((w.notes["run"] for w in busies), key=lambda r: r.achieved)
    duplicates = sum(w.notes["run"].duplicates for w in busies)
    missing = sum(w.notes["run"].missing for w in busies)
    exact = all(w.notes["run"].exact for w in busies)
    print(f"\n2. Replies during a broadcast: {n:,} subscribers, bulk limit {rate:g}/s, "
          f"{respondents} respondents at a person's pace\n")
    print(table(["window", "s", "taps", "p50 ms", "p95 ms", "p99 ms", "timed out", "429 bulk/chat",
                 "others' cores"],
                [[w.label, w.seconds, len(w.latencies), w.p(50), w.p(95), w.p(99), w.late,
                  f"{w.refused.get('bulk', 0)}/{w.refused.get('chat', 0)}", w.others]
                 for w in (*idles, *busies, idle, busy)]))
    ratio = busy.p(95) / idle.p(95)
    each = ", ".join(f"{b.p(95) / i.p(95):.2f}x" for i, b in zip(idles, busies))
    share = run.achieved / rate
    print(f"Broadcast (best repetition): {len(run.arrivals):,} delivered, achieved "
          f"{run.achieved:.1f}/s ({share:.1%} of the limit), 429s {dict(run.too_many)}; every "
          f"repetition: duplicates {duplicates}, missing {missing}")
    return [
        f"2. respondents' p95 during the broadcast {busy.p(95):.1f} ms vs idle {idle.p(95):.1f} ms "
        f"= {ratio:.2f}x, all repetitions' taps pooled (target <= 1.5x): "
        f"{'met' if ratio <= 1.5 else 'MISSED'}; repetition by repetition {each}",
        f"2. broadcast rate {share:.1%} of the limit (target >= 95%): "
        f"{'met' if share >= 0.95 else 'MISSED'}; duplicates {duplicates}, missing "
        f"{missing}: {'met' if exact else 'MISSED'}",
    ]


def pooled(label: str, windows: list[Window]) -> Window:
    """The windows' taps as one window."""
    window = Window(label, windows[0].respondents, sum(w.seconds for w in windows),
                    [latency for w in windows for latency in w.latencies],
                    late=sum(w.late for w in windows), others=max(w.others for w in windows))
    for w in windows:
        for limit, count in w.refused.items():
            window.refused[limit] = window.refused.get(limit, 0) + count
    return window


async def broadcast_run(br: Any, n: int, rate: float, respondents: int, template: Path,
                        workdir: Path, *, send: bool) -> Window:
    """One bot process on a copy of ``template``; respondents walk for the broadcast's span."""
    from _broadcast_bot import TEXTS

    database = workdir / f"run-{send}.db"
    shutil.copy(template, database)
    run = br.Run("baraza", n, rate)
    subscribers = br.people(n)
    emulator = br.emulator_for(rate, subscribers, run, limit=telegram(rate))
    await emulator.start()
    # Above 30/s a bot pays for its broadcasts, and then sends them from a process of its own.
    child = br.Child("baraza", emulator.api_root, rate, database,
                     sender="process" if rate > SHIPPED_BULK else None)
    seconds = (n - 0.8 * rate) / rate  # what the broadcast takes after its first burst
    try:
        await child.start()
        await wait_for_quiet(max_wait=10)
        if send:
            moderator = emulator.user(br.MODERATOR, language_code="en")
            await moderator.send("/broadcast", timeout=30)
            await moderator.click(TEXTS["en"][0], timeout=30)
            await moderator.click("Send", settle=False)
            await emulator.wait_until(lambda: len(run.arrivals) >= rate, 30,
                                      lambda: f"{len(run.arrivals)} delivered")
        (load, start, end), cpu = await sampled(
            child, respondents_for(emulator, respondents, seconds, 0.0, seed=7))
        latencies = measured(load, start, end)
        if send:
            await emulator.wait_until(lambda: len(run.arrivals) >= n, 60,
                                      lambda: f"{len(run.arrivals)} of {n} delivered")
            await moderator.wait_for(lambda m: "Broadcast finished" in m.text, timeout=30)
            await asyncio.sleep(0.3)
    finally:
        await child.stop()
        await emulator.stop()
    br.collect(run, emulator, subscribers)
    window = Window("during the broadcast" if send else "idle (no broadcast)", respondents,
                    end - start, latencies, late=len(load.failures), bot_cpu=cpu.bot,
                    sender_cpu=cpu.sender, own_cpu=cpu.own, others=cpu.others)
    window.refused = {r.value: k for r, k in emulator.refused_by_limit.items()}
    window.notes["run"] = run
    return window


# -- 3. flood ---------------------------------------------------------------------------------------


async def flood(args: argparse.Namespace) -> list[str]:
    respondents, rate, flood_s = 50, 50.0, 10.0
    seconds = 10.0
    with tempfile.TemporaryDirectory(prefix="bench-traffic-flood-") as tmp:
        async with emulator_running(telegram()) as emulator:
            bot = BotProcess("baraza", emulator.api_root, database=Path(tmp) / "baraza.db",
                             rate=SHIPPED_BULK, chat_rate=None)
            await bot.start()
            try:
                await wait_for_quiet(max_wait=10)
                (load, start, end), cpu = await sampled(
                    bot, respondents_for(emulator, respondents, seconds, 4.0, seed=11))
                calm = Window("without a flood", respondents, end - start,
                              measured(load, start, end), late=len(load.failures),
                              bot_cpu=cpu.bot, others=cpu.others)
                before = await bot.stats(collect=True)
                flooder = emulator.user(9_999_999, language_code="en")

                async def spam() -> int:
                    sent, began = 0, now()
                    while now() - began < flood_s:
                        await flooder.send(f"spam {sent}", settle=False)
                        sent += 1
                        await asyncio.sleep(max(0.0, began + sent / rate - now()))
                    return sent

                async def both() -> tuple[Any, int]:
                    return await asyncio.gather(
                        respondents_for(emulator, respondents, flood_s, 0.0, seed=12), spam())

                ((load, start, end), spammed), cpu = await sampled(bot, both())
                flooded = Window("during the flood", respondents, end - start,
                                 measured(load, start, end), late=len(load.failures),
                                 bot_cpu=cpu.bot, others=cpu.others)
                peak = await bot.stats()
                # The flooder's backlog (at most 20 updates) is answered at one message a second.
                drained_at, replied = now(), -1
                while replied != len(flooder.messages) and now() - drained_at < 60:
                    replied = len(flooder.messages)
                    await asyncio.sleep(2.5)  # more than a second: its replies are paced so
                drained = now() - drained_at - 2.5
                after = await bot.stats(collect=True)
            finally:
                await bot.stop()
            replies = len(flooder.messages)
            refused = {r.value: k for r, k in emulator.refused_by_limit.items()}
    ratio = flooded.p(95) / calm.p(95)
    rss_ratio = after["vmrss_kb"] / before["vmrss_kb"]
    print(f"\n3. Flood: {respondents} respondents at a person's pace; one account sends "
          f"{rate:g} messages a second for {flood_s:g} s\n")
    print(table(["window", "s", "taps", "p50 ms", "p95 ms", "p99 ms", "timed out", "others' cores"],
                [[w.label, w.seconds, len(w.latencies), w.p(50), w.p(95), w.p(99), w.late, w.others]
                 for w in (calm, flooded)]))
    print(f"The flooder sent {spammed} messages and got {replies} replies (one of them the notice); "
          f"its backlog took {drained:.1f} s to answer after the flood; 429s {refused}.")
    print(f"Bot RSS after gc: {before['vmrss_kb'] / 1024:.1f} MB before the flood, "
          f"{peak['vmrss_kb'] / 1024:.1f} MB at its end (no gc), {after['vmrss_kb'] / 1024:.1f} MB "
          f"once its backlog was answered")
    return [
        f"3. others' p95 during the flood {flooded.p(95):.1f} ms vs without {calm.p(95):.1f} ms = "
        f"{ratio:.2f}x (target <= 2x): {'met' if ratio <= 2 else 'MISSED'}",
        f"3. RSS after the flood / before: {rss_ratio:.3f} (target: back to its level): "
        f"{'met' if rss_ratio <= 1.02 else 'MISSED'}",
    ]


async def main(args: argparse.Namespace) -> None:
    print(machine())
    print(code_state())
    with open("/proc/loadavg") as handle:
        print(f"load average at the start: {handle.read().strip()}\n")
    started = now()
    verdicts: list[str] = []
    sections = {"capacity": capacity, "broadcast": broadcast, "flood": flood}
    for name in args.only or list(sections):
        print(f"== {name} ==", flush=True)
        verdicts += await sections[name](args)
    with open("/proc/loadavg") as handle:
        print(f"\nload average at the end: {handle.read().strip()} ({now() - started:.0f} s)")
    print("\nAgainst the targets")
    for verdict in verdicts:
        print(f"  {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows")
    parser.add_argument("--only", nargs="+", choices=["capacity", "broadcast", "flood"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500],
                        help="respondents in section 1")
    parser.add_argument("--repetitions", type=int, default=2,
                        help="of sections 1 and 2 (the flood runs once)")
    parser.add_argument("--broadcast-rate", type=float,
                        help="section 2 at this bulk rate (subscribers scaled to keep its "
                             "duration), e.g. 30, Telegram's free rate; the target is set at 300")
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        SCREENS.unlink(missing_ok=True)
