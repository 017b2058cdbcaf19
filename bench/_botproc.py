"""A bot under benchmark, in its own process: ``python bench/_botproc.py {baraza,bare,pickle} ...``.

It long-polls the emulator at ``--api-root`` and takes commands on stdin, one JSON object a line,
answering each with one JSON line on stdout (logging goes to stderr):

    {"cmd": "stats"}             CPU seconds, VmRSS and VmHWM (KB) of this process
    {"cmd": "gc"}                the same after gc.collect() and malloc_trim(0)
    {"cmd": "flush"}             Application.update_persistence() (+ persistence.flush() when
                                 on_flush), timed: what PTB runs every update_interval
    {"cmd": "profile_start"}     start cProfile; {"cmd": "profile_stop", "path": ...} dumps it
    {"cmd": "tracemalloc_top", "limit": N}   the top allocation sites growing since the last call
    {"cmd": "quit"}              stop the bot as run_polling would, then exit

All three bots are started the same way (the steps of ``bot.application.running``) with the same
polling settings. The bare and pickle bots get an AIORateLimiter of ``--rate`` (none with 0),
Baraza its own limiter with ``--rate`` as the bulk rate and ``--chat-rate`` per chat.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import logging
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _child import children_cpu, commands, cpu, memory, reply, start, stop


def sqlite_kb() -> float | None:
    """Memory SQLite holds in this process (page cache included), from sqlite3_memory_used()."""
    try:
        import sqlite3  # noqa: F401  (loads the same libsqlite3 as the bot's connection)

        library = ctypes.CDLL("libsqlite3.so.0")
        library.sqlite3_memory_used.restype = ctypes.c_int64
        return library.sqlite3_memory_used() / 1024
    except (OSError, AttributeError):
        return None


def ptb_marked(application: Any) -> int | None:
    """Ids in PTB's "to be updated in persistence" sets (never emptied without a persistence)."""
    users = getattr(application, "_user_ids_to_be_updated_in_persistence", None)
    chats = getattr(application, "_chat_ids_to_be_updated_in_persistence", None)
    if users is None or chats is None:
        return None
    return len(users) + len(chats)


def trim() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def build(args: argparse.Namespace) -> Any:
    if args.whatif:
        from _whatif import VARIANTS

        VARIANTS[args.whatif]()
    if args.kind == "baraza":
        from bot.application import build_application
        from bot.config import Settings
        from conversations.loader import load_questionnaire

        from storage.postgresql import is_postgres_url

        database = args.database if is_postgres_url(args.database) else Path(args.database)
        settings = Settings(token=args.token, api_url=args.api_root, database=database,
                            messages_per_second=args.rate)
        if args.chat_rate is not None:
            settings = replace(settings, chat_messages_per_second=args.chat_rate)
        return build_application(settings, load_questionnaire(settings.questionnaire))
    if args.kind == "bare":
        from bare_bot import build_bare_application

        return build_bare_application(args.api_root, args.token, Path(args.screens), rate=args.rate)
    if args.kind == "pickle":
        from pickle_bot import build_pickle_application

        return build_pickle_application(args.api_root, args.token, Path(args.pickle),
                                        rate=args.rate, on_flush=args.on_flush)
    raise SystemExit(f"unknown bot {args.kind!r}")


async def main(args: argparse.Namespace) -> None:
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(12)
    began = time.perf_counter()
    application = build(args)
    await start(application)
    snapshot = None
    async for command in commands(began):
        name = command["cmd"]
        if name == "stats":
            reply({"cpu": cpu(), "children_cpu": children_cpu(), **memory(),
                   "sqlite_kb": sqlite_kb(), "ptb_marked_ids": ptb_marked(application),
                   "periodic_persistence_runs": getattr(application, "periodic_runs", 0)})
        elif name == "gc":
            gc.collect()
            trim()
            reply({"cpu": cpu(), **memory(), "sqlite_kb": sqlite_kb(), "ptb_marked_ids": ptb_marked(application),
                   "gc_objects": len(gc.get_objects())})
        elif name == "flush" and application.persistence is not None:
            c0, t0 = cpu(), time.perf_counter()
            await application.persist_now()  # what PTB runs every update_interval
            if application.persistence.on_flush:
                await application.persistence.flush()  # with on_flush, the only write (at stop)
            reply({"seconds": time.perf_counter() - t0, "cpu": cpu() - c0,
                   "periodic_runs": application.periodic_runs,
                   "periodic_seconds": application.periodic_seconds})
        elif name == "tracemalloc_top":
            import tracemalloc

            gc.collect()
            current = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)])
            top = []
            if snapshot is not None:
                for stat in current.compare_to(snapshot, "traceback")[: command.get("limit", 10)]:
                    top.append({"kb": stat.size_diff / 1024, "count": stat.count_diff,
                                "where": [f"{f.filename}:{f.lineno}" for f in stat.traceback[-6:]]})
            snapshot = current
            reply({"top": top})
        else:
            reply({"error": f"unknown command {name!r}"})
    c0 = cpu()
    await stop(application)
    reply({"stopped": True, "stop_cpu": cpu() - c0, **memory()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["baraza", "bare", "pickle"])
    parser.add_argument("--api-root", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rate", type=float, required=True,
                        help="Baraza: the bulk rate; the others: AIORateLimiter's (0: none)")
    parser.add_argument("--chat-rate", type=float, default=None,
                        help="Baraza: messages a second per chat (default: as shipped)")
    parser.add_argument("--database")
    parser.add_argument("--pickle")
    parser.add_argument("--screens", help="the bare bot's recorded screens (JSON)")
    parser.add_argument("--on-flush", action="store_true")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--whatif", choices=["inline-sqlite", "previous-limiter"],
                        help="see _whatif.py")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*per_message.*")
    asyncio.run(main(parser.parse_args()))
