"""Broadcasts sent by a process of their own, beside the process that answers people.

Above Telegram's free bulk rate (Settings.broadcast_sender), the sends of a broadcast would keep
the answering process's event loop busy most of the time (about 1.9 ms of CPU each: HTTP, and
the two commits that make a delivery exactly-once), and every reply would wait for its turn
(bench/traffic.py, section 2). Here the operating system gives them a CPU of their own.

The answering process (the parent) starts the sender once its database is migrated, checks it at
every heartbeat and starts another if it died or stopped beating (stalled: it is killed first, so
that nothing it had on the wire goes out twice later), and at shutdown closes its lifeline: the
sender lets its sends in flight finish and stops. The sender is a worker of its own (its own id and
heartbeat, bot/workers.py) that runs the Broadcaster and nothing else: a broadcast a moderator
sends is taken within PICK_UP_EVERY, and what a dead sender left is taken over as from any dead
worker (storage/delivery_claims.py). It reads its settings from its standard input, which stays
open as the lifeline: when it closes (the parent stopped, or died of anything, SIGKILL
included), the sender stops too.

    python -m bot.sender    # started by SenderProcess, never by hand
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import struct
import sys
from datetime import timedelta
from typing import BinaryIO

from telegram.ext import Application, CallbackContext

from bot import logs
from bot.broadcasting import Broadcaster
from bot.config import Settings
from bot.i18n import Catalogs
from bot.runtime import builder, started
from bot.workers import Heartbeat, WorkerIdentity
from storage import Database
from storage.workers import DEAD_AFTER, WorkerRepository

_logger = logging.getLogger(__name__)

# How soon after Send the sender begins a broadcast (one cheap query each time).
PICK_UP_EVERY = timedelta(seconds=0.5)
# How long the parent waits for the sender to stop before killing it: its sends in flight may
# take DeliveryPolicy.drain_timeout (10 s) to finish, then it closes its database.
STOP_WITHIN = 20.0
# The sender's CPU priority below the answering process's (nice 0): when the CPU is contended, the
# operating system runs people's replies first, as the limiter lets conversation overtake bulk.
SENDER_NICENESS = 10
_LENGTH = struct.Struct(">Q")
BROADCASTER = "baraza.broadcaster"
HEARTBEAT = "baraza.sender.heartbeat"


def build_sender_application(settings: Settings, catalogs: Catalogs,
                             worker: WorkerIdentity) -> Application:
    """An Application that fetches no updates and sends every broadcast (post_init starts it)."""

    async def post_init(application: Application) -> None:
        db = await Database.open(settings.database)
        broadcaster = Broadcaster.for_settings(application.bot, db, catalogs, settings, worker)
        heartbeat = Heartbeat(db, worker, listeners=(broadcaster.adopt,))
        application.bot_data[BROADCASTER] = broadcaster
        await heartbeat.register()
        application.bot_data[HEARTBEAT] = heartbeat
        await broadcaster.start()
        heartbeat.start(application)
        assert application.job_queue is not None
        application.job_queue.run_repeating(_pick_up, interval=PICK_UP_EVERY,
                                            first=PICK_UP_EVERY, name="sender:pick-up")
        _logger.info("Broadcast sender started as worker %s", worker.id)

    async def post_stop(application: Application) -> None:
        broadcaster: Broadcaster | None = application.bot_data.get(BROADCASTER)
        if broadcaster is not None:
            await broadcaster.stop()  # while the bot can still finish its sends
        heartbeat: Heartbeat | None = application.bot_data.get(HEARTBEAT)
        if heartbeat is not None:
            await heartbeat.retire()  # the other workers take over what is left, at once

    async def post_shutdown(application: Application) -> None:
        broadcaster: Broadcaster | None = application.bot_data.get(BROADCASTER)
        if broadcaster is not None:
            await broadcaster.db.close()

    return (
        builder(settings)
        .updater(None)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )


async def _pick_up(context: CallbackContext) -> None:
    """Begin the broadcasts a moderator sent since the last look."""
    broadcaster: Broadcaster = context.bot_data[BROADCASTER]
    try:
        await broadcaster.pick_up()
    except Exception:  # the next look tries again
        _logger.exception("Looking for broadcasts to send failed")


async def serve(settings: Settings, worker: WorkerIdentity,
                lifeline: asyncio.StreamReader) -> None:
    """Send broadcasts as ``worker`` until the lifeline closes or SIGTERM arrives."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # Ctrl-C in a terminal reaches the whole process group: the parent stops, then closes the
    # lifeline, and this process stops after it, not before its sends are recorded.
    loop.add_signal_handler(signal.SIGINT, lambda: None)

    async def until_closed() -> None:
        while await lifeline.read(4096):
            pass
        stop.set()

    watch = asyncio.create_task(until_closed())
    try:
        application = build_sender_application(
            settings, Catalogs.load().in_zone(settings.timezone), worker)
        async with started(application):
            await stop.wait()
    finally:
        watch.cancel()


