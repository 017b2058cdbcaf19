"""Value types the emulator hands to tests: messages, buttons, answers, rejections."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

MediaKind = Literal["photo", "document"]


@dataclass(frozen=True)
class Entity:
    """One formatting entity, with offsets in UTF-16 code units as Telegram counts them."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The Bot API MessageEntity object."""
        result: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        for key in ("url", "language", "custom_emoji_id"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        return result


@dataclass(frozen=True)
class FormattedText:
    """Text as the user sees it, after the parse mode was applied."""

    text: str
    entities: tuple[Entity, ...] = ()


@dataclass(frozen=True)
class Button:
    """An inline keyboard button; `kind` names its action field (callback_data, url, copy_text...)."""

    text: str
    callback_data: str | None = None
    url: str | None = None
    kind: str = "callback_data"


@dataclass(frozen=True)
class BotMessage:
    """A snapshot of one message the bot sent, as the user currently sees it."""

    message_id: int
    chat_id: int
    date: int
    text: str = ""
    html: str = ""
    entities: tuple[Entity, ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = ()
    # The inline keyboard exactly as validated, canonical JSON: equal markup means equal keyboards.
    markup_json: str | None = None
    reply_keyboard: tuple[tuple[str, ...], ...] | None = None
    remove_keyboard: bool = False
    force_reply: bool = False
    media: MediaKind | None = None
    photo: bytes | None = None
    document: bytes | None = None
    document_name: str | None = None
    document_mime: str | None = None
    file_id: str | None = None
    caption: str | None = None
    caption_html: str | None = None
    caption_entities: tuple[Entity, ...] = ()
    reply_to_message_id: int | None = None
    edited: bool = False
    edit_date: int | None = None

    @property
    def kind(self) -> Literal["text", "photo", "document"]:
        """What the message carries."""
        return self.media or "text"

    @property
    def button_texts(self) -> list[str]:
        """Texts of every inline button, row by row."""
        return [button.text for row in self.buttons for button in row]

    def button(self, text: str) -> Button | None:
        """The inline button with exactly this text, if any."""
        return next((b for row in self.buttons for b in row if b.text == text), None)


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot said in answerCallbackQuery."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None = None
    cache_time: int | None = None


@dataclass(frozen=True)
class ChatEvent:
    """Something the user would notice in the chat: a new, edited or deleted message, or a notice."""

    kind: Literal["message", "edited", "deleted", "notice"]
    message: BotMessage | None = None
    answer: CallbackAnswer | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class RejectedRequest:
    """A request the emulator refused, as Telegram would have."""

    method: str
    code: int
    description: str
    params: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method} -> {self.code} {self.description} {self.params!r}"


@dataclass(frozen=True)
class ApiCall:
    """One Bot API request as the emulator received it (files replaced by their names)."""

    method: str
    params: dict[str, Any]
    chat_id: int | None
    ok: bool


@dataclass
class EmulatorStats:
    """Counters for benchmarks: 429s issued and messages delivered per chat."""

    too_many_requests: int = 0
    messages_per_chat: Counter[int] = field(default_factory=Counter)
    requests_per_method: Counter[str] = field(default_factory=Counter)

    @property
    def messages_delivered(self) -> int:
        """All messages delivered to any chat."""
        return sum(self.messages_per_chat.values())
