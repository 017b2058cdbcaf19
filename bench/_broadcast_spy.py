"""Where a bot process's CPU goes while it sends, by sampling it with py-spy (``--py-spy``).

py-spy samples the child from outside (no slowdown, unlike cProfile, and it sees every thread,
aiosqlite's worker included); its raw output (one ``frame;frame;... count`` line a stack) is
summed into a few categories, by the first rule that matches a stack.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_HTTP = ("httpcore", "httpx", "anyio", "h11")


def executable() -> str | None:
    found = shutil.which("py-spy")
    if found:
        return found
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else None


def start(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """Sample ``pid`` (on-CPU stacks, every thread, 200 a second) until it exits."""
    spy = executable()
    if spy is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--threads", "--rate", "200", "--nonblocking",
         "--format", "raw", "--output", str(out), "--duration", "600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def category(stack: str) -> str:
    thread = stack.split(";", 1)[0]
    if "MainThread" not in thread:
        return "SQLite, in aiosqlite's worker thread" if "sqlite" in stack else "other threads"
    if "_find_and_load" in stack and "httpcore" in stack:
        return "HTTP client: failed `import sniffio` (httpcore, per lock)"
    if "_assign_requests_to_connections" in stack:
        return "HTTP client: httpcore's pool bookkeeping"
    if any(k in stack for k in _HTTP):
        return "HTTP client: the rest (httpx, httpcore, h11, anyio)"
    if "de_json" in stack or "_telegramobject" in stack:
        return "PTB: parsing the answer (de_json)"
    if "telegram/" in stack:
        return "PTB: building the request, the limiter"
    if "aiosqlite" in stack or "storage/" in stack:
        return "Baraza's storage calls, event loop side (aiosqlite queue)"
    if "bot/" in stack or "broadcasting" in stack:
        return "Baraza's own code (sender, progress)"
    if any(k in stack for k in ("selector", "select", "_run_once", "asyncio")):
        return "event loop, sockets"
    return "other"


def summarise(path: Path) -> tuple[int, Counter[str]]:
    counts: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        counts[category(stack)] += int(count)
    return total, counts
