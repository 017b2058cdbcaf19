"""Several workers, one bot: answers and broadcasts with one and two webhook workers.

    python bench/workers.py                          # SQLite only
    python bench/workers.py --postgres URL           # and PostgreSQL (a server URL; a fresh
                                                     # database is made on it per run)
    scripts/throwaway-postgres python bench/workers.py   # the same, on a throwaway cluster

Answers: 50 simulated respondents walk the questionnaire as fast as the bot replies (closed loop,
as answer_throughput.py; a finished one is replaced by a new one), their updates POSTed by the
emulator to the workers in turn, as a reverse proxy spreads them. Measured over a window after a
warm-up: taps/s, p95 latency (callback update queued → the edit showing the next question applied
in the emulator) and the workers' CPU per tap (every worker process's user + system time, from
/proc; PostgreSQL's server processes apart, when the cluster runs on this machine).
Configurations: SQLite with one process, PostgreSQL with one worker and with two. The limiter's
rates are set far above the load (as in answer_throughput.py) so that it is not what is measured.

Broadcast: 2 workers at Telegram's 30 messages a second (their limiter and the shared budget both
at 30) against an emulator enforcing 30 a second, sending to AUDIENCE subscribers: the rate from
the first to the last delivery, and the steady rate from the tenth of them to the last (without
the start's burst, which Telegram's one second's bucket absorbs), against the limit (target: at
least 95% and at most 100%), duplicates (target 0) and 429s.

After each answers run every respondent's stored answers are read back: they must be a prefix
of the walk (all of it for those who finished), in the order given, each once.

Targets (the issue): CPU per tap on PostgreSQL <= 1.5x SQLite's; two workers apply every answer
exactly once under a load one worker cannot keep up with; broadcast with two workers >= 95% of the
limit, 0 duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (  # noqa: E402
    TOKEN,
    Load,
    load_questionnaire,
    machine,
    now,
    percentile,
    table,
    walk_forever,
    walk_plan,
)

BENCH_DIR = Path(__file__).resolve().parent
RESPONDENTS = 50
FAST = 100_000.0  # a limiter that never waits
TELEGRAMS_LIMIT = 30.0
AUDIENCE = 450  # 15 s at 30 a second


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cluster_cpu(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL cluster: its postmaster (with the children it reaped) and every
    live child (the workers' pooled connections among them)."""
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            parts = stat.read_text().rsplit(")", 1)[1].split()
            if int(parts[1]) == postmaster:
                total += (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def postmaster_of(url: str) -> int | None:
    """The process id of the cluster's postmaster (from postmaster.pid), if this machine's."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        directory = await connection.fetchval("SELECT current_setting('data_directory')")
    finally:
        await connection.close()
    try:
        return int((Path(directory) / "postmaster.pid").read_text().split()[0])
    except OSError:
        return None


class Worker:
    """One worker process serving the webhook on its own port."""

    def __init__(self, api_root: str, database: str, rate: float) -> None:
        self.port = free_port()
        self.args = [sys.executable, str(BENCH_DIR / "_webhook_worker.py"), "--api-root", api_root,
                     "--token", TOKEN, "--database", database, "--port", str(self.port),
                     "--rate", str(rate)]
        self.process: asyncio.subprocess.Process | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log", delete=False)

    @property
    def target(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cpu(self) -> float:
        assert self.process is not None
        return process_cpu(self.process.pid)

    async def start(self) -> None:
        import aiohttp

        self.process = await asyncio.create_subprocess_exec(*self.args, stderr=self.log)
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                if self.process.returncode is not None:
                    raise RuntimeError(f"worker exited; see {self.log.name}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.target}/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"worker never became healthy; see {self.log.name}")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 60)


@contextlib.asynccontextmanager
async def workers(emulator: object, database: str, count: int, rate: float
                  ) -> AsyncIterator[list[Worker]]:
    pool = [Worker(emulator.api_root, database, rate) for _ in range(count)]  # type: ignore[attr-defined]
    emulator.webhook_targets = [w.target for w in pool]  # type: ignore[attr-defined]
    try:
        for worker in pool:
            await worker.start()
        yield pool
    finally:
        for worker in pool:
            await worker.stop()


@contextlib.asynccontextmanager
async def fresh_database(kind: str, postgres: str | None) -> AsyncIterator[str]:
    """A new SQLite file, or a new database on the PostgreSQL server (dropped afterwards)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
            yield str(Path(tmp) / "baraza.db")
        return
    import asyncpg

    assert postgres is not None
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres)
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    try:
        yield urlunsplit(urlsplit(postgres)._replace(path=f"/{name}"))
    finally:
        admin = await asyncpg.connect(postgres)
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


