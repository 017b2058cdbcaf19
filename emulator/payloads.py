"""Bot API objects as Telegram serialises them: users, chats, messages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .files import StoredFile, image_size
from .formatting import utf16_len
from .models import BotMessage

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?")


@dataclass(frozen=True)
class Profile:
    """Who a simulated user is; their private chat has the same id."""

    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def display_name(self) -> str:
        """How the transcript names the user."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)


def user_object(profile: Profile) -> dict[str, Any]:
    """The User object for `from` fields."""
    user: dict[str, Any] = {"id": profile.user_id, "is_bot": False, "first_name": profile.first_name}
    for key in ("last_name", "username", "language_code"):
        value = getattr(profile, key)
        if value is not None:
            user[key] = value
    return user


def chat_object(profile: Profile) -> dict[str, Any]:
    """The private Chat object shared by the user and the bot."""
    chat: dict[str, Any] = {"id": profile.user_id, "type": "private", "first_name": profile.first_name}
    if profile.last_name is not None:
        chat["last_name"] = profile.last_name
    if profile.username is not None:
        chat["username"] = profile.username
    return chat


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram attaches to a message starting with /command."""
    match = _COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}]


def photo_sizes(stored: StoredFile) -> list[dict[str, Any]]:
    """PhotoSize variants, smallest first, as Telegram returns them."""
    width, height = image_size(stored.data)
    thumb_scale = min(1.0, 90 / max(width, height, 1))
    base = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
    return [
        {
            **base,
            "file_id": stored.file_id + "s",
            "file_unique_id": stored.file_unique_id + "s",
            "width": max(1, round(width * thumb_scale)),
            "height": max(1, round(height * thumb_scale)),
            "file_size": max(1, stored.size // 10),
        },
        {**base, "width": width, "height": height, "file_size": stored.size},
    ]


def document_object(stored: StoredFile) -> dict[str, Any]:
    """The Document object for a stored file."""
    document: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }
    if stored.name:
        document["file_name"] = stored.name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return document


def bot_message_object(
    message: BotMessage, bot_user: dict[str, Any], chat: dict[str, Any], stored: StoredFile | None = None
) -> dict[str, Any]:
    """The Message object Telegram returns for a message the bot sent (and puts in callback queries)."""
    result: dict[str, Any] = {
        "message_id": message.message_id,
        "from": bot_user,
        "chat": chat,
        "date": message.date,
    }
    if message.edit_date is not None:
        result["edit_date"] = message.edit_date
    if message.media == "photo" and stored is not None:
        result["photo"] = photo_sizes(stored)
    elif message.media == "document" and stored is not None:
        result["document"] = document_object(stored)
    if message.media is None:
        result["text"] = message.text
        if message.entities:
            result["entities"] = [entity.to_dict() for entity in message.entities]
    elif message.caption:
        result["caption"] = message.caption
        if message.caption_entities:
            result["caption_entities"] = [entity.to_dict() for entity in message.caption_entities]
    if message.markup_json is not None:
        result["reply_markup"] = json.loads(message.markup_json)
    if message.reply_to_message_id is not None:
        result["reply_to_message"] = {
            "message_id": message.reply_to_message_id,
            "chat": chat,
            "date": message.date,
        }
    return result
