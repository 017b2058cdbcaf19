"""The Bot API methods: what each one checks, stores and returns."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace
from typing import Any

from . import errors
from .chats import ChatState
from .errors import ApiError, bad_request
from .files import FileStore, StoredFile, looks_like_image
from .formatting import format_text, utf16_len
from .markup import Markup, parse_markup
from .models import BotMessage, CallbackAnswer, EmulatorStats, FormattedText, MediaKind
from .payloads import bot_message_object, chat_object, document_object
from .settings import BotSettings, Handler
from .updates import UpdateQueue
from .wire import DecodedRequest, UploadedFile, file_param

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER = 200
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


@dataclass
class _CallbackQuery:
    chat_id: int
    answered: bool = False


class BotApi:
    """Implements each Bot API method against the emulator's chats, files and update queue."""

    def __init__(
        self, bot_user: dict[str, Any], updates: UpdateQueue, files: FileStore, stats: EmulatorStats
    ) -> None:
        self.bot_user = bot_user
        self.updates = updates
        self.files = files
        self.stats = stats
        self.chats: dict[int, ChatState] = {}
        self.settings = BotSettings()
        self._default_menu_button = "commands"
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._callback_ids = itertools.count(4_611_686_018_427_387_904)
        self.handlers: dict[str, Handler] = {
            "getme": self.get_me,
            "logout": self.ok,
            "close": self.ok,
            "getupdates": self.get_updates,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "editmessagecaption": self.edit_message_caption,
            "deletemessage": self.delete_message,
            "answercallbackquery": self.answer_callback_query,
            "sendphoto": self.send_photo,
            "senddocument": self.send_document,
            "sendchataction": self.send_chat_action,
            "setchatmenubutton": self.set_chat_menu_button,
            "getchatmenubutton": self.get_chat_menu_button,
            "getfile": self.get_file,
            **self.settings.handlers,
        }

    # -- bookkeeping used by the server and simulated users --------------------------------------

    def chat_of(self, method: str, params: dict[str, Any]) -> int | None:
        """The chat a request concerns, so that settling can wait for that chat only."""
        if method == "answercallbackquery":
            query = self._callback_queries.get(str(params.get("callback_query_id")))
            return query.chat_id if query else None
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            return chat_id
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            return int(chat_id)
        return None

    def issue_callback_query(self, chat_id: int) -> str:
        """A fresh callback query id the bot must answer exactly once."""
        query_id = str(next(self._callback_ids))
        self._callback_queries[query_id] = _CallbackQuery(chat_id)
        return query_id

    def unanswered_callback_queries(self) -> list[str]:
        """Ids issued to the bot that it never answered."""
        return [query_id for query_id, query in self._callback_queries.items() if not query.answered]

    def message_object(self, message: BotMessage) -> dict[str, Any]:
        """The Message object for one of the bot's messages, as it is now."""
        stored = self.files.get(message.file_id) if message.file_id else None
        return bot_message_object(
            message, self.bot_user, chat_object(self.chats[message.chat_id].profile), stored
        )

    # -- setup methods ----------------------------------------------------------------------------

    async def get_me(self, request: DecodedRequest) -> dict[str, Any]:
        """getMe: the bot's own User object."""
        return self.bot_user

    async def ok(self, request: DecodedRequest) -> bool:
        """Methods that only acknowledge (logOut, close)."""
        return True

    async def get_updates(self, request: DecodedRequest) -> list[dict[str, Any]]:
        """getUpdates: long polling over the update queue."""
        params = request.params
        return await self.updates.poll(
            params.get("offset"), params.get("limit"), params.get("timeout"), params.get("allowed_updates")
        )

    async def set_chat_menu_button(self, request: DecodedRequest) -> bool:
        """setChatMenuButton: per chat, or the default when chat_id is absent."""
        button = request.params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise bad_request("can't parse menu button JSON object")
        if request.params.get("chat_id") in (None, ""):
            self._default_menu_button = button["type"]
        else:
            self._chat(request.params).menu_button = button
        return True

    async def get_chat_menu_button(self, request: DecodedRequest) -> dict[str, Any]:
        """getChatMenuButton: what setChatMenuButton stored."""
        if request.params.get("chat_id") not in (None, ""):
            stored = self._chat(request.params).menu_button
            if stored is not None:
                return stored
        return {"type": self._default_menu_button}

    # -- messages --------------------------------------------------------------------------------

    async def send_message(self, request: DecodedRequest) -> dict[str, Any]:
        """sendMessage: text 1..4096 UTF-16 units after parsing, valid markup, an existing reply target."""
        params = request.params
        chat = self._chat(params)
        raw_text, formatted = _message_text(params)
        markup = parse_markup(params.get("reply_markup"))
        reply_to = _reply_target(chat, params)
        self._check_not_blocked(chat)
        message = BotMessage(
            message_id=chat.next_message_id(),
            chat_id=chat.chat_id,
            date=int(time.time()),
            text=formatted.text,
            html=raw_text,
            entities=formatted.entities,
            reply_to_message_id=reply_to,
            **_markup_fields(markup),
        )
        return self._deliver(chat, message, markup)

    async def send_photo(self, request: DecodedRequest) -> dict[str, Any]:
        """sendPhoto: an image upload, a known file_id or a URL, with an optional caption."""
        return await self._send_media(request, "photo")

    async def send_document(self, request: DecodedRequest) -> dict[str, Any]:
        """sendDocument: any non-empty file, a known file_id or a URL, with an optional caption."""
        return await self._send_media(request, "document")

    async def _send_media(self, request: DecodedRequest, kind: MediaKind) -> dict[str, Any]:
        params = request.params
        chat = self._chat(params)
        stored = self._media_file(request, kind)
        caption_raw, caption = _caption(params)
        markup = parse_markup(params.get("reply_markup"))
        reply_to = _reply_target(chat, params)
        self._check_not_blocked(chat)
        message = BotMessage(
            message_id=chat.next_message_id(),
            chat_id=chat.chat_id,
            date=int(time.time()),
            media=kind,
            photo=stored.data if kind == "photo" else None,
            document=stored.data if kind == "document" else None,
            document_name=stored.name if kind == "document" else None,
            document_mime=stored.mime_type if kind == "document" else None,
            file_id=stored.file_id,
            caption=caption.text if caption_raw is not None else None,
            caption_html=caption_raw,
            caption_entities=caption.entities,
            reply_to_message_id=reply_to,
            **_markup_fields(markup),
        )
        return self._deliver(chat, message, markup)

    def _deliver(self, chat: ChatState, message: BotMessage, markup: Markup) -> dict[str, Any]:
        if markup.reply_keyboard is not None:
            chat.reply_keyboard = markup.reply_keyboard
        elif markup.remove_keyboard:
            chat.reply_keyboard = None
        chat.add_bot_message(message)
        self.stats.messages_per_chat[chat.chat_id] += 1
        return self.message_object(message)

    def _media_file(self, request: DecodedRequest, kind: MediaKind) -> StoredFile:
        value = file_param(request, kind)
        if value is None:
            raise bad_request(f"there is no {kind} in the request")
        folder = "photos" if kind == "photo" else "documents"
        if isinstance(value, UploadedFile):
            if not value.data:
                raise bad_request("file must be non-empty")
            if kind == "photo" and not looks_like_image(value.data):
                raise bad_request("IMAGE_PROCESS_FAILED")
            name = request.params.get("filename") or value.filename
            return self.files.add(
                value.data, folder, name if kind == "document" else None, value.content_type
            )
        known = self.files.get(value)
        if known is not None:
            return known
        if value.startswith(("http://", "https://")):
            # Telegram would download it; the emulator must not reach the internet, so it keeps only the URL.
            return self.files.add(None, folder, value.rsplit("/", 1)[-1] or None)
        raise bad_request("wrong file identifier/HTTP URL specified")

    async def edit_message_text(self, request: DecodedRequest) -> dict[str, Any]:
        """editMessageText: only the bot's own text messages, and only when something changes."""
        params = request.params
        chat, message = self._message_to_edit(params)
        raw_text, formatted = _message_text(params)
        markup = parse_markup(params.get("reply_markup"), inline_only=True)
        if message.media is not None:
            raise bad_request("there is no text in the message to edit")
        self._check_not_blocked(chat)
        # Without reply_markup Telegram removes the inline keyboard, so compare against "no keyboard".
        if (formatted.text, formatted.entities, markup.inline_json) == (
            message.text,
            message.entities,
            message.markup_json,
        ):
            raise ApiError(400, errors.NOT_MODIFIED)
        edited = replace(
            message,
            text=formatted.text,
            html=raw_text,
            entities=formatted.entities,
            buttons=markup.buttons,
            markup_json=markup.inline_json,
            edited=True,
            edit_date=int(time.time()),
        )
        return self._store_edit(chat, edited)

    async def edit_message_caption(self, request: DecodedRequest) -> dict[str, Any]:
        """editMessageCaption: the caption of the bot's own photo or document."""
        params = request.params
        chat, message = self._message_to_edit(params)
        caption_raw, caption = _caption(params)
        markup = parse_markup(params.get("reply_markup"), inline_only=True)
        if message.media is None:
            raise bad_request("there is no caption in the message to edit")
        self._check_not_blocked(chat)
        new_caption = caption.text if caption_raw is not None else None
        if (new_caption or "", caption.entities, markup.inline_json) == (
            message.caption or "",
            message.caption_entities,
            message.markup_json,
        ):
            raise ApiError(400, errors.NOT_MODIFIED)
        edited = replace(
            message,
            caption=new_caption,
            caption_html=caption_raw,
            caption_entities=caption.entities,
            buttons=markup.buttons,
            markup_json=markup.inline_json,
            edited=True,
            edit_date=int(time.time()),
        )
        return self._store_edit(chat, edited)

    async def edit_message_reply_markup(self, request: DecodedRequest) -> dict[str, Any]:
        """editMessageReplyMarkup: replace or remove the inline keyboard, if it differs."""
        params = request.params
        chat, message = self._message_to_edit(params)
        markup = parse_markup(params.get("reply_markup"), inline_only=True)
        self._check_not_blocked(chat)
        if markup.inline_json == message.markup_json:
            raise ApiError(400, errors.NOT_MODIFIED)
        edited = replace(
            message,
            buttons=markup.buttons,
            markup_json=markup.inline_json,
            edited=True,
            edit_date=int(time.time()),
        )
        return self._store_edit(chat, edited)

    def _store_edit(self, chat: ChatState, edited: BotMessage) -> dict[str, Any]:
        chat.replace_bot_message(edited)
        return self.message_object(edited)

    def _message_to_edit(self, params: dict[str, Any]) -> tuple[ChatState, BotMessage]:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline mode is not emulated
        chat = self._chat(params)
        message_id = _message_id(params)
        message = chat.bot_message(message_id)
        if message is None:
            if chat.has_message(message_id):
                raise bad_request("message can't be edited")
            raise ApiError(400, errors.MESSAGE_TO_EDIT_NOT_FOUND)
        return chat, message

    async def delete_message(self, request: DecodedRequest) -> bool:
        """deleteMessage: any message still in the private chat."""
        chat = self._chat(request.params)
        message_id = _message_id(request.params)
        if not chat.has_message(message_id):
            raise ApiError(400, errors.MESSAGE_TO_DELETE_NOT_FOUND)
        chat.delete_message(message_id)
        return True

    async def answer_callback_query(self, request: DecodedRequest) -> bool:
        """answerCallbackQuery: once per issued query, text up to 200 characters."""
        params = request.params
        query_id = str(params.get("callback_query_id") or "")
        query = self._callback_queries.get(query_id)
        if query is None or query.answered:
            raise ApiError(400, errors.QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and utf16_len(str(text)) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        answer = CallbackAnswer(
            callback_query_id=query_id,
            text=str(text) if text else None,
            show_alert=params.get("show_alert") is True,
            url=params.get("url"),
            cache_time=params.get("cache_time"),
        )
        self.chats[query.chat_id].add_answer(answer)
        return True

    async def send_chat_action(self, request: DecodedRequest) -> bool:
        """sendChatAction: a known action to a chat that has not blocked the bot."""
        chat = self._chat(request.params)
        if request.params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._check_not_blocked(chat)
        return True

    async def get_file(self, request: DecodedRequest) -> dict[str, Any]:
        """getFile: where to download a file the emulator knows."""
        stored = self.files.get(str(request.params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        return {**document_object(stored), "file_path": stored.file_path}

    # -- helpers ---------------------------------------------------------------------------------

    def _chat(self, params: dict[str, Any]) -> ChatState:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        resolved = self.chat_of("", {"chat_id": chat_id})
        chat = self.chats.get(resolved) if resolved is not None else None
        if chat is None:
            raise ApiError(400, errors.CHAT_NOT_FOUND)
        return chat

    @staticmethod
    def _check_not_blocked(chat: ChatState) -> None:
        if chat.blocked:
            raise ApiError(403, errors.BLOCKED)


def _message_text(params: dict[str, Any]) -> tuple[str, FormattedText]:
    raw = params.get("text")
    if raw is None or raw == "":
        raise ApiError(400, errors.TEXT_EMPTY)
    raw = str(raw)
    formatted = format_text(raw, params.get("parse_mode"), params.get("entities"))
    if not formatted.text:
        raise ApiError(400, errors.TEXT_EMPTY)
    if utf16_len(formatted.text) > MAX_TEXT:
        raise ApiError(400, errors.TEXT_TOO_LONG)
    return raw, formatted


def _caption(params: dict[str, Any]) -> tuple[str | None, FormattedText]:
    raw = params.get("caption")
    if raw is None or raw == "":
        return None, FormattedText("")
    raw = str(raw)
    formatted = format_text(raw, params.get("parse_mode"), params.get("caption_entities"))
    if utf16_len(formatted.text) > MAX_CAPTION:
        raise ApiError(400, errors.CAPTION_TOO_LONG)
    return raw, formatted


def _markup_fields(markup: Markup) -> dict[str, Any]:
    return {
        "buttons": markup.buttons,
        "markup_json": markup.inline_json,
        "reply_keyboard": markup.reply_keyboard,
        "remove_keyboard": markup.remove_keyboard,
        "force_reply": markup.force_reply,
    }


def _message_id(params: dict[str, Any]) -> int:
    value = params.get("message_id")
    if value in (None, ""):
        raise bad_request("message identifier is not specified")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request("message identifier is not specified") from None


def _reply_target(chat: ChatState, params: dict[str, Any]) -> int | None:
    """The message replied to, from reply_parameters or the older reply_to_message_id."""
    reply = params.get("reply_parameters")
    if isinstance(reply, dict):
        message_id, allow = reply.get("message_id"), reply.get("allow_sending_without_reply") is True
    else:
        message_id, allow = (
            params.get("reply_to_message_id"),
            params.get("allow_sending_without_reply") is True,
        )
    if message_id in (None, ""):
        return None
    if not isinstance(message_id, int):
        raise bad_request("message to be replied not found")
    if chat.has_message(message_id):
        return message_id
    if allow:
        return None
    raise bad_request("message to be replied not found")