@contextlib.asynccontextmanager
async def emulator_running(rate_limit: float | None = None) -> AsyncIterator[object]:
    from emulator import BotApiEmulator, RateLimit

    emulator = BotApiEmulator(token=TOKEN, history=2000, timeout=60,
                              rate_limit=RateLimit(rate_limit) if rate_limit else None)
    emulator.webhook_backoff = (0.05, 0.5)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@dataclass
class Answers:
    name: str
    taps_per_s: float
    p95_ms: float
    cpu_ms_per_tap: float
    taps: int
    failures: int
    server_ms_per_tap: float | None = None  # PostgreSQL's own processes
    people: int = 0  # respondents who began
    wrong: int = 0  # of them, whose stored answers are not the walk's, once each and in order


async def stored_walks(database: str, people: list[int]) -> int:
    """How many of ``people`` have stored anything but a prefix of the walk (a finished one: all
    of it): an answer lost, applied twice (the cursor would have skipped a question) or out of
    order (answers are read back in the order they were stored)."""
    from storage import Database

    plan = [(a.question_id, a.option_id) for a in walk_plan(load_questionnaire())]
    db = await Database.open(database if "://" in database else Path(database))
    try:
        (consultation,) = await db.consultations.list(("open",))
        wrong = 0
        for user_id in people:
            session = await db.sessions.get(user_id, consultation.id)
            stored = [] if session is None else [
                (a.question_id, a.option_id) for a in session.answers.values()]
            complete = session is not None and session.finished
            if stored != plan[:len(stored)] or complete != (len(stored) == len(plan)):
                wrong += 1
        return wrong
    finally:
        await db.close()


async def answers(name: str, kind: str, count: int, postgres: str | None, warmup: float,
                  duration: float) -> Answers:
    async with fresh_database(kind, postgres) as database, emulator_running() as emulator, \
            workers(emulator, database, count, FAST) as pool:
        load = Load()
        began = now()
        until = began + warmup + duration
        slots = [asyncio.create_task(walk_forever(emulator, load, until))
                 for _ in range(RESPONDENTS)]
        postmaster = await postmaster_of(database) if kind == "postgresql" else None
        await asyncio.sleep(warmup)
        server0 = cluster_cpu(postmaster) if postmaster else 0.0
        cpu0, t0 = sum(w.cpu for w in pool), now()
        await asyncio.sleep(duration)
        cpu1, t1 = sum(w.cpu for w in pool), now()
        server1 = cluster_cpu(postmaster) if postmaster else 0.0
        await asyncio.gather(*slots)
        wrong = await stored_walks(database, load.people)
    window = [tap for tap in load.taps if tap.kind == "tap" and t0 <= tap.done <= t1]
    taps = len(window)
    return Answers(name, taps / (t1 - t0), percentile([t.latency_ms for t in window], 95),
                   (cpu1 - cpu0) * 1000 / max(1, taps), taps, len(load.failures),
                   (server1 - server0) * 1000 / max(1, taps) if postmaster else None,
                   len(load.people), wrong)


@dataclass
class BroadcastRun:
    name: str
    rate: float  # first to last delivery
    steady: float  # from the tenth of them to the last
    duplicates: int
    missing: int
    too_many: int
    seconds: float


