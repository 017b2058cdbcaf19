"""The state of one private chat: the bot's messages, the user's, notices, and who is listening."""

from __future__ import annotations

import asyncio
from typing import Any

from .models import BotMessage, CallbackAnswer, ChatEvent
from .payloads import Profile
from .render import body_lines, bracketed_buttons, notice_text


class ChatState:
    """Everything that happened in one user's private chat with the bot."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.blocked = False
        self.menu_button: dict[str, Any] | None = None
        self.reply_keyboard: tuple[tuple[str, ...], ...] | None = None
        self.callback_answers: list[CallbackAnswer] = []
        self._next_message_id = 1
        self._bot_messages: dict[int, BotMessage] = {}
        self._user_messages: dict[int, dict[str, Any]] = {}
        self._log: list[str] = []
        self._subscribers: list[asyncio.Queue[ChatEvent]] = []

    @property
    def chat_id(self) -> int:
        """A private chat's id is the user's id."""
        return self.profile.user_id

    def to_state(self) -> dict[str, Any]:
        """Numbering and history as JSON-ready data (the bot's messages are saved by the caller)."""
        return {"next_message_id": self._next_message_id,
                "user_messages": list(self._user_messages.values()), "log": list(self._log)}

    def restore(self, state: dict[str, Any], bot_messages: list[BotMessage]) -> None:
        """Continue a chat saved with ``to_state``: its ids go on growing from where they were."""
        self._next_message_id = int(state["next_message_id"])
        self._user_messages = {m["message_id"]: m for m in state.get("user_messages", ())}
        self._bot_messages = {m.message_id: m for m in bot_messages}
        self._log = list(state.get("log", ()))

    def next_message_id(self) -> int:
        """Message ids are shared by both sides of a private chat and only grow."""
        message_id = self._next_message_id
        self._next_message_id += 1
        return message_id

    @property
    def bot_messages(self) -> list[BotMessage]:
        """The bot's messages still in the chat, oldest first."""
        return list(self._bot_messages.values())

    def bot_message(self, message_id: int) -> BotMessage | None:
        """The bot's message with this id, unless deleted."""
        return self._bot_messages.get(message_id)

    def has_message(self, message_id: int) -> bool:
        """Whether a message (from either side) with this id is in the chat."""
        return message_id in self._bot_messages or message_id in self._user_messages

    def add_user_message(self, message: dict[str, Any], summary: str) -> None:
        """Remember what the user sent, for replies and the transcript."""
        self._user_messages[message["message_id"]] = message
        self._log.append(f"{self.profile.display_name}: {summary}")

    def note(self, line: str) -> None:
        """Add a line to the transcript (clicks and the like)."""
        self._log.append(line)

    def add_bot_message(self, message: BotMessage) -> None:
        """A new message from the bot."""
        self._bot_messages[message.message_id] = message
        self._log.extend(_transcript_lines("Bot", message))
        self._publish(ChatEvent("message", message=message, message_id=message.message_id))

    def replace_bot_message(self, message: BotMessage) -> None:
        """The bot edited one of its messages."""
        self._bot_messages[message.message_id] = message
        self._log.extend(_transcript_lines(f"Bot (edited #{message.message_id})", message))
        self._publish(ChatEvent("edited", message=message, message_id=message.message_id))

    def delete_message(self, message_id: int) -> None:
        """A message disappeared from the chat."""
        self._bot_messages.pop(message_id, None)
        self._user_messages.pop(message_id, None)
        self._log.append(f"(message #{message_id} deleted)")
        self._publish(ChatEvent("deleted", message_id=message_id))

    def add_answer(self, answer: CallbackAnswer) -> None:
        """The bot answered one of this user's button presses."""
        self.callback_answers.append(answer)
        notice = notice_text(answer)
        if notice is not None:
            self._log.append(notice)
        self._publish(ChatEvent("notice", answer=answer))

    def subscribe(self) -> asyncio.Queue[ChatEvent]:
        """A queue receiving every later event in this chat."""
        queue: asyncio.Queue[ChatEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[ChatEvent]) -> None:
        """Stop feeding a queue from subscribe()."""
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def transcript(self) -> str:
        """The conversation so far, as readable lines."""
        return "\n".join(self._log) if self._log else "(no messages)"

    def _publish(self, event: ChatEvent) -> None:
        for queue in self._subscribers:
            queue.put_nowait(event)


def _transcript_lines(speaker: str, message: BotMessage) -> list[str]:
    body = body_lines(message) or [""]
    lines = [f"{speaker}: {body[0]}"] + [f"    {line}" for line in body[1:]]
    lines += [f"    {row}" for row in bracketed_buttons(message)]
    if message.reply_keyboard:
        lines += [f"    keyboard: {' | '.join(row)}" for row in message.reply_keyboard]
    return lines
