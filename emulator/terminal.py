"""Chat with the bot in a terminal, as one simulated user: `baraza sandbox` without a Telegram token."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable

from .models import BotMessage, Button, ChatEvent
from .render import body_lines, bracketed_buttons, notice_text, numbered_buttons
from .server import BotApiEmulator
from .user import EmulatedUser

QUIT = "/quit"


async def chat_in_terminal(
    emulator: BotApiEmulator,
    user: EmulatedUser,
    reader: asyncio.StreamReader | None = None,
    write: Callable[[str], None] = print,
    after_each: Callable[[], None] = lambda: None,
) -> None:
    """Print the bot's messages and send what the person types, until /quit or end of input.

    ``after_each`` runs once everything a line caused was printed (the sandbox saves its state).
    """
    events = user.subscribe()
    printer = asyncio.create_task(_print_events(events, user, write))
    try:
        for message in user.messages:  # what the chat already holds, so a restart is not a blank screen
            _write_message(message, user, write, edited=False)
        lines = reader if reader is not None else _stdin_reader()
        while True:
            raw = await lines.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").strip()
            if line == QUIT:
                break
            if line:
                seen_errors = len(emulator.errors)
                await _act(line, user, write)
                await events.join()  # everything the bot did is printed before the next prompt
                for error in emulator.errors[
                    seen_errors:
                ]:  # the bot's API mistakes, visible to its developer
                    write(f"(Telegram refused {error.method}: {error.description})")
                after_each()
    finally:
        printer.cancel()
        user.unsubscribe(events)


async def _act(line: str, user: EmulatedUser, write: Callable[[str], None]) -> None:
    """A bare number presses that button of the newest keyboard; anything else is a message."""
    try:
        if line.isdigit():
            button = _numbered_button(user, int(line))
            if button is None:
                write(f"(there is no button {line})")
            elif button.callback_data is None:
                write(f"(this button opens {button.url or button.kind}; nothing is sent to the bot)")
            else:
                await user.click(button.text)
        else:
            await user.send(line)
    except TimeoutError:
        write("(the bot did not answer in time)")


def _numbered_button(user: EmulatedUser, number: int) -> Button | None:
    message = user.keyboard_message
    buttons = [button for row in message.buttons for button in row] if message else []
    return buttons[number - 1] if 1 <= number <= len(buttons) else None


async def _print_events(
    events: asyncio.Queue[ChatEvent], user: EmulatedUser, write: Callable[[str], None]
) -> None:
    while True:
        event = await events.get()
        try:
            _write_event(event, user, write)
        finally:
            events.task_done()


def _write_event(event: ChatEvent, user: EmulatedUser, write: Callable[[str], None]) -> None:
    if event.kind in ("message", "edited") and event.message is not None:
        _write_message(event.message, user, write, edited=event.kind == "edited")
    elif event.kind == "deleted":
        write(f"(message #{event.message_id} deleted)")
    elif event.kind == "notice" and event.answer is not None:
        notice = notice_text(event.answer)
        if notice is not None:
            write(notice)


def _write_message(
    message: BotMessage, user: EmulatedUser, write: Callable[[str], None], *, edited: bool
) -> None:
    lines = body_lines(message) or [""]
    lines[0] = f"{'(edited) ' if edited else ''}{lines[0]}"
    for line in lines:
        write(line)
    newest_keyboard = user.keyboard_message
    clickable = newest_keyboard is not None and newest_keyboard.message_id == message.message_id
    for row in numbered_buttons(message) if clickable else bracketed_buttons(message):
        write(row)
    if message.reply_keyboard:
        write("keyboard: " + " | ".join("  ".join(row) for row in message.reply_keyboard))


def _stdin_reader() -> asyncio.StreamReader:
    """Lines from stdin without blocking the event loop."""
    # A daemon thread does blocking os.read calls: connect_read_pipe would switch the terminal, which
    # stdout shares, to non-blocking mode, and a daemon thread blocked while holding sys.stdin's
    # buffer lock aborts the interpreter at exit.
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()

    def pump() -> None:
        fd = sys.stdin.fileno()
        try:
            while chunk := os.read(fd, 4096):
                loop.call_soon_threadsafe(reader.feed_data, chunk)
            loop.call_soon_threadsafe(reader.feed_eof)
        except (OSError, RuntimeError):  # stdin closed, or the loop is gone after /quit
            return

    threading.Thread(target=pump, name="sandbox-stdin", daemon=True).start()
    return reader
