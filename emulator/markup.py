"""Validation of reply_markup: inline keyboards as strictly as Telegram checks them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import BUTTON_DATA_INVALID, ApiError, bad_request
from .models import Button

MAX_INLINE_BUTTONS = 100
MAX_CALLBACK_DATA_BYTES = 64
# Fields that give an inline button its action; Telegram requires exactly one of them.
_ACTION_FIELDS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "web_app",
    "login_url",
    "callback_game",
    "pay",
)
_URL_SCHEMES = ("http://", "https://", "tg://")


@dataclass(frozen=True)
class Markup:
    """A validated reply_markup: an inline keyboard or one of the reply keyboard kinds."""

    buttons: tuple[tuple[Button, ...], ...] = ()
    inline_json: str | None = None
    reply_keyboard: tuple[tuple[str, ...], ...] | None = None
    remove_keyboard: bool = False
    force_reply: bool = False

    @property
    def inline(self) -> dict[str, Any] | None:
        """The inline keyboard as Telegram echoes it back in Message.reply_markup."""
        return json.loads(self.inline_json) if self.inline_json else None


def parse_markup(value: Any, *, inline_only: bool = False) -> Markup:
    """Validate a decoded reply_markup parameter, raising Telegram's 400 for what it refuses."""
    if value is None or value == "":
        return Markup()
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        return _inline_keyboard(value["inline_keyboard"])
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in value:
        return Markup(reply_keyboard=_reply_keyboard(value["keyboard"]))
    if value.get("remove_keyboard") is True:
        return Markup(remove_keyboard=True)
    if value.get("force_reply") is True:
        return Markup(force_reply=True)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _inline_keyboard(rows: Any) -> Markup:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    parsed_rows = []
    wire_rows = []
    for row in rows:
        if not row:
            continue  # Telegram drops empty rows
        parsed = [_inline_button(raw) for raw in row]
        parsed_rows.append(tuple(button for button, _ in parsed))
        wire_rows.append([wire for _, wire in parsed])
    if not wire_rows:
        return Markup()
    canonical = json.dumps({"inline_keyboard": wire_rows}, ensure_ascii=False, sort_keys=True)
    return Markup(buttons=tuple(parsed_rows), inline_json=canonical)


def _inline_button(raw: Any) -> tuple[Button, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if "text" not in raw:
        raise bad_request("can't parse inline keyboard button: Can't find field \"text\"")
    text = raw["text"]
    if not isinstance(text, str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    # Telegram reads empty strings and false as absent: a button with callback_data "" is a text button.
    actions = [name for name in _ACTION_FIELDS if raw.get(name) not in (None, "", False)]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be used"
        )
    kind = actions[0]
    value = raw[kind]
    if kind == "callback_data":
        if not isinstance(value, str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "callback_data" must be of type String'
            )
        if not 1 <= len(value.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise ApiError(400, BUTTON_DATA_INVALID)
        return Button(text, callback_data=value), {"text": text, "callback_data": value}
    if kind == "url":
        if not isinstance(value, str) or not value.startswith(_URL_SCHEMES) or len(value) <= 8:
            raise bad_request("BUTTON_URL_INVALID")
        return Button(text, url=value, kind="url"), {"text": text, "url": value}
    return Button(text, kind=kind), {"text": text, kind: value}


def _reply_keyboard(rows: Any) -> tuple[tuple[str, ...], ...]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays')
    result = []
    for row in rows:
        texts = []
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text:
                raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
            texts.append(text)
        result.append(tuple(texts))
    return tuple(result)
