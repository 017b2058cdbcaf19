"""A small JSON control API under /_emulator/, to drive an emulator running in another process."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .models import BotMessage
    from .server import BotApiEmulator
    from .user import EmulatedUser


def add_control_routes(app: web.Application, emulator: BotApiEmulator) -> None:
    """Register users/{id}/send, users/{id}/click, users/{id}/messages, errors and settle."""

    def user_for(request: web.Request, body: dict[str, Any]) -> EmulatedUser:
        user_id = int(request.match_info["user_id"])
        return emulator.user(
            user_id,
            body.get("first_name", "Test"),
            language_code=body.get("language_code", "en"),
            username=body.get("username"),
        )

    async def send(request: web.Request) -> web.Response:
        body = await _json(request)
        user = user_for(request, body)
        return await _run(user.send(str(body["text"]), settle=body.get("settle", True)))

    async def click(request: web.Request) -> web.Response:
        body = await _json(request)
        user = user_for(request, body)
        return await _run(user.click(str(body["text"]), settle=body.get("settle", True)))

    async def messages(request: web.Request) -> web.Response:
        user = user_for(request, {})
        return web.json_response({"ok": True, "result": [_message_json(m) for m in user.messages]})

    async def errors(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": [dataclasses.asdict(e) for e in emulator.errors]})

    async def settle(request: web.Request) -> web.Response:
        body = await _json(request)
        return await _run(emulator.settle(float(body.get("timeout", 5.0))))

    app.router.add_post("/_emulator/users/{user_id:\\d+}/send", send)
    app.router.add_post("/_emulator/users/{user_id:\\d+}/click", click)
    app.router.add_get("/_emulator/users/{user_id:\\d+}/messages", messages)
    app.router.add_get("/_emulator/errors", errors)
    app.router.add_post("/_emulator/settle", settle)


async def _json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    body = await request.json()
    return body if isinstance(body, dict) else {}


async def _run(action: Any) -> web.Response:
    try:
        result = await action
    except AssertionError as error:
        return web.json_response({"ok": False, "description": str(error)}, status=409)
    except TimeoutError as error:
        return web.json_response({"ok": False, "description": str(error)}, status=504)
    return web.json_response({"ok": True, "result": result})


def _message_json(message: BotMessage) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "text": message.text,
        "html": message.html,
        "media": message.media,
        "caption": message.caption,
        "document_name": message.document_name,
        "edited": message.edited,
        "buttons": [
            [{"text": b.text, "callback_data": b.callback_data, "url": b.url} for b in row]
            for row in message.buttons
        ],
    }
