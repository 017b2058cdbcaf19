"""A simulated Telegram user: sends messages, presses buttons, and reads what the bot answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .chats import ChatState
from .files import tiny_png
from .models import BotMessage, CallbackAnswer, ChatEvent
from .payloads import Profile, chat_object, command_entities, document_object, photo_sizes, user_object

if TYPE_CHECKING:
    from .server import BotApiEmulator


class EmulatedUser:
    """One person in a private chat with the bot; every action waits until the bot has settled."""

    def __init__(self, emulator: BotApiEmulator, chat: ChatState) -> None:
        self._emulator = emulator
        self._chat = chat

    def __repr__(self) -> str:
        return f"EmulatedUser({self.id}, {self.profile.display_name!r})"

    @property
    def id(self) -> int:
        """The user id, which is also the private chat id."""
        return self._chat.chat_id

    @property
    def profile(self) -> Profile:
        """Name, username and language as Telegram reports them."""
        return self._chat.profile

    # -- what the user sees ----------------------------------------------------------------------

    @property
    def messages(self) -> list[BotMessage]:
        """The bot's messages still in the chat, oldest first, each as currently shown."""
        return self._chat.bot_messages

    @property
    def last_message(self) -> BotMessage | None:
        """The bot's newest message, if any."""
        messages = self._chat.bot_messages
        return messages[-1] if messages else None

    def message(self, message_id: int) -> BotMessage | None:
        """The bot's message with this id, unless deleted."""
        return self._chat.bot_message(message_id)

    @property
    def keyboard_message(self) -> BotMessage | None:
        """The newest message that has an inline keyboard."""
        return next((m for m in reversed(self._chat.bot_messages) if m.buttons), None)

    @property
    def buttons(self) -> list[str]:
        """Button texts of the newest message with an inline keyboard."""
        message = self.keyboard_message
        return message.button_texts if message else []

    @property
    def reply_keyboard(self) -> tuple[tuple[str, ...], ...] | None:
        """The reply keyboard currently shown under the input field."""
        return self._chat.reply_keyboard

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """Every answerCallbackQuery the bot sent for this user's presses."""
        return list(self._chat.callback_answers)

    def transcript(self) -> str:
        """The conversation as readable text, for assertion messages."""
        return self._chat.transcript()

    def subscribe(self) -> asyncio.Queue[ChatEvent]:
        """A queue of every later new, edited or deleted bot message and callback notice in this chat."""
        return self._chat.subscribe()

    def unsubscribe(self, queue: asyncio.Queue[ChatEvent]) -> None:
        """Stop a subscribe() queue."""
        self._chat.unsubscribe(queue)

    # -- what the user does ----------------------------------------------------------------------

    async def send(
        self, text: str, *, reply_to: int | None = None, settle: bool = True, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a text message (a leading /command gets its bot_command entity); returns the update."""
        fields: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            fields["entities"] = entities
        return await self._send_message(fields, text, reply_to=reply_to, settle=settle, timeout=timeout)

    async def send_sticker(self, emoji: str = "👍", *, settle: bool = True) -> dict[str, Any]:
        """Send a sticker."""
        stored = self._emulator.files.add(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "stickers", mime_type="image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "EmulatorStickers",
            "file_size": stored.size,
        }
        return await self._send_message({"sticker": sticker}, f"[sticker {emoji}]", settle=settle)

    async def send_photo(
        self, data: bytes | None = None, caption: str | None = None, *, settle: bool = True
    ) -> dict[str, Any]:
        """Send a photo (a small PNG unless bytes are given)."""
        stored = self._emulator.files.add(data or tiny_png(), "photos", mime_type="image/png")
        fields: dict[str, Any] = {"photo": photo_sizes(stored)}
        if caption:
            fields["caption"] = caption
        return await self._send_message(fields, f"[photo] {caption or ''}".rstrip(), settle=settle)

    async def send_voice(self, duration: int = 3, *, settle: bool = True) -> dict[str, Any]:
        """Send a voice note."""
        stored = self._emulator.files.add(b"OggS" + bytes(200), "voice", mime_type="audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.size,
        }
        return await self._send_message({"voice": voice}, f"[voice {duration}s]", settle=settle)

    async def send_location(
        self, latitude: float = -1.2921, longitude: float = 36.8219, *, settle: bool = True
    ) -> dict[str, Any]:
        """Send a location (Nairobi by default)."""
        location = {"latitude": latitude, "longitude": longitude}
        return await self._send_message(
            {"location": location}, f"[location {latitude}, {longitude}]", settle=settle
        )

    async def send_document(
        self,
        data: bytes = b"hello\n",
        name: str = "notes.txt",
        mime_type: str = "text/plain",
        caption: str | None = None,
        *,
        settle: bool = True,
    ) -> dict[str, Any]:
        """Send a file."""
        stored = self._emulator.files.add(data, "documents", name, mime_type)
        fields: dict[str, Any] = {"document": document_object(stored)}
        if caption:
            fields["caption"] = caption
        return await self._send_message(fields, f"[document {name}]", settle=settle)

    async def click(self, text: str, *, settle: bool = True, timeout: float | None = None) -> dict[str, Any]:
        """Press the inline button with exactly this text on the newest message showing one."""
        for message in reversed(self._chat.bot_messages):
            button = message.button(text)
            if button is None:
                continue
            if button.callback_data is None:
                raise AssertionError(
                    f"button {text!r} on message #{message.message_id} is a {button.kind} button "
                    f"({button.url or 'no callback'}); pressing it sends nothing to the bot"
                )
            return await self._press(message, button.callback_data, f"[{text}]", settle, timeout)
        raise AssertionError(f"no inline button {text!r}; {self._describe_buttons()}\n{self.transcript()}")

    async def click_data(
        self, data: str, message_id: int | None = None, *, settle: bool = True, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a callback query with arbitrary data (forged or stale buttons) on a message."""
        message = self._chat.bot_message(message_id) if message_id is not None else self.keyboard_message
        if message is None:
            message = self.last_message if message_id is None else None
        if message is None:
            where = f"message #{message_id}" if message_id is not None else "any bot message"
            raise AssertionError(
                f"cannot press a button: there is no {where} in the chat\n{self.transcript()}"
            )
        return await self._press(message, data, f"data {data!r}", settle, timeout)

    async def settle(self, timeout: float | None = None) -> None:
        """Wait until the bot has been quiet in this chat (for bot-initiated messages)."""
        await self._emulator.settle_chat(self.id, None, timeout)

    async def wait_for(self, predicate: Callable[[BotMessage], bool], timeout: float = 10.0) -> BotMessage:
        """Wait until some bot message in the chat satisfies `predicate`; returns the newest such message."""
        found: list[BotMessage] = []

        def seen() -> bool:
            found[:] = [m for m in self._chat.bot_messages if predicate(m)]
            return bool(found)

        await self._emulator.wait_until(
            seen, timeout, lambda: f"no message matched within {timeout} s\n{self.transcript()}"
        )
        return found[-1]

    # -- internals -------------------------------------------------------------------------------

    async def _send_message(
        self,
        fields: dict[str, Any],
        summary: str,
        *,
        reply_to: int | None = None,
        settle: bool = True,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._chat.next_message_id(),
            "from": user_object(self.profile),
            "chat": chat_object(self.profile),
            "date": int(time.time()),
            **fields,
        }
        if reply_to is not None:
            replied = self._chat.bot_message(reply_to)
            if replied is None:
                raise AssertionError(f"cannot reply to #{reply_to}: no such bot message\n{self.transcript()}")
            message["reply_to_message"] = self._emulator.api.message_object(replied)
        self._chat.add_user_message(message, summary)
        return await self._queue({"message": message}, settle, timeout)

    async def _press(
        self, message: BotMessage, data: str, summary: str, settle: bool, timeout: float | None
    ) -> dict[str, Any]:
        query_id = self._emulator.api.issue_callback_query(self.id)
        self._chat.note(f"{self.profile.display_name} pressed {summary} on #{message.message_id}")
        query = {
            "id": query_id,
            "from": user_object(self.profile),
            "message": self._emulator.api.message_object(message),
            "chat_instance": str(self.id * 7919 % 10**12),
            "data": data,
        }
        return await self._queue({"callback_query": query}, settle, timeout)

    async def _queue(self, payload: dict[str, Any], settle: bool, timeout: float | None) -> dict[str, Any]:
        update = self._emulator.push_update(payload)
        if settle:
            await self._emulator.settle_chat(self.id, update["update_id"], timeout)
        return update

    def _describe_buttons(self) -> str:
        keyboards = [m for m in self._chat.bot_messages if m.buttons]
        if not keyboards:
            return "no message in the chat has inline buttons"
        return "; ".join(f"#{m.message_id}: {m.button_texts}" for m in reversed(keyboards[-3:]))