async def broadcast(name: str, kind: str, count: int, postgres: str | None) -> BroadcastRun:
    from storage import ConsultationText, Database

    async with fresh_database(kind, postgres) as database, \
            emulator_running(rate_limit=TELEGRAMS_LIMIT) as emulator:
        async with workers(emulator, database, count, TELEGRAMS_LIMIT):
            users = [emulator.user(10_000 + i, language_code="en")  # type: ignore[attr-defined]
                     for i in range(AUDIENCE)]
            db = await Database.open(database if "://" in database else Path(database))
            try:
                consultation = await db.consultations.create(
                    "metep", 1, {"en": ConsultationText("Budget", "Where to spend?")},
                    created_by=1, status="open")
                async with db.transaction():
                    for user in users:
                        await db.respondents.ensure(user.id, user.id)
                        await db.respondents.set_subscribed(user.id, True)
                draft = await db.broadcasts.create(consultation.id, 1, "en")
                await db.broadcasts.start(draft.id)  # the workers take it up at their next beat
            finally:
                await db.close()
            reached: dict[int, float] = {}  # deliveries so far -> when first seen
            deadline = now() + AUDIENCE / TELEGRAMS_LIMIT * 3 + 30
            while now() < deadline:
                delivered = sum(1 for user in users if user.messages)
                reached.setdefault(delivered, now())
                if delivered >= AUDIENCE:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(2)  # anything sent twice would arrive by now
            counts = [len(user.messages) for user in users]
            too_many = emulator.stats.too_many_requests  # type: ignore[attr-defined]
    # From the first delivery to the last, and from the tenth to the last: the latter leaves
    # out the first moments' burst, which Telegram's bucket (one second's worth) absorbs.
    first = min(t for n, t in reached.items() if n >= 1)
    tenth = min(t for n, t in reached.items() if n >= AUDIENCE // 10)
    last = reached.get(AUDIENCE, now())
    overall = (AUDIENCE - 1) / (last - first)
    steady = (AUDIENCE - AUDIENCE // 10) / (last - tenth)
    return BroadcastRun(name, overall, steady, sum(max(0, c - 1) for c in counts),
                        sum(1 for c in counts if c == 0), too_many, last - first)


async def main(args: argparse.Namespace) -> None:
    print("# workers")
    print(machine())
    print(f"uptime before: {uptime()}")
    configs: list[tuple[str, str, int]] = [("SQLite, 1 process", "sqlite", 1)]
    if args.postgres:
        configs += [("PostgreSQL, 1 worker", "postgresql", 1),
                    ("PostgreSQL, 2 workers", "postgresql", 2)]
    else:
        print("no --postgres (nor BARAZA_TEST_POSTGRES): SQLite only")
    if args.sqlite_two:
        configs.insert(1, ("SQLite, 2 processes", "sqlite", 2))
    results = [await answers(name, kind, count, args.postgres, args.warmup, args.duration)
               for name, kind, count in configs]
    print(f"\nAnswers: {RESPONDENTS} respondents in a closed loop, {args.duration:.0f} s measured "
          f"after {args.warmup:.0f} s warm-up")
    print(table(["configuration", "taps/s", "p95 ms", "bot CPU ms/tap", "PostgreSQL CPU ms/tap",
                 "taps", "failures", "respondents", "not exactly once"],
                [(r.name, f"{r.taps_per_s:.0f}", f"{r.p95_ms:.1f}", f"{r.cpu_ms_per_tap:.2f}",
                  "-" if r.server_ms_per_tap is None else f"{r.server_ms_per_tap:.2f}",
                  r.taps, r.failures, r.people, r.wrong) for r in results]))
    # 50 respondents who tap again as soon as they are answered keep every configuration's queue
    # full (their latency is the queue's length, not a tap's cost): the load is more than any of
    # them keeps up with, and the answers must still be applied once each, in order.
    for r in results:
        verdict = "met" if r.wrong == 0 and r.failures == 0 and r.people else "NOT met"
        print(f"{r.name}: {r.people - r.wrong} of {r.people} respondents' answers stored once "
              f"each and in order (target: all: {verdict})")
    base = results[0].cpu_ms_per_tap
    for r in results[1:]:
        if r.name.startswith("PostgreSQL"):
            verdict = "met" if r.cpu_ms_per_tap <= 1.5 * base else "NOT met"
            print(f"CPU per tap, {r.name} / SQLite: {r.cpu_ms_per_tap / base:.2f} "
                  f"(target <= 1.5: {verdict})")
            if r.server_ms_per_tap is not None:
                print(f"  with PostgreSQL's own CPU: "
                      f"{(r.cpu_ms_per_tap + r.server_ms_per_tap) / base:.2f}")
    kind = "postgresql" if args.postgres else "sqlite"
    run = await broadcast(f"{'PostgreSQL' if args.postgres else 'SQLite'}, 2 workers", kind, 2,
                          args.postgres)
    print(f"\nBroadcast: {AUDIENCE} subscribers, limit {TELEGRAMS_LIMIT:.0f}/s enforced by the "
          "emulator, each worker's limiter and the shared budget at the same rate")
    print(table(["configuration", "msgs/s", "of the limit", "steady msgs/s", "of the limit",
                 "duplicates", "missing", "429s", "s"],
                [(run.name, f"{run.rate:.2f}", f"{run.rate / TELEGRAMS_LIMIT:.1%}",
                  f"{run.steady:.2f}", f"{run.steady / TELEGRAMS_LIMIT:.1%}", run.duplicates,
                  run.missing, run.too_many, f"{run.seconds:.1f}")]))
    # At most the limit: no 429, and the steady rate within the 10 ms the deliveries are polled at.
    share = run.steady / TELEGRAMS_LIMIT
    verdict = ("met" if 0.95 <= share <= 1.01 and run.too_many == 0 and run.duplicates == 0
               and run.missing == 0 else "NOT met")
    print(f"broadcast with two workers, steady: {share:.1%} of the limit, {run.too_many} 429s, "
          f"{run.duplicates} duplicates (target 95-100%, no 429, 0 duplicates: {verdict})")
    print(f"uptime after: {uptime()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default=os.environ.get("BARAZA_TEST_POSTGRES"),
                        help="a PostgreSQL server URL (default: $BARAZA_TEST_POSTGRES)")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--sqlite-two", action="store_true", help="also SQLite with 2 processes")
    asyncio.run(main(parser.parse_args()))
