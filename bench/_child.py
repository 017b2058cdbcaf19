"""What every benchmarked bot process shares: its figures, its start and stop, and cProfile.

A bot under benchmark runs in a child process and takes JSON commands on stdin, answering each
with one JSON line on stdout (``reply``); ``_botproc.py`` and ``_broadcast_bot.py`` are two.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any


def memory() -> dict[str, Any]:
    """VmRSS and VmHWM (KB), and tracemalloc's current and peak (KB) while it traces."""
    found: dict[str, Any] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key.lower() + "_kb"] = int(value.split()[0])
    if tracemalloc.is_tracing():
        current, peak = tracemalloc.get_traced_memory()
        found["traced_kb"], found["traced_peak_kb"] = current / 1024, peak / 1024
    return found


def cpu() -> float:
    """CPU seconds this process used, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    """CPU seconds the living children of this process used (a bot's sender process), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:  # it ended meanwhile
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / tick


def reply(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def start(application: Any, *, polling: bool = True) -> None:
    """bot.application.running's steps, for any Application."""
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    await application.start()
    if polling:
        await application.updater.start_polling(
            poll_interval=0, timeout=1, allowed_updates=["message", "callback_query"])


async def stop(application: Any) -> None:
    """Stop as run_polling would."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
        if application.post_stop:
            await application.post_stop(application)
    await application.shutdown()
    if application.post_shutdown:
        await application.post_shutdown(application)


class Profiling:
    """The ``profile_start`` and ``profile_stop`` (``"path"``: where to dump) commands."""

    def __init__(self) -> None:
        self._profiler: cProfile.Profile | None = None

    def handle(self, command: dict[str, Any]) -> bool:
        """Carry out and answer a profiling command; False when ``command`` is another one."""
        if command["cmd"] == "profile_start":
            self._profiler = cProfile.Profile()
            self._profiler.enable()
        elif command["cmd"] == "profile_stop":
            assert self._profiler is not None, "profile_stop without profile_start"
            self._profiler.disable()
            self._profiler.dump_stats(command["path"])
            self._profiler = None
        else:
            return False
        reply({"ok": True})
        return True


async def commands(began: float) -> AsyncIterator[dict[str, Any]]:
    """Say "ready", then yield each command from stdin until ``quit`` or its end.

    The profiling commands are carried out here; every other one is the caller's to answer.
    """
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    reply({"ready": True, "startup_s": time.perf_counter() - began, "cpu": cpu(), **memory()})
    profiling = Profiling()
    while line := await reader.readline():
        command = json.loads(line)
        if command["cmd"] == "quit":
            return
        if not profiling.handle(command):
            yield command
