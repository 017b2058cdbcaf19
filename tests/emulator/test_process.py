"""`python -m emulator` as its own process: prints its URL, serves the Bot API and the control API."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "654321:PROCESS"


@pytest.fixture
async def emulator_url() -> AsyncIterator[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulator",
        "--port",
        "0",
        "--token",
        TOKEN,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    assert process.stdout
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=10)
        yield line.decode().strip()
    finally:
        process.terminate()
        await process.wait()


async def test_prints_its_url_and_answers_get_me(emulator_url: str) -> None:
    assert emulator_url.startswith("http://127.0.0.1:")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{emulator_url}/bot{TOKEN}/getMe") as response:
            body = await response.json()
    assert body["result"]["id"] == 654321 and body["result"]["is_bot"]


async def test_control_api_lets_another_process_chat_as_a_user(emulator_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{emulator_url}/_emulator/users/1001/send",
            json={"text": "/start", "first_name": "Amina", "settle": False},
        ) as response:
            sent = await response.json()
        async with session.post(f"{emulator_url}/bot{TOKEN}/getUpdates", data={"timeout": "0"}) as response:
            updates = (await response.json())["result"]
        async with session.post(
            f"{emulator_url}/bot{TOKEN}/sendMessage",
            data={"chat_id": "1001", "text": "Hi <b>Amina</b>", "parse_mode": "HTML"},
        ) as response:
            assert (await response.json())["ok"]
        async with session.get(f"{emulator_url}/_emulator/users/1001/messages") as response:
            messages = (await response.json())["result"]

    assert updates == [sent["result"]]
    assert [(m["text"], m["html"]) for m in messages] == [("Hi Amina", "Hi <b>Amina</b>")]
