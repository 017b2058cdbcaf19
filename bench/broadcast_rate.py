"""Broadcast rate fidelity: does Baraza's delivery queue keep to the flood limit, once each?

    python bench/broadcast_rate.py            # ~2.5 min: 3,000 and 1,000 subscribers at 300/s
    python bench/broadcast_rate.py --quick    # ~15 s: 1,000 and 600 subscribers, one repetition
    python bench/broadcast_rate.py --rate 100 --profile
    python bench/broadcast_rate.py --quick --py-spy       # where the bot's CPU goes (py-spy)
    python bench/broadcast_rate.py --whatif bucket0.8 share0.8   # + what a fix would buy (+1.5 min)

Subscribers (respondents in English, French or Arabic, consented and subscribed) are inserted
through the storage repositories before the bot starts. The emulator answers 429 beyond
``--rate`` sends a second (a token bucket holding one second's worth, as ``emulator/ratelimit.py``
models Telegram), and the bot's ``Settings.messages_per_second`` is the same rate, so PTB's
AIORateLimiter paces it. The bot runs in a child process (``_broadcast_bot.py``); the emulator
and the moderator run here. Its broadcasts are sent by that process (``Sender.INLINE``), so that
its CPU and memory per message are measured, profiled and compared with the baseline's in one
process; as shipped, paid broadcasts (the only way above 30/s) are sent by a process of its own
(bot/sender.py), which ``traffic.py`` section 2 measures. The moderator sends /broadcast, picks
the consultation and taps Send, so the broadcast takes exactly the handler's path.

Each delivery is stamped (``perf_counter``) as the emulator stores it (``EmulatedUser.subscribe``
with the queue's ``put_nowait`` replaced by a recorder; the emulator's code is unchanged).

Figures:
* rate: N / (last - first delivery) as asked, and the *achieved* rate (N - B) / (last - first)
  with B = the limit: both the emulator's bucket and PTB's limiter start full with a second's
  worth, so B go out at once and N / span overstates the pace (3,000 at 300/s: 111% when perfect).
  Achieved / limit is the shortest span the emulator allows over the span taken; the target
  (>= 95%) is judged on it. Deliveries per second are printed too.
* the same for the baseline: PTB alone, the same limiter and the same 30 requests in flight,
  sending the same announcement with no storage (``_broadcast_bot.py bare``). Baraza / baseline
  is what the queue costs.
* 429s the emulator answered, by method, and whether each was made good: every subscriber has
  exactly one announcement (duplicates, missing), and the database agrees (sent = N).
* memory: the bot's VmRSS before Send and its peak (VmHWM, reset just before Send) while sending,
  at the two sizes; peak(3,000) / peak(1,000) should be ~1.0. Full runs add a tracemalloc run at
  each size (Python heap growth while sending; that run's rate is not used).
* another user's reply time during a broadcast (full runs): at Telegram's own rate (30/s, emulator
  and bot alike) a non-subscriber sends /help every 0.4 s, first with nothing else going on, then
  while a broadcast to 900 subscribers is being sent; the moderator then taps Stop sending.

What-ifs (``--whatif``; never the shipped code, see WHATIFS and _broadcast_bot.py): ``bucket0.8``
PTB's limiter a bucket of 0.8 s worth (same rate); ``share0.8`` the broadcast paced at 80% of the
rate by a limiter of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import TOKEN, code_state, machine, now, self_cpu, system_busy, table, wait_for_quiet

BENCH_DIR = Path(__file__).resolve().parent
MODERATOR = 1
QUIET_WAIT = 5.0  # --quiet-wait: before a run, wait up to this long for other processes to go quiet
FIRST_ID = 100_000
LOCALES = ("en", "fr", "ar")


# What-ifs: the same bots with one thing changed, to show what a fix would buy (never shipped code).
WHATIFS = {
    # PTB's limiter with a bucket of 0.8 s worth instead of 1 s (the same rate): smaller than the
    # server's by more than the requests in flight, so the two buckets cannot drift into a 429.
    "bucket0.8": lambda rate: ("--burst", str(0.8 * rate)),
}


def whatif_options(name: str, rate: float) -> tuple[str, ...]:
    return WHATIFS[name](rate) if name else ()


# -- the bot process --------------------------------------------------------------------------------


class Child:
    """``_broadcast_bot.py`` in its own process, driven over stdin/stdout."""

    def __init__(self, mode: str, api_root: str, rate: float, database: Path | None = None,
                 tracemalloc: bool = False, extra: tuple[str, ...] = (),
                 sender: str | None = "inline") -> None:
        """``sender``: Baraza's Settings.sender; "inline" here (see the module's docstring)."""
        self.args = [sys.executable, str(BENCH_DIR / "_broadcast_bot.py"), mode,
                     "--api-root", api_root, "--token", TOKEN, "--rate", str(rate),
                     "--moderator", str(MODERATOR)]
        if mode == "baraza" and sender is not None:
            self.args += ["--sender", sender]
        if database is not None:
            self.args += ["--database", str(database)]
        if tracemalloc:
            self.args.append("--tracemalloc")
        self.args += list(extra)  # a what-if's options (see WHATIFS)
        self.mode = mode
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (the child's stderr, read at the end)
            prefix=f"bench-broadcast-{mode}-", suffix=".log", delete=False)
        self.process: asyncio.subprocess.Process | None = None
        self.spy: Any = None

    async def start(self, spy: Path | None = None) -> dict[str, Any]:
        self.process = await asyncio.create_subprocess_exec(
            *self.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self.log)
        ready = await self._read(120)
        if spy is not None:  # sampled from now until it exits (see _broadcast_spy)
            import _broadcast_spy

            self.spy = _broadcast_spy.start(self.process.pid, spy)
            await asyncio.sleep(1.0)  # py-spy attaches
        return ready

    async def request(self, cmd: str, timeout: float = 300, **params: Any) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps({"cmd": cmd, **params}) + "\n").encode())
        await self.process.stdin.drain()
        return await self._read(timeout)

    async def stop(self) -> dict[str, Any]:
        if self.process is None or self.process.returncode is not None:
            return {}
        try:
            final = await self.request("quit", timeout=60)
            await asyncio.wait_for(self.process.wait(), 30)
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)  # kept only when something went wrong
            return final
        except (TimeoutError, RuntimeError, BrokenPipeError, ConnectionResetError):
            self.process.kill()
            await self.process.wait()
            return {}
        finally:
            if self.spy is not None:
                await asyncio.to_thread(self.spy.wait, 60)

    def log_text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    async def _read(self, timeout: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        except TimeoutError:
            raise RuntimeError(f"the {self.mode} bot did not answer in {timeout} s\n"
                               f"{self.log_text()[-3000:]}") from None
        if not line:
            await self.process.wait()
            raise RuntimeError(f"the {self.mode} bot exited ({self.process.returncode})\n"
                               f"{self.log_text()[-3000:]}")
        return json.loads(line)


# -- subscribers ------------------------------------------------------------------------------------


def people(count: int) -> dict[int, str]:
    """``count`` subscribers, taking turns at English, French and Arabic."""
    return {FIRST_ID + i: LOCALES[i % len(LOCALES)] for i in range(count)}


async def prepare(database: Path, count: int) -> float:
    """Before the bot starts: an open consultation in three languages, and ``count`` subscribers,
    written through the repositories as /start, a language and "I agree" leave them."""
    from _broadcast_bot import TEXTS

    from conversations.loader import load_questionnaire
    from storage import ConsultationText, Database

    questionnaire = load_questionnaire()
    started = now()
    db = await Database.open(database)
    try:
        await db.consultations.create(
            questionnaire.id, questionnaire.version,
            {k: ConsultationText(*v) for k, v in TEXTS.items()}, created_by=MODERATOR,
            status="open")
        subscribers = list(people(count).items())
        for begin in range(0, len(subscribers), 500):
            async with db.transaction():
                for user_id, locale in subscribers[begin:begin + 500]:
                    await db.respondents.ensure(user_id, user_id)
                    await db.respondents.set_locale(user_id, locale)
                    await db.respondents.record_consent(user_id)
                    await db.respondents.set_subscribed(user_id, True)
    finally:
        await db.close()
    return now() - started


# -- one run ----------------------------------------------------------------------------------------


@dataclass
class Run:
    kind: str  # "baraza", "bare", "baraza+tracemalloc"
    n: int
    rate: float
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (stamp, chat id)
    started: float = 0.0  # Send tapped (baraza) / send command written (bare)
    per_chat: Counter[int] = field(default_factory=Counter)
    too_many: Counter[str] = field(default_factory=Counter)  # 429s by method
    throttled_chats: set[int] = field(default_factory=set)  # chats whose sendMessage got a 429
    other_errors: list[str] = field(default_factory=list)
    db: dict[str, int] = field(default_factory=dict)  # deliveries per status, from the database
    waited_out: int = 0  # deliveries whose 429 reached Baraza's sender (or the bare loop)
    report: str = ""
    memory_before: dict[str, Any] = field(default_factory=dict)
    memory_after: dict[str, Any] = field(default_factory=dict)
    bot_cpu: float = 0.0
    background: float = 0.0  # other processes' CPU (cores) during the run
    profile: Path | None = None

    # -- derived --
    @property
    def stamps(self) -> list[float]:
        return sorted(t for t, _ in self.arrivals)

    @property
    def span(self) -> float:
        s = self.stamps
        return s[-1] - s[0] if len(s) > 1 else float("nan")

    @property
    def raw_rate(self) -> float:
        return len(self.arrivals) / self.span

    @property
    def achieved(self) -> float:
        """Deliveries a second beyond the first second's burst: (N - B) / (last - first), B = the
        limit (the emulator's bucket starts full, so B go at once and the rest at the limit at
        best). As a share of the limit this is the shortest span the emulator allows over the span
        taken: 100% is a sender that never lets a token go unused."""
        extra = len(self.arrivals) - max(self.rate, 1)
        return extra / self.span if extra > 0 else float("nan")

    def per_second(self) -> list[int]:
        """Deliveries in each second from the first one."""
        s = self.stamps
        counts = Counter(int(t - s[0]) for t in s)
        return [counts.get(i, 0) for i in range(max(counts) + 1)] if counts else []

    @property
    def first_delay(self) -> float:
        return (self.stamps[0] - self.started) if self.arrivals else float("nan")

    @property
    def duplicates(self) -> int:
        return sum(1 for c in self.per_chat.values() if c > 1)

    @property
    def missing(self) -> int:
        return sum(1 for c in self.per_chat.values() if c == 0)

    @property
    def throttled_unserved(self) -> int:
        return sum(1 for chat in self.throttled_chats if self.per_chat[chat] != 1)

    @property
    def exact(self) -> bool:
        return (self.duplicates == 0 and self.missing == 0 and self.throttled_unserved == 0
                and not self.other_errors)

    @property
    def peak_kb(self) -> int:
        return self.memory_after.get("vmhwm_kb", 0)

    @property
    def growth_kb(self) -> int:
        return self.peak_kb - self.memory_before.get("vmrss_kb", 0)

    @property
    def traced_retained_kb(self) -> float:
        return (self.memory_after.get("traced_kb", float("nan"))
                - self.memory_before.get("traced_kb", float("nan")))

    @property
    def traced_growth_kb(self) -> float:
        return (self.memory_after.get("traced_peak_kb", float("nan"))
                - self.memory_before.get("traced_kb", float("nan")))


def emulator_for(rate: float, subscribers: dict[int, str], run: Run, limit: Any = None) -> Any:
    """An emulator answering 429 beyond ``rate`` bulk messages a second (or as ``limit`` says)
    that stamps each subscriber's announcement into ``run.arrivals``."""
    from emulator import BotApiEmulator, RateLimit

    emulator = BotApiEmulator(token=TOKEN, rate_limit=limit or RateLimit(per_second=rate),
                              history=100)
    for user_id, locale in subscribers.items():
        user = emulator.user(user_id, language_code=locale)
        queue = user.subscribe()

        def record(event: Any, _chat: int = user_id) -> None:
            if event.kind == "message":
                run.arrivals.append((time.perf_counter(), _chat))

        queue.put_nowait = record  # type: ignore[method-assign]
    return emulator


