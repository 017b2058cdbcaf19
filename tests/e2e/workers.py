"""Several `baraza run` worker processes in webhook mode, behind the emulator as their proxy."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from emulator import BotApiEmulator

from .conftest import BotProcess

URL = "https://bot.example.org/telegram/webhook"
SECRET = "e2e-workers_SECRET-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WorkerProcess(BotProcess):
    """One worker: ``python -m bot run`` serving the webhook on its own port."""

    def __init__(self, emulator: BotApiEmulator, database: str | Path, port: int) -> None:
        super().__init__(emulator, database)  # type: ignore[arg-type]
        self.port = port
        self.env.update(BARAZA_WEBHOOK_URL=URL, BARAZA_LISTEN=f"127.0.0.1:{port}",
                        BARAZA_WEBHOOK_SECRET=SECRET)

    @property
    def target(self) -> str:
        """Where a proxy sends this worker's share of the updates."""
        return f"http://127.0.0.1:{self.port}"

    async def healthy(self, timeout: float = 60) -> None:
        """Wait until /healthz answers 200: the database reachable, its migrations current."""
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.process is not None and self.process.returncode is None, \
                    "the worker exited"
                try:
                    async with session.get(f"{self.target}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientConnectionError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, "the worker never got healthy"
                await asyncio.sleep(0.1)


@asynccontextmanager
async def workers(emulator: BotApiEmulator, database: str | Path, count: int,
                  **env: str) -> AsyncIterator[list[WorkerProcess]]:
    """``count`` workers sharing one database, the emulator spreading updates over all of them.

    On the way out each is stopped as its supervisor would (SIGINT), unless it was killed.
    """
    pool = [WorkerProcess(emulator, database, free_port()) for _ in range(count)]
    for worker in pool:
        worker.env.update(env)
    emulator.webhook_targets = [worker.target for worker in pool]
    try:
        for worker in pool:  # one after the other: the first migrates, the others find it done
            await worker.start()
            await worker.healthy()
        yield pool
    finally:
        for worker in pool:
            await worker.stop()