def main(stdin: BinaryIO = sys.stdin.buffer) -> None:
    """The sender process: its settings from the parent, then ``serve`` until told to stop."""
    (length,) = _LENGTH.unpack(stdin.read(_LENGTH.size))
    settings, level, worker_id = pickle.loads(stdin.read(length))
    os.nice(SENDER_NICENESS)
    logs.configure(level, secrets=_secrets(settings))
    worker = WorkerIdentity(id=worker_id)  # named after this process

    async def run() -> None:
        lifeline = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(lifeline), stdin)
        await serve(settings, worker, lifeline)

    asyncio.run(run())


def _secrets(settings: Settings) -> tuple[str, ...]:
    key = settings.pseudonym_key.decode() if settings.pseudonym_key else ""
    return tuple(secret for secret in (settings.token, key) if secret)


class SenderProcess:
    """The parent's side: starts the sender, replaces it if it dies or stalls, and stops it."""

    def __init__(self, settings: Settings, workers: WorkerRepository) -> None:
        self._settings = settings
        self._workers = workers
        self._process: asyncio.subprocess.Process | None = None
        self._worker_id = ""  # the sender's id among the workers, chosen here
        self._started = 0.0  # when it was started (the event loop's clock)
        self._stopping = False

    @property
    def pid(self) -> int | None:
        """The running sender's process id (None before start)."""
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Start the sender, handing it the settings; its stdin stays open as the lifeline."""
        self._worker_id = WorkerIdentity().id
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        payload = pickle.dumps((self._settings, level, self._worker_id))
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.sender", stdin=asyncio.subprocess.PIPE,
            env={**os.environ, "PTB_TIMEDELTA": "1"})  # as bot/cli.py sets for the parent
        self._started = asyncio.get_running_loop().time()
        assert self._process.stdin is not None
        self._process.stdin.write(_LENGTH.pack(len(payload)) + payload)
        await self._process.stdin.drain()
        _logger.info("Broadcasts are sent by process %s", self._process.pid)

    async def keep_running(self) -> None:
        """At each heartbeat: a sender that died or stalled is replaced.

        What it left is taken over as a dead worker's, by the new one (Broadcaster.adopt).
        """
        process = self._process
        if self._stopping or process is None:
            return
        if process.returncode is not None:
            _logger.error("The broadcast sender (process %s) stopped with exit code %s; starting "
                          "another", process.pid, process.returncode)
        elif await self._stalled():
            _logger.error("The broadcast sender (process %s) stopped beating for %s s; killing "
                          "it and starting another", process.pid, DEAD_AFTER.total_seconds())
            process.kill()
            await process.wait()
        else:
            return
        await self.start()

    async def _stalled(self) -> bool:
        """Whether the sender, given time to register, has not beaten for DEAD_AFTER."""
        if asyncio.get_running_loop().time() - self._started < DEAD_AFTER.total_seconds():
            return False
        return not any(worker.id == self._worker_id for worker in await self._workers.alive())

    async def stop(self) -> None:
        """Close the lifeline and wait for the sender to finish its sends in flight."""
        self._stopping = True
        process = self._process
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), STOP_WITHIN)
        except TimeoutError:
            _logger.error("The broadcast sender (process %s) did not stop within %s s; killing it",
                          process.pid, STOP_WITHIN)
            process.kill()
            await process.wait()


if __name__ == "__main__":
    main()
