"""The bot's profile settings: command menus per scope and language, name and descriptions."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import bad_request
from .wire import DecodedRequest

Handler = Callable[[DecodedRequest], Awaitable[Any]]
CommandKey = tuple[str, int | None, int | None, str]

_COMMAND_NAME = re.compile(r"[a-z0-9_]+")
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")
_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


def command_key(scope: Any, language_code: Any) -> CommandKey:
    """Where a command list is stored: scope type, its chat and user, and language ("" for all)."""
    if scope in (None, ""):
        scope = {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    language = language_code or ""
    if language and not (isinstance(language, str) and _LANGUAGE_CODE.fullmatch(language)):
        raise bad_request("invalid language code specified")
    chat_id = scope.get("chat_id")
    user_id = scope.get("user_id")
    return scope["type"], int(chat_id) if chat_id is not None else None, user_id, language


class BotSettings:
    """Stores what setMyCommands, setMyDescription and the like set, checked as Telegram checks them."""

    def __init__(self) -> None:
        self.commands: dict[CommandKey, list[dict[str, str]]] = {}
        self.texts: dict[tuple[str, str], str] = {}
        self.handlers: dict[str, Handler] = {
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "setmydescription": self._set_text("description", 512),
            "getmydescription": self._get_text("description"),
            "setmyshortdescription": self._set_text("short_description", 120),
            "getmyshortdescription": self._get_text("short_description"),
            "setmyname": self._set_text("name", 64),
            "getmyname": self._get_text("name"),
        }

    async def set_my_commands(self, request: DecodedRequest) -> bool:
        """setMyCommands: validate like Telegram, then store per scope and language."""
        key = command_key(request.params.get("scope"), request.params.get("language_code"))
        raw = request.params.get("commands") or []
        if not isinstance(raw, list):
            raise bad_request("can't parse commands JSON object")
        if len(raw) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        commands = [_bot_command(item) for item in raw]
        if commands:
            self.commands[key] = commands
        else:
            self.commands.pop(key, None)
        return True

    async def get_my_commands(self, request: DecodedRequest) -> list[dict[str, str]]:
        """getMyCommands: the list stored for exactly this scope and language."""
        key = command_key(request.params.get("scope"), request.params.get("language_code"))
        return list(self.commands.get(key, []))

    async def delete_my_commands(self, request: DecodedRequest) -> bool:
        """deleteMyCommands: forget the list for this scope and language."""
        self.commands.pop(command_key(request.params.get("scope"), request.params.get("language_code")), None)
        return True

    def _set_text(self, name: str, limit: int) -> Handler:
        async def handler(request: DecodedRequest) -> bool:
            language = command_key(None, request.params.get("language_code"))[3]
            value = request.params.get(name) or ""
            if len(str(value)) > limit:
                raise bad_request(f"{name.replace('_', ' ')} is too long")
            self.texts[(name, language)] = str(value)
            return True

        return handler

    def _get_text(self, name: str) -> Handler:
        async def handler(request: DecodedRequest) -> dict[str, str]:
            language = command_key(None, request.params.get("language_code"))[3]
            value = self.texts.get((name, language)) or self.texts.get((name, ""), "")
            return {name: value}

        return handler


def _bot_command(item: Any) -> dict[str, str]:
    """One BotCommand, trimmed and checked as Telegram checks it."""
    if not isinstance(item, dict):
        raise bad_request("can't parse BotCommand JSON object")
    if "command" not in item:
        raise bad_request("can't parse BotCommand: Can't find field \"command\"")
    if "description" not in item:
        raise bad_request("can't parse BotCommand: Can't find field \"description\"")
    command = str(item["command"]).strip().removeprefix("/")
    description = str(item["description"]).strip()
    if not command:
        raise bad_request("command must be non-empty")
    if len(command) > 32:
        raise bad_request("command length must not exceed 32")
    if not _COMMAND_NAME.fullmatch(command):
        raise bad_request("BOT_COMMAND_INVALID")
    if not description:
        raise bad_request("command description must be non-empty")
    if len(description) > 256:
        raise bad_request("command description length must not exceed 256")
    return {"command": command, "description": description}
