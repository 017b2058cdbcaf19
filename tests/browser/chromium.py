"""Debian's headless Chromium, driven over the Chrome DevTools Protocol (a websocket, via aiohttp).

Started with no network of its own to speak of (no background requests, no component updates, no
QUIC), a throwaway profile, and a DevTools port the browser picks itself and writes into the
profile (``DevToolsActivePort``), so tests never race for a port.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio")


def browser_or_skip() -> str:
    """The path of Debian's chromium; outside CI a test without one skips, in CI it fails."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                         else None)
    if found:
        return found
    message = "no chromium: install Debian's package (apt-get install chromium) to run the browser tests"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (.ci/run installs it)")
    pytest.skip(message)


class Page:
    """One tab, attached in flat mode: commands carry its session id."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse, session: str,
                 pending: dict[int, asyncio.Future], ids: itertools.count,
                 events: list[dict[str, Any]]) -> None:
        self._socket, self._session, self._pending, self._ids = socket, session, pending, ids
        self.events = events

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await _send(self._socket, self._pending, self._ids, method, params, self._session)

    async def open(self, url: str, timeout: float = 30) -> None:
        """Navigate and wait for the load event."""
        loaded = len([e for e in self.events if e.get("method") == "Page.loadEventFired"])
        await self.send("Page.navigate", url=url)
        deadline = asyncio.get_running_loop().time() + timeout
        while len([e for e in self.events if e.get("method") == "Page.loadEventFired"]) == loaded:
            assert asyncio.get_running_loop().time() < deadline, "the page never finished loading"
            await asyncio.sleep(0.05)

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression evaluated in the page."""
        reply = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in reply, reply
        return reply["result"]["value"]

    def requests(self) -> list[str]:
        """Every URL the page asked for since it was opened."""
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]


async def _send(socket: aiohttp.ClientWebSocketResponse, pending: dict[int, asyncio.Future],
                ids: itertools.count, method: str, params: dict[str, Any],
                session: str | None = None) -> dict[str, Any]:
    message_id = next(ids)
    future = asyncio.get_running_loop().create_future()
    pending[message_id] = future
    message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
    if session:
        message["sessionId"] = session
    await socket.send_str(json.dumps(message))
    reply = await asyncio.wait_for(future, 60)
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply.get("result", {})


@asynccontextmanager
async def chromium(executable: str) -> AsyncIterator[Page]:
    """A headless Chromium with one blank tab, its network events recorded."""
    profile = Path(tempfile.mkdtemp(prefix="baraza-chromium-"))
    process = await asyncio.create_subprocess_exec(
        executable, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
        "about:blank", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = asyncio.get_running_loop().time() + 60
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            assert process.returncode is None, "chromium exited at start-up"
            assert asyncio.get_running_loop().time() < deadline, "chromium never opened DevTools"
            await asyncio.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        async with aiohttp.ClientSession() as http, http.ws_connect(
                f"ws://127.0.0.1:{port}{path}", max_msg_size=0) as socket:
            pending: dict[int, asyncio.Future] = {}
            events: list[dict[str, Any]] = []
            ids = itertools.count(1)

            async def read() -> None:
                async for message in socket:
                    data = json.loads(message.data)
                    if "id" in data and data["id"] in pending:
                        pending.pop(data["id"]).set_result(data)
                    else:
                        events.append(data)

            reader = asyncio.create_task(read())
            try:
                target = await _send(socket, pending, ids, "Target.createTarget", {"url": "about:blank"})
                attached = await _send(socket, pending, ids, "Target.attachToTarget",
                                       {"targetId": target["targetId"], "flatten": True})
                page = Page(socket, attached["sessionId"], pending, ids, events)
                await page.send("Page.enable")
                await page.send("Network.enable")
                yield page
            finally:
                reader.cancel()
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        shutil.rmtree(profile, ignore_errors=True)
