"""Plain-text renderings of bot messages, for transcripts and the terminal sandbox."""

from __future__ import annotations

from .models import BotMessage, CallbackAnswer


def size_text(size: int) -> str:
    """A file size the way a chat client shows it."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def media_line(message: BotMessage) -> str | None:
    """ "[photo: 12 KB]" or "[document: answers.csv, 3 KB]" for media messages, else None."""
    if message.media == "photo":
        return f"[photo: {size_text(len(message.photo or b''))}]"
    if message.media == "document":
        name = message.document_name or "file"
        return f"[document: {name}, {size_text(len(message.document or b''))}]"
    return None


def body_lines(message: BotMessage) -> list[str]:
    """The message's visible text: media placeholder, then text or caption."""
    lines = []
    media = media_line(message)
    if media is not None:
        lines.append(media)
    text = message.text if message.media is None else message.caption
    if text:
        lines.extend(text.split("\n"))
    return lines


def bracketed_buttons(message: BotMessage) -> list[str]:
    """One line per keyboard row: "[Yes] [No]"."""
    return [" ".join(f"[{button.text}]" for button in row) for row in message.buttons]


def numbered_buttons(message: BotMessage) -> list[str]:
    """One line per keyboard row, buttons numbered across rows: "[1] Yes  [2] No"."""
    lines = []
    number = 0
    for row in message.buttons:
        cells = []
        for button in row:
            number += 1
            cells.append(f"[{number}] {button.text}")
        lines.append("  ".join(cells))
    return lines


def notice_text(answer: CallbackAnswer) -> str | None:
    """How a callback answer shows up: a toast "(notice) ..." or a dialog "(alert) ..."."""
    if not answer.text:
        return None
    return f"({'alert' if answer.show_alert else 'notice'}) {answer.text}"