def collect(run: Run, emulator: Any, subscribers: dict[int, str]) -> None:
    run.per_chat = Counter({chat: emulator.stats.messages_per_chat.get(chat, 0)
                            for chat in subscribers})
    for error in emulator.errors:
        if error.code == 429:
            run.too_many[error.method] += 1
            if error.method == "sendMessage":
                run.throttled_chats.add(int(error.params["chat_id"]))
        else:
            run.other_errors.append(str(error)[:300])


async def run_baraza(n: int, rate: float, template: Path, workdir: Path, *, tracemalloc: bool = False,
                     profile: bool = False, whatif: str = "", spy: Path | None = None) -> Run:
    kind = "baraza+tracemalloc" if tracemalloc else "baraza"
    run = Run(kind + (f"+{whatif}" if whatif else ""), n, rate)
    database = workdir / f"run-{n}-{time.monotonic_ns()}.db"
    shutil.copy(template, database)
    subscribers = people(n)
    emulator = emulator_for(rate, subscribers, run)
    await emulator.start()
    child = Child("baraza", emulator.api_root, rate, database, tracemalloc=tracemalloc,
                  extra=whatif_options(whatif, rate))
    try:
        await child.start(spy)
        moderator = emulator.user(MODERATOR, language_code="en")
        await moderator.send("/broadcast", timeout=30)
        from _broadcast_bot import TEXTS

        await moderator.click(TEXTS["en"][0], timeout=30)
        preview = moderator.last_message.text if moderator.last_message else ""
        if f"It will be sent to {n:,} subscribers" not in preview:
            raise RuntimeError(f"unexpected preview:\n{moderator.transcript()[-2000:]}")
        run.background = await wait_for_quiet(max_wait=QUIET_WAIT)
        run.memory_before = await child.request("reset_peak")
        if profile:
            await child.request("profile_start")
        busy0, self0 = system_busy(), self_cpu()
        run.started = now()
        await moderator.click("Send", settle=False)
        deadline = n / rate * 3 + 30
        await emulator.wait_until(lambda: len(run.arrivals) >= n, deadline,
                                  lambda: f"{len(run.arrivals)} of {n} delivered")
        report = await moderator.wait_for(lambda m: "Broadcast finished" in m.text, timeout=30)
        run.report = report.text
        wall = now() - run.started
        if profile:
            run.profile = workdir / f"baraza-{n}.prof"
            await child.request("profile_stop", path=str(run.profile))
        run.bot_cpu = (await child.request("stats"))["cpu"] - run.memory_before["cpu"]
        run.background = max(0.0, (system_busy() - busy0 - (self_cpu() - self0) - run.bot_cpu)
                             / wall)
        run.memory_after = await child.request("gc_stats")
        await asyncio.sleep(0.3)  # anything sent after the report would show as a duplicate
    finally:
        await child.stop()
        await emulator.stop()
    collect(run, emulator, subscribers)
    with sqlite3.connect(database) as connection:  # read-only look at the outcome
        run.db = dict(connection.execute(
            "SELECT status, count(*) FROM deliveries GROUP BY status").fetchall())
        (run.waited_out,) = connection.execute(
            "SELECT count(*) FROM deliveries WHERE last_error IS NOT NULL").fetchone()
    for suffix in ("", "-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    return run


@dataclass
class Interactive:
    """Another user's replies while nothing is sent, and while a broadcast is being sent."""

    rate: float
    share: float = 0  # what-if: the broadcast paced at this share of the rate (0: as shipped)
    idle_ms: list[float] = field(default_factory=list)
    busy_ms: list[float] = field(default_factory=list)
    delivered: int = 0  # announcements delivered while the busy replies were measured
    stopped: bool = False  # the moderator's Stop was reported


async def run_interactive(n: int, rate: float, template: Path, workdir: Path,
                          probes: int = 12, share: float = 0) -> Interactive:
    """At Telegram's own rate: how long another user waits for a reply while a broadcast runs.

    A user who is no subscriber sends /help every 0.4 s (time from the update being queued to the
    reply arriving); first with nothing else going on, then during a broadcast to ``n``
    subscribers, which the moderator then stops (Stop sending), so the run stays short.
    """
    from _broadcast_bot import TEXTS

    result = Interactive(rate, share)
    database = workdir / f"interactive-{time.monotonic_ns()}.db"
    shutil.copy(template, database)
    run = Run("interactive", n, rate)
    emulator = emulator_for(rate, people(n), run)
    await emulator.start()
    child = Child("baraza", emulator.api_root, rate, database,
                  extra=("--broadcast-share", str(share)) if share else ())
    try:
        await child.start()
        user = emulator.user(42, language_code="en")
        events = user.subscribe()

        async def probe(into: list[float]) -> None:
            for _ in range(probes):
                while not events.empty():
                    events.get_nowait()
                began = now()
                await user.send("/help", settle=False)
                while (await asyncio.wait_for(events.get(), 30)).kind != "message":
                    pass
                into.append((now() - began) * 1000)
                await asyncio.sleep(0.4)

        await wait_for_quiet(max_wait=QUIET_WAIT)
        await probe(result.idle_ms)
        moderator = emulator.user(MODERATOR, language_code="en")
        await moderator.send("/broadcast", timeout=30)
        await moderator.click(TEXTS["en"][0], timeout=30)
        await moderator.click("Send", settle=False)
        await emulator.wait_until(lambda: len(run.arrivals) >= rate, 30,
                                  lambda: f"{len(run.arrivals)} delivered")  # the burst is spent
        await probe(result.busy_ms)
        result.delivered = len(run.arrivals)
        await moderator.click("Stop sending", settle=False)
        await moderator.wait_for(lambda m: "Broadcast stopped" in m.text, timeout=30)
        result.stopped = True
    finally:
        await child.stop()
        await emulator.stop()
        for suffix in ("", "-wal", "-shm"):
            Path(str(database) + suffix).unlink(missing_ok=True)
    return result


async def run_bare(n: int, rate: float, workdir: Path | None = None, *, profile: bool = False,
                   whatif: str = "", spy: Path | None = None) -> Run:
    run = Run("bare PTB" + (f"+{whatif}" if whatif else ""), n, rate)
    subscribers = people(n)
    emulator = emulator_for(rate, subscribers, run)
    await emulator.start()
    child = Child("bare", emulator.api_root, rate, extra=whatif_options(whatif, rate))
    try:
        await child.start(spy)
        run.background = await wait_for_quiet(max_wait=QUIET_WAIT)
        run.memory_before = await child.request("reset_peak")
        if profile:
            await child.request("profile_start")
        busy0, self0 = system_busy(), self_cpu()
        run.started = now()
        result = await child.request("send", timeout=n / rate * 3 + 60, first_id=FIRST_ID,
                                     locales=list(subscribers.values()))
        wall = now() - run.started
        run.waited_out = result["waited_out"]
        if profile and workdir is not None:
            run.profile = workdir / f"bare-{n}.prof"
            await child.request("profile_stop", path=str(run.profile))
        run.memory_after = await child.request("stats")
        run.bot_cpu = run.memory_after["cpu"] - run.memory_before["cpu"]
        run.background = max(0.0, (system_busy() - busy0 - (self_cpu() - self0) - run.bot_cpu)
                             / wall)
    finally:
        await child.stop()
        await emulator.stop()
    collect(run, emulator, subscribers)
    run.db = {"sent": sum(1 for c in run.per_chat.values() if c)}
    return run


# -- output -----------------------------------------------------------------------------------------


def describe(runs: list[Run]) -> str:
    rows = []
    for r in runs:
        rows.append([
            r.kind, r.n, f"{r.span:.2f}", r.raw_rate, f"{r.raw_rate / r.rate:.1%}", r.achieved,
            f"{r.achieved / r.rate:.1%}", f"{r.first_delay * 1000:.0f}",
            r.too_many.get("sendMessage", 0),
            sum(r.too_many.values()) - r.too_many.get("sendMessage", 0),
            r.waited_out, r.duplicates, r.missing, "yes" if r.exact else "NO",
            r.bot_cpu / max(1, r.n) * 1000, r.memory_before.get("vmrss_kb", 0) / 1024,
            r.peak_kb / 1024, f"{r.background:.2f}",
        ])
    return table(["bot", "N", "span s", "N/span", "of limit", "achieved/s", "of limit",
                  "1st ms", "429 send", "429 other", "waited", "dup", "missing", "exact",
                  "cpu ms/msg", "RSS MB", "peak MB", "others"], rows)


def print_profile(path: Path, kind: str, limit: int = 25) -> None:
    print(f"\ncProfile of the {kind} bot process while sending ({path}):")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)


