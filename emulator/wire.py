"""Decoding Bot API requests: query strings, url-encoded and multipart forms, and JSON bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

# Parameters whose values are text even when they look like JSON ("42", "true", "[1]").
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "caption_parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "language_code",
        "action",
        "business_connection_id",
        "message_effect_id",
        "inline_message_id",
        "photo",
        "document",
        "audio",
        "video",
        "voice",
        "animation",
        "sticker",
        "thumbnail",
        "file_id",
        "emoji",
        "title",
        "description",
        "name",
        "short_description",
        "question",
        "explanation",
        "secret_token",
        "ip_address",
        "custom_emoji_id",
        "inline_query_id",
        "next_offset",
        "switch_pm_text",
        "payload",
        "currency",
        "provider_token",
    }
)


@dataclass(frozen=True)
class UploadedFile:
    """A file sent as a multipart part."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class DecodedRequest:
    """Parameters with their JSON values decoded, and the uploaded files by form field name."""

    params: dict[str, Any]
    files: dict[str, UploadedFile]


def decode_value(name: str, value: Any) -> Any:
    """Turn a form value into what Telegram reads: JSON for structured fields, text for text fields."""
    if not isinstance(value, str) or name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def decode_request(request: web.Request) -> DecodedRequest:
    """Read every parameter the way api.telegram.org accepts them: GET query, form, multipart or JSON."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                raw.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(key, value.filename, value.content_type, value.file.read())
                elif isinstance(value, (bytes, bytearray)):
                    raw[key] = bytes(value).decode("utf-8", "replace")
                else:
                    raw[key] = value
    params = {key: decode_value(key, value) for key, value in raw.items()}
    return DecodedRequest(params, files)


def file_param(request: DecodedRequest, name: str) -> UploadedFile | str | None:
    """The file for a parameter: an upload (by field name or attach:// reference) or a file_id/URL."""
    value = request.params.get(name)
    if isinstance(value, str) and value.startswith("attach://"):
        return request.files.get(value.removeprefix("attach://"))
    if name in request.files:
        return request.files[name]
    return value if isinstance(value, str) and value else None


def loggable(request: DecodedRequest) -> dict[str, Any]:
    """Parameters for error reports and the call log, with uploads summarised instead of inlined."""
    params = dict(request.params)
    for key, upload in request.files.items():
        params[key] = f"<file {upload.filename or key}, {len(upload.data)} bytes>"
    return params
