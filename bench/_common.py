"""Shared pieces of the benchmarks: the bot process, simulated respondents, populating, tables.

answer_throughput, conversation_handler_baseline and memory_per_respondent run the local Bot API
emulator (and the simulated respondents) in the benchmark's own process and the bot under test in
a child process (``_botproc.py``), so that the bot has a core of its own on a two-core machine,
its CPU time and RSS are its own, and every bot compared is run the same way. The child is driven
over stdin/stdout with one JSON object a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
TOKEN = "424242:BENCH-TOKEN"
# Rates high enough never to wait, so that a limiter's bookkeeping stays in the path but never
# throttles: the bare and pickle bots get PTB's AIORateLimiter with this overall rate, Baraza its
# TrafficLimiter with this bulk and per-chat rate (a respondent tapping as fast as the bot answers
# is a script, which Baraza as shipped holds to about one message a second in its chat).
# bench/traffic.py runs Baraza as shipped instead.
RATE = 100_000.0
QUESTIONNAIRE_KEY = "metep"  # the ConversationHandler's name in the pickle baseline


# -- measuring --------------------------------------------------------------------------------------


def now() -> float:
    return time.perf_counter()


def self_cpu() -> float:
    """CPU seconds (user + system) of this process: the emulator and the simulated respondents."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def system_busy() -> float:
    """CPU seconds all processes on the machine have used (user, system, irq, steal), from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


async def wait_for_quiet(max_wait: float = 10.0, threshold: float = 0.25,
                         budget: list[float] | None = None) -> float:
    """Wait (at most ``max_wait`` s) until the machine's other processes use under ``threshold``
    of a core over half a second; returns the last load seen. Others share this machine: their
    test runs would otherwise land in the middle of a measurement. ``budget``, a one-item list of
    seconds, caps the waiting of a whole run and is decreased by the time spent here."""
    limit = max_wait if budget is None else min(max_wait, budget[0])
    deadline = now() + limit
    started = now()
    try:
        while True:
            busy0, cpu0, t0 = system_busy(), self_cpu(), now()
            await asyncio.sleep(0.5)
            load = max(0.0, (system_busy() - busy0 - (self_cpu() - cpu0)) / (now() - t0))
            if load < threshold or now() >= deadline:
                return load
    finally:
        if budget is not None:
            budget[0] = max(0.0, budget[0] - (now() - started))


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), nearest rank; NaN when there are no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    numeric = [all(_is_number(r[i]) for r in cells) if cells else False for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w)
                         for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _is_number(text: str) -> bool:
    return text == "-" or text.replace(",", "").replace(".", "", 1).replace("x", "").lstrip("-").isdigit()


def machine() -> str:
    """One paragraph about where the figures come from."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import aiohttp
    import aiosqlite
    import telegram

    import bot

    code = Path(list(bot.__path__)[0]).resolve().parent
    if code == BENCH_DIR.parent:
        revision = "unknown revision"
        with contextlib.suppress(Exception):
            git = ["git", "-C", str(code)]
            sha = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True, check=True).stdout.strip()
            dirty = subprocess.run([*git, "status", "--porcelain", "--", "bot", "storage",
                                    "conversations", "emulator"], capture_output=True, text=True,
                                   check=True).stdout.strip()
            revision = f"commit {sha}" + (" + uncommitted changes" if dirty else "")
        code_text = f"{code} ({revision})"
    else:
        code_text = f"{code} (imported from PYTHONPATH, not this checkout)"
    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')} | nproc {os.cpu_count()} | {cpu} | "
            f"Python {platform.python_version()} | python-telegram-bot {telegram.__version__} | "
            f"aiohttp {aiohttp.__version__} | aiosqlite {aiosqlite.__version__} | "
            f"SQLite {__import__('sqlite3').sqlite_version} | code {code_text}")


# -- the bot under test, in a child process ---------------------------------------------------------