async def main(args: argparse.Namespace) -> int:
    global QUIET_WAIT
    QUIET_WAIT = args.quiet_wait
    big, small = (1000, 600) if args.quick else (args.recipients, args.recipients // 3)
    reps = 1 if args.quick else args.repetitions
    rate = args.rate
    print(machine())
    print(code_state())
    print(f"\nBroadcast rate fidelity: emulator limit {rate:g} messages/s (429 beyond), "
          f"bot Settings.messages_per_second={rate:g}; {big:,} and {small:,} subscribers; "
          f"{reps} repetition(s).\n")
    workdir = Path(tempfile.mkdtemp(prefix="bench-broadcast-"))
    try:
        templates = {}
        for n in (big, small):
            templates[n] = workdir / f"template-{n}.db"
            seconds = await prepare(templates[n], n)
            print(f"  {n:,} subscribers inserted through the repositories in {seconds:.1f} s")
        runs: list[Run] = []
        for rep in range(reps):
            for kind, n in (("bare", big), ("baraza", big), ("baraza", small)):
                began = now()
                run = (await run_bare(n, rate) if kind == "bare"
                       else await run_baraza(n, rate, templates[n], workdir))
                runs.append(run)
                print(f"  rep {rep + 1}: {run.kind:>9} N={n:,}: achieved {run.achieved:.1f}/s, "
                      f"429s {sum(run.too_many.values())}, exact={run.exact} "
                      f"({now() - began:.0f} s)", flush=True)
        traced: list[Run] = []
        if not args.quick and not args.no_tracemalloc:
            for n in (small, big):
                run = await run_baraza(n, rate, templates[n], workdir, tracemalloc=True)
                traced.append(run)
                print(f"  tracemalloc: N={n:,}: heap growth while sending "
                      f"{run.traced_growth_kb:.0f} KB, exact={run.exact}", flush=True)
        whatif: list[Run] = []
        for name in (w for w in args.whatif if w in WHATIFS):
            for rep in range(reps):
                whatif.append(await run_bare(big, rate, whatif=name))
                whatif.append(await run_baraza(big, rate, templates[big], workdir, whatif=name))
                print(f"  what-if {name}, rep {rep + 1}: " + ", ".join(
                    f"{r.kind} achieved {r.achieved / rate:.1%}, 429s {sum(r.too_many.values())}"
                    for r in whatif[-2:]), flush=True)
        interactive: list[Interactive] = []
        if not args.quick and not args.no_interactive:
            template = workdir / "template-interactive.db"
            await prepare(template, int(args.production_rate * 30))
            for share in (0.0, 0.8) if "share0.8" in args.whatif else (0.0,):
                i = await run_interactive(int(args.production_rate * 30), args.production_rate,
                                          template, workdir, share=share)
                interactive.append(i)
                print(f"  interactive at {args.production_rate:g}/s"
                      f"{f' (what-if: broadcast at {share:.0%})' if share else ''}: /help answered "
                      f"in {statistics.median(i.idle_ms):.0f} ms idle, "
                      f"{statistics.median(i.busy_ms):.0f} ms during a broadcast", flush=True)
        spied: list[tuple[Run, Path]] = []
        if args.py_spy:
            for kind in ("bare", "baraza"):
                path = workdir / f"py-spy-{kind}.txt"
                run = (await run_bare(big, rate, spy=path) if kind == "bare"
                       else await run_baraza(big, rate, templates[big], workdir, spy=path))
                spied.append((run, path))
            print("  sampled with py-spy: " + ", ".join(
                f"{r.kind} achieved {r.achieved / rate:.1%}" for r, _ in spied), flush=True)
        profiled: list[Run] = []
        if args.profile:
            profiled.append(await run_bare(big, rate, workdir, profile=True))
            profiled.append(await run_baraza(big, rate, templates[big], workdir, profile=True))
            print("  profiled runs: achieved " + ", ".join(f"{r.kind} {r.achieved:.1f}/s"
                                                        for r in profiled), flush=True)

        print("\nEvery run (N/span counts the first second's burst; 'achieved' is (N - limit) / "
              "span; 'waited': 429s that reached the sender after the limiter's own 3 retries; "
              "'others': cores other processes used during the run):\n")
        print(describe(runs + traced + whatif + profiled))

        def best(kind: str, n: int) -> Run:
            return max((r for r in runs if r.kind == kind and r.n == n), key=lambda r: r.achieved)

        def middle(kind: str, n: int) -> float:
            return statistics.median(r.achieved for r in runs if r.kind == kind and r.n == n)

        bare, baraza, baraza_small = best("bare PTB", big), best("baraza", big), best("baraza", small)
        all_baraza = [r for r in runs + traced if r.kind.startswith("baraza")]
        every_exact = all(r.exact for r in runs + traced)

        def mean_kb(attribute: str, n: int) -> float:
            return statistics.mean(getattr(r, attribute) for r in runs
                                   if r.kind == "baraza" and r.n == n)

        peak_big, peak_small = mean_kb("peak_kb", big), mean_kb("peak_kb", small)
        growth_big, growth_small = mean_kb("growth_kb", big), mean_kb("growth_kb", small)
        print("\nSummary (rates: the best repetition, as other processes only ever slow a run "
              "down, and the median; memory: the mean of the repetitions):\n")
        met = baraza.achieved >= 0.95 * rate
        rows = [
            [f"achieved rate, Baraza N={big:,}", f"{baraza.achieved:.1f}/s",
             f"{baraza.achieved / rate:.1%} of the limit (median {middle('baraza', big) / rate:.1%})",
             ">= 95%", "met" if met else "MISSED"],
            ["achieved rate, baseline (PTB alone)", f"{bare.achieved:.1f}/s",
             f"{bare.achieved / rate:.1%} of the limit (median {middle('bare PTB', big) / rate:.1%})",
             "", ""],
            ["Baraza / baseline", f"{baraza.achieved / bare.achieved:.3f}",
             f"median {middle('baraza', big) / middle('bare PTB', big):.3f}", "", ""],
            ["N/span (burst included), Baraza", f"{baraza.raw_rate:.1f}/s",
             (f"{baraza.raw_rate / rate:.1%} of the limit; a perfect sender: "
              f"{big / ((big - rate) / rate) / rate:.1%}"), "", ""],
            ["N/span (burst included), baseline", f"{bare.raw_rate:.1f}/s",
             f"{bare.raw_rate / rate:.1%} of the limit", "", ""],
            [f"achieved rate, Baraza N={small:,}", f"{baraza_small.achieved:.1f}/s",
             (f"{baraza_small.achieved / rate:.1%} of the limit "
              f"(median {middle('baraza', small) / rate:.1%})"), "", ""],
            ["429s answered (all Baraza runs)",
             str(sum(sum(r.too_many.values()) for r in all_baraza)),
             (f"sendMessage {sum(r.too_many.get('sendMessage', 0) for r in all_baraza)}; "
              f"reached the sender {sum(r.waited_out for r in all_baraza)}"), "", ""],
            ["exactly one each (every run)", "yes" if every_exact else "NO",
             (f"dup {sum(r.duplicates for r in runs + traced)}, "
              f"missing {sum(r.missing for r in runs + traced)}, 429'd and unserved "
              f"{sum(r.throttled_unserved for r in runs + traced)}"), "0 / 0 / 0",
             "met" if every_exact else "MISSED"],
            [f"peak RSS N={big:,} / N={small:,}", f"{peak_big / peak_small:.3f}",
             f"{peak_big / 1024:.1f} MB vs {peak_small / 1024:.1f} MB", "~1.0",
             "met" if peak_big / peak_small <= 1.05 else "MISSED"],
            ["RSS growth while sending", f"{growth_big / 1024:.2f} MB vs {growth_small / 1024:.2f} MB",
             f"ratio {growth_big / growth_small:.2f}", "", ""],
        ]
        if len(traced) == 2:
            t_small, t_big = traced
            rows.append(["heap peak growth (tracemalloc)",
                         (f"{t_big.traced_growth_kb / 1024:.2f} MB vs "
                          f"{t_small.traced_growth_kb / 1024:.2f} MB"),
                         f"ratio {t_big.traced_growth_kb / t_small.traced_growth_kb:.2f}", "", ""])
            rows.append(["heap retained after sending",
                         f"{t_big.traced_retained_kb:.0f} KB vs {t_small.traced_retained_kb:.0f} KB",
                         "after gc.collect()", "", ""])
        print(table(["figure", "value", "detail", "target", ""], rows))
        for r in (bare, baraza):
            print(f"Deliveries per second, {r.kind} N={r.n:,} (from the first): "
                  + " ".join(map(str, r.per_second())))
        print(f"\nCPU per message in the bot process: Baraza {baraza.bot_cpu / big * 1000:.2f} ms, "
              f"baseline {bare.bot_cpu / big * 1000:.2f} ms.")
        print("Database after each Baraza run: "
              + "; ".join(f"N={r.n:,}: {dict(sorted(r.db.items()))}" for r in all_baraza))
        if whatif:
            def median_of(kind: str, value: Any) -> float:
                return statistics.median(value(r) for r in runs + whatif
                                         if r.kind == kind and r.n == big)

            rows = []
            for name in (w for w in args.whatif if w in WHATIFS):
                for base in ("bare PTB", "baraza"):
                    variant = f"{base}+{name}"
                    rows.append([
                        variant, f"{median_of(variant, lambda r: r.achieved) / rate:.1%}",
                        f"{median_of(base, lambda r: r.achieved) / rate:.1%}",
                        median_of(variant, lambda r: sum(r.too_many.values())),
                        median_of(base, lambda r: sum(r.too_many.values())),
                        median_of(variant, lambda r: r.bot_cpu / r.n * 1000),
                        median_of(base, lambda r: r.bot_cpu / r.n * 1000)])
            print(f"\nWhat-ifs at N={big:,} (medians; 'as shipped' is the same bot without the "
                  "change, from the runs above):\n")
            print(table(["variant", "achieved", "as shipped", "429s", "as shipped",
                         "cpu ms/msg", "as shipped"], rows))
        if interactive:
            n_int = int(args.production_rate * 30)
            print(f"\nAnother user's replies at Telegram's rate ({args.production_rate:g}/s, emulator "
                  f"and bot alike): /help every 0.4 s, with nothing else going on, then while a "
                  f"broadcast to {n_int:,} subscribers was being sent (then stopped with Stop "
                  "sending):\n")
            rows = []
            for i in interactive:
                label = "as shipped" if not i.share else f"what-if: broadcast at {i.share:.0%}"
                rows += [[label, "idle", statistics.median(i.idle_ms), max(i.idle_ms), "", ""],
                         [label, "during the broadcast", statistics.median(i.busy_ms),
                          max(i.busy_ms), f"{i.delivered:,}", "yes" if i.stopped else "NO"]]
            print(table(["bot", "", "median ms", "max ms", "delivered by then", "stop reported"],
                        rows))
        if spied:
            import _broadcast_spy

            found = {r.kind: _broadcast_spy.summarise(path) for r, path in spied}
            names = sorted({c for _, counts in found.values() for c in counts},
                           key=lambda c: -sum(counts[c] / total for total, counts in found.values()))
            print(f"\nWhere the bot process's CPU goes while sending N={big:,} (py-spy, on-CPU "
                  "samples of every thread; ms per message = share x CPU ms per message):\n")
            rows = []
            for name in names:
                row: list[Any] = [name]
                for r, _ in spied:
                    total, counts = found[r.kind]
                    share = counts[name] / total if total else 0.0
                    row += [f"{share:.1%}", share * r.bot_cpu / r.n * 1000]
                rows.append(row)
            rows.append(["all (CPU ms per message)", "", spied[0][0].bot_cpu / big * 1000, "",
                         spied[1][0].bot_cpu / big * 1000])
            print(table(["", "bare PTB", "ms/msg", "Baraza", "ms/msg"], rows))
        for r in profiled:
            if r.profile:
                print_profile(r.profile, r.kind)
        if not every_exact:
            for r in runs + traced:
                if r.other_errors:
                    print(f"{r.kind} N={r.n}: {len(r.other_errors)} other errors, e.g. "
                          f"{r.other_errors[:3]}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 600 subscribers, once")
    parser.add_argument("--rate", type=float, default=300.0,
                        help="messages a second the emulator allows and the bot is set to")
    parser.add_argument("--recipients", type=int, default=3000, help="the large broadcast")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--no-tracemalloc", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="one more Baraza run under cProfile; prints where the time goes")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--py-spy", action="store_true",
                        help="one more run of each bot sampled with py-spy: where the CPU goes")
    parser.add_argument("--no-interactive", action="store_true",
                        help="skip the other user's reply latency during a broadcast")
    parser.add_argument("--production-rate", type=float, default=30.0,
                        help="the rate of that measurement (Telegram's: 30 messages a second)")
    parser.add_argument("--whatif", nargs="+", choices=[*sorted(WHATIFS), "share0.8"], default=[],
                        help="also run both bots changed so (see WHATIFS); share0.8: the "
                             "interactive measurement again with the broadcast paced at 80%%")
    parser.add_argument("--quiet-wait", type=float, default=QUIET_WAIT,
                        help="before each run, wait up to this long for other processes to go quiet")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(asyncio.run(main(parser.parse_args())))
