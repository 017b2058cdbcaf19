"""This process as one of the bot's workers: an identity, and a heartbeat on PTB's JobQueue.

Several `baraza run` processes may serve one bot from one database. Each beats every few
seconds; one that has not beaten for ``storage.workers.DEAD_AFTER`` is dead (SIGKILLed, its machine gone), and
at every beat the living take over what the dead left (see Broadcaster.adopt). A worker that
stops cleanly retires at once, so that nobody waits for its heartbeat to expire.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from telegram.ext import Application, CallbackContext

from storage import Database

_logger = logging.getLogger(__name__)

HEARTBEAT_EVERY = timedelta(seconds=3)
JOB_NAME = "worker:heartbeat"

# Called after each heartbeat: take over what dead workers left.
BeatListener = Callable[[], Awaitable[None]]


def _name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class WorkerIdentity:
    """Who this process is among the workers: a fresh id per run, and a name people can read."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    name: str = field(default_factory=_name)


class Heartbeat:
    """Registers the worker, beats on the JobQueue, and retires it at shutdown."""

    def __init__(self, db: Database, identity: WorkerIdentity,
                 listeners: Sequence[BeatListener] = ()) -> None:
        self._db = db
        self._identity = identity
        self._listeners = tuple(listeners)

    async def register(self) -> None:
        """The first beat: from now on the worker counts as alive."""
        await self._db.workers.beat(self._identity.id, self._identity.name)
        _logger.info("Worker %s (%s) registered", self._identity.id, self._identity.name)

    def start(self, application: Application) -> None:
        """Beat every HEARTBEAT_EVERY once the application runs."""
        assert application.job_queue is not None
        application.job_queue.run_repeating(self._job, interval=HEARTBEAT_EVERY,
                                            first=HEARTBEAT_EVERY, name=JOB_NAME)

    async def beat(self) -> None:
        """One heartbeat: alive now; the dead are forgotten once what they left is taken over."""
        await self._db.workers.beat(self._identity.id, self._identity.name)
        for listener in self._listeners:
            await listener()
        for dead in await self._db.workers.forget_dead():
            _logger.warning("Worker %s stopped beating; what it left was taken over", dead)

    async def retire(self) -> None:
        """The worker stops: the others take over what it leaves at once."""
        await self._db.workers.retire(self._identity.id)

    async def _job(self, context: CallbackContext) -> None:
        try:
            await self.beat()
        except Exception:  # the next beat tries again; one missed beat kills nobody
            _logger.exception("Heartbeat of worker %s failed", self._identity.id)