class BotProcess:
    """A bot (``baraza``, ``bare`` or ``pickle``) polling the emulator from its own process."""

    def __init__(self, kind: str, api_root: str, *, database: Path | str | None = None,
                 pickle_path: Path | None = None, on_flush: bool = False, screens: Path | None = None,
                 rate: float = RATE, chat_rate: float | None = RATE, tracemalloc: bool = False,
                 whatif: str | None = None) -> None:
        self.kind = kind
        self.args = [sys.executable, str(BENCH_DIR / "_botproc.py"), kind,
                     "--api-root", api_root, "--token", TOKEN, "--rate", str(rate)]
        if chat_rate is not None:  # None: Baraza's own per-chat pace, as shipped
            self.args += ["--chat-rate", str(chat_rate)]
        if database is not None:
            self.args += ["--database", str(database)]
        if pickle_path is not None:
            self.args += ["--pickle", str(pickle_path)]
        if on_flush:
            self.args.append("--on-flush")
        if screens is not None:
            self.args += ["--screens", str(screens)]
        if tracemalloc:
            self.args.append("--tracemalloc")
        if whatif:
            self.args += ["--whatif", whatif]
        self.process: asyncio.subprocess.Process | None = None
        self.ready: dict[str, Any] = {}
        self._stderr = tempfile.NamedTemporaryFile(prefix=f"bench-{kind}-", suffix=".log", delete=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 120) -> dict[str, Any]:
        self.process = await asyncio.create_subprocess_exec(
            *self.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr)
        self.ready = await self._read(timeout)
        return self.ready

    async def request(self, cmd: str, timeout: float = 300, **params: Any) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps({"cmd": cmd, **params}) + "\n").encode())
        await self.process.stdin.drain()
        return await self._read(timeout)

    async def stats(self, *, collect: bool = False) -> dict[str, Any]:
        """CPU seconds, VmRSS and VmHWM (KB) of the bot process; ``collect``: gc and malloc_trim first."""
        return await self.request("gc" if collect else "stats")

    async def stop(self, timeout: float = 60) -> dict[str, Any]:
        if self.process is None or self.process.returncode is not None:
            return {}
        try:
            final = await self.request("quit", timeout=timeout)
            await asyncio.wait_for(self.process.wait(), timeout)
            return final
        except (TimeoutError, BrokenPipeError, ConnectionResetError, RuntimeError):
            self.process.kill()
            await self.process.wait()
            return {}

    def log_tail(self, lines: int = 30) -> str:
        self._stderr.flush()
        text = Path(self._stderr.name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    async def _read(self, timeout: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        except TimeoutError:
            raise RuntimeError(f"the {self.kind} bot did not answer in {timeout} s\n{self.log_tail()}") from None
        if not line:
            await self.process.wait()
            raise RuntimeError(f"the {self.kind} bot exited ({self.process.returncode})\n{self.log_tail()}")
        return json.loads(line)

    async def __aenter__(self) -> BotProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@contextlib.asynccontextmanager
async def emulator_running(rate_limit: Any = None):  # noqa: ANN201
    """A fresh emulator for one bot run (a new bot never sees an old bot's updates);
    ``rate_limit``: an ``emulator.RateLimit`` to enforce, as Telegram does."""
    from emulator import BotApiEmulator

    emulator = BotApiEmulator(token=TOKEN, history=1000, rate_limit=rate_limit)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


# -- simulated respondents --------------------------------------------------------------------------


def choose(message: Any) -> str | None:
    """The button a benchmark respondent taps: English, "I agree", Yes, Agree, Skip; None at the end.

    This path shows every follow-up, so a walk is the longest one: 37 questions.
    """
    if message is None or not message.buttons:
        return None
    data = [b.callback_data for row in message.buttons for b in row if b.callback_data]
    for wanted in (lambda d: d.endswith("|yes"), lambda d: d.endswith("|agree"),
                   lambda d: d == "l|en", lambda d: d == "c|1", lambda d: d.startswith("s|")):
        found = next((d for d in data if wanted(d)), None)
        if found is not None:
            return found
    return None


class Respondent:
    """One simulated person; waits for the bot's answers by subscribing to their chat.

    Each chat event is stamped when the emulator publishes it (inside the Bot API request that
    caused it), so a latency is "update queued" to "edit applied in the emulator", without the
    delay of the respondent's task waking up, and without the emulator's settle polling.
    """

    def __init__(self, emulator: Any, user_id: int, language_code: str = "en",
                 timeout: float = 30.0) -> None:
        self.user = emulator.user(user_id, first_name="Bench", language_code=language_code)
        self.timeout = timeout
        self.screen: Any = None  # the message the respondent is looking at
        self.notices = 0
        queue = self.user.subscribe()
        publish = queue.put_nowait

        def stamped(event: Any, _publish: Callable[[Any], None] = publish) -> None:
            _publish((time.perf_counter(), event))

        queue.put_nowait = stamped  # type: ignore[method-assign]
        self._queue = queue

    def close(self) -> None:
        self.user.unsubscribe(self._queue)

    async def send(self, text: str) -> tuple[float, float]:
        """Send a message; returns (queued, answered) times once the bot sent or edited a message."""
        queued = now()
        await self.user.send(text, settle=False)
        return queued, await self._next_screen(lambda event: event.kind == "message")

    async def tap(self, data: str | None = None) -> tuple[float, float]:
        """Tap a button of the current screen (``choose`` by default); returns (queued, edited)."""
        data = data or choose(self.screen)
        if data is None:
            raise AssertionError(f"nothing to tap on {self.screen!r}")
        tapped = self.screen.message_id
        queued = now()
        await self.user.click_data(data, tapped, settle=False)
        # The tapped message edited, or a new message; not another message losing its buttons.
        return queued, await self._next_screen(
            lambda event: event.kind == "message" or (event.kind == "edited" and event.message_id == tapped))

    @property
    def finished(self) -> bool:
        return choose(self.screen) is None

    async def _next_screen(self, accept: Callable[[Any], bool]) -> float:
        deadline = now() + self.timeout
        while True:
            remaining = deadline - now()
            if remaining <= 0:
                raise TimeoutError(f"user {self.user.id}: no answer in {self.timeout} s\n"
                                   f"{self.user.transcript()[-2000:]}")
            stamp, event = await asyncio.wait_for(self._queue.get(), remaining)
            if event.kind == "notice":
                self.notices += 1
            elif accept(event):
                self.screen = event.message
                return stamp


@dataclass
class Tap:
    queued: float
    done: float
    kind: str  # "tap" (callback) or "message"

    @property
    def latency_ms(self) -> float:
        return (self.done - self.queued) * 1000


@dataclass
class Load:
    """What a load run recorded."""

    taps: list[Tap] = field(default_factory=list)
    walks: int = 0
    behind: int = 0  # paced taps that could not start on time
    people: list[int] = field(default_factory=list)  # every respondent's user id, in start order
    failures: list[str] = field(default_factory=list)


_user_ids = itertools.count(10_000_000)


async def walk_forever(emulator: Any, load: Load, until: float,
                       pace: Callable[[], Any] | None = None) -> None:
    """One respondent slot: new respondents one after another, each /start → ... → scores."""
    while now() < until:
        person = Respondent(emulator, next(_user_ids))
        load.people.append(person.user.id)
        try:
            if pace is not None:
                await pace()
            queued, done = await person.send("/start")
            load.taps.append(Tap(queued, done, "message"))
            while not person.finished and now() < until:
                if pace is not None:
                    await pace()
                    if now() >= until:
                        break
                queued, done = await person.tap()
                load.taps.append(Tap(queued, done, "tap"))
            if person.finished:
                load.walks += 1
        except (TimeoutError, AssertionError) as error:
            load.failures.append(str(error)[:500])
            return
        finally:
            person.close()


async def record_walk(path: Path) -> int:
    """Walk one respondent through Baraza and keep every screen it showed, for ``bare_bot.py``.

    Saved as JSON: the /start message and, by the callback data tapped, the screen that tap led to
    (HTML text and inline keyboard exactly as the emulator received them). Returns the taps.
    """
    with tempfile.TemporaryDirectory(prefix="bench-record-") as tmp:
        async with emulator_running() as emulator:
            async with BotProcess("baraza", emulator.api_root, database=Path(tmp) / "baraza.db"):
                person = Respondent(emulator, 1)
                await person.send("/start")
                start = _screen(person.screen)
                after = {}
                while not person.finished:
                    data = choose(person.screen)
                    await person.tap(data)
                    after[data] = _screen(person.screen)
                person.close()
    path.write_text(json.dumps({"start": start, "after": after}, ensure_ascii=False, indent=1))
    return len(after)


def _screen(message: Any) -> dict[str, Any]:
    return {"text": message.html, "markup": json.loads(message.markup_json) if message.markup_json else None}


# -- the walk, and respondents part-way through it --------------------------------------------------


def walk_plan(questionnaire: Any) -> list[Any]:
    """The answers ``choose`` gives, in order (conversations.model.Answer), via the real engine."""
    from conversations.flow import AskQuestion, Flow

    flow = Flow(questionnaire)
    step = flow.resume(flow.new_progress())
    plan = []
    while isinstance(step.events[0], AskQuestion):
        question = step.events[0].question
        if question.scale is None:
            step = flow.skip(step.progress, question.id)
        else:
            wanted = "yes" if question.scale.option("yes") else "agree"
            step = flow.choose(step.progress, question.id, wanted)
        plan.append(step.saved)
    return plan


def progress_after(plan: Sequence[Any], answered: int) -> tuple[list[Any], str | None]:
    """The answers and the cursor (next question id, None when done) after ``answered`` answers."""
    answers = list(plan[:answered])
    cursor = plan[answered].question_id if answered < len(plan) else None
    return answers, cursor


def answered_counts(count: int, plan_length: int, seed: int = 7) -> list[int]:
    """How far each of ``count`` known respondents got: spread evenly, some not begun, none done."""
    import random

    rng = random.Random(seed)
    return [rng.randrange(0, plan_length) for _ in range(count)]


async def populate_baraza(database: Path, user_ids: Sequence[int], answered: Sequence[int],
                          questionnaire: Any, *, chunk: int = 250) -> float:
    """Insert respondents part-way through the questionnaire through the storage repositories.

    Each gets a respondent row (English, consented), a session and ``answered`` answers, with the
    cursor on the next question, exactly as the bot would have left them. Works with the storage
    API of HEAD (sessions per questionnaire) and with consultations (sessions per consultation:
    the open consultation of the questionnaire, which the running bot creates). Returns seconds.
    """
    import inspect

    from storage import Database

    plan = walk_plan(questionnaire)
    started = now()
    db = await Database.open(database)
    try:
        by_consultation = "consultation_id" in inspect.signature(db.sessions.start).parameters
        consultation_id = None
        if by_consultation:
            consultation_id = await _open_consultation(db, questionnaire)
        for begin in range(0, len(user_ids), chunk):
            async with db.transaction():
                for user_id, count in zip(user_ids[begin:begin + chunk], answered[begin:begin + chunk],
                                          strict=True):
                    answers, cursor = progress_after(plan, count)
                    await db.respondents.ensure(user_id, user_id)
                    await db.respondents.set_locale(user_id, "en")
                    await db.respondents.record_consent(user_id)
                    if by_consultation:  # as Turns.consent and Turns.begin leave a citizen
                        if hasattr(db.respondents, "set_subscribed"):
                            await db.respondents.set_subscribed(user_id, True)
                        session = await db.sessions.start(user_id, consultation_id, "citizen",
                                                          plan[0].question_id)
                        await db.respondents.set_consultation(user_id, consultation_id)
                    else:
                        session = await db.sessions.start(user_id, questionnaire.id, questionnaire.version,
                                                          plan[0].question_id)
                    for answer in answers:
                        await db.sessions.save_answer(session.id, answer, questionnaire.version)
                    if cursor != plan[0].question_id:
                        await db.sessions.move(session.id, cursor)
    finally:
        await db.close()
    return now() - started


async def _open_consultation(db: Any, questionnaire: Any) -> int:
    for consultation in await db.consultations.list(("open",)):
        if consultation.questionnaire_id == questionnaire.id:
            return consultation.id
    raise RuntimeError("no open consultation of the questionnaire: start the bot before populating")


def populate_pickle(path: Path, user_ids: Sequence[int], answered: Sequence[int],
                    questionnaire: Any) -> float:
    """Write the pickle the baseline bot would have written for the same respondents.

    The layout is PicklePersistence's single file: user_data (language and answers by question
    id), an empty chat_data per private chat (PTB stores one for every chat it saw),
    and the ConversationHandler's state per (chat_id, user_id) key: the current question's index.
    """
    from pickle_bot import answers_to_user_data

    plan = walk_plan(questionnaire)
    index = {q.id: i for i, q in enumerate(questionnaire.questions)}
    started = now()
    user_data, chat_data, states = {}, {}, {}
    for user_id, count in zip(user_ids, answered, strict=True):
        answers, cursor = progress_after(plan, count)
        user_data[user_id] = {"locale": "en", "answers": answers_to_user_data(answers)}
        chat_data[user_id] = {}
        states[(user_id, user_id)] = index[cursor] if cursor is not None else "done"
    data = {"conversations": {QUESTIONNAIRE_KEY: states}, "user_data": user_data,
            "chat_data": chat_data, "bot_data": {}, "callback_data": None}
    with path.open("wb") as handle:
        pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return now() - started


def load_questionnaire() -> Any:
    from conversations.loader import load_questionnaire as load

    return load()


def code_state() -> str:
    """HEAD and any uncommitted change to the code measured (others may be editing it)."""
    import hashlib
    import subprocess

    root = Path(__file__).resolve().parent.parent
    paths = ["bot", "storage", "conversations", "emulator", "pyproject.toml"]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        diff = subprocess.run(["git", "-C", str(root), "diff", "HEAD", "--", *paths],
                              capture_output=True, check=True).stdout
        changed = subprocess.run(["git", "-C", str(root), "status", "--short", "--", *paths],
                                 capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "code: unknown (no git)"
    changed = [line for line in changed if line.strip()]
    if not changed:
        return f"code: HEAD {head}, no uncommitted change in {', '.join(paths)}"
    return (f"code: HEAD {head} plus uncommitted changes to {len(changed)} files of "
            f"{', '.join(paths)} (diff sha256 {hashlib.sha256(diff).hexdigest()[:12]})")
