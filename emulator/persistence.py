"""What an emulator remembers across restarts: update and message numbering, and each chat.

Telegram never reuses an update id or a message id. A bot that stores them (to recognise a
redelivered update, or to edit the message that shows a question) must meet the same numbers
after the emulator restarts, or it takes every new update for an old one. The sandbox keeps
this state in a JSON file beside its database.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from .chats import ChatState
from .models import BotMessage, Button, Entity
from .payloads import Profile

VERSION = 1
_BYTES = ("photo", "document")


def message_to_state(message: BotMessage) -> dict[str, Any]:
    """A bot message as JSON-ready data."""
    state = asdict(message)
    for key in _BYTES:
        if state[key] is not None:
            state[key] = base64.b64encode(state[key]).decode("ascii")
    return state


def message_from_state(state: dict[str, Any]) -> BotMessage:
    """The bot message ``message_to_state`` described."""
    known = {f.name for f in fields(BotMessage)}
    values = {key: value for key, value in state.items() if key in known}
    for key in _BYTES:
        if values.get(key) is not None:
            values[key] = base64.b64decode(values[key])
    for key in ("entities", "caption_entities"):
        values[key] = tuple(Entity(**e) for e in values.get(key) or ())
    values["buttons"] = tuple(tuple(Button(**b) for b in row) for row in values.get("buttons") or ())
    if values.get("reply_keyboard") is not None:
        values["reply_keyboard"] = tuple(tuple(row) for row in values["reply_keyboard"])
    return BotMessage(**values)


def chat_to_state(chat: ChatState) -> dict[str, Any]:
    return {"profile": asdict(chat.profile), "blocked": chat.blocked, **chat.to_state(),
            "bot_messages": [message_to_state(m) for m in chat.bot_messages]}


def chat_from_state(state: dict[str, Any]) -> ChatState:
    chat = ChatState(Profile(**state["profile"]))
    chat.blocked = bool(state.get("blocked", False))
    chat.restore(state, [message_from_state(m) for m in state.get("bot_messages", ())])
    return chat


def save(path: Path, next_update_id: int, chats: dict[int, ChatState]) -> None:
    """Write the state atomically: a crash mid-write leaves the previous file intact."""
    state = {"version": VERSION, "next_update_id": next_update_id,
             "chats": [chat_to_state(chat) for chat in chats.values()]}
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state), encoding="utf-8")
    os.replace(partial, path)


def load(path: Path) -> tuple[int, list[ChatState]]:
    """The next update id and the chats saved in ``path`` (nothing when there is no file)."""
    if not path.exists():
        return 1, []
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("version") != VERSION:
            raise ValueError(f"version {state.get('version')!r}, expected {VERSION}")
        return int(state["next_update_id"]), [chat_from_state(c) for c in state["chats"]]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise StateFileError(f"{path} cannot be read ({error})") from None


class StateFileError(ValueError):
    """A saved state that cannot be read (damaged, or from another version)."""
