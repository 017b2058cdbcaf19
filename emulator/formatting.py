"""Telegram's text formatting: the HTML parse mode, parsed the way the Bot API server parses it."""

# The parser follows tdlib's parse_html (td/telegram/MessageEntity.cpp) step by step so that error
# descriptions, byte offsets included, match what api.telegram.org answers.

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, bad_request
from .models import Entity, FormattedText

_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
# tdlib's is_space also treats NUL as a space; the parser uses NUL as its end-of-text sentinel.
_SPACES = frozenset(b" \t\r\n\v\0")
_URL_SCHEMES = ("http", "https", "tg", "ton", "tonsite")
_HOST = re.compile(r"^[\w-]+(\.[\w-]+)+(:\d+)?([/?#].*)?$")
_ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)
_TRIMMED = " \t\r\n\v\f"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def format_text(text: str, parse_mode: str | None, entities: Any = None) -> FormattedText:
    """Apply a parse mode (or explicit entities) and trim the result as Telegram does."""
    mode = (parse_mode or "").strip()
    if mode.lower() == "html":
        formatted = parse_html(text)
    elif mode:
        raise bad_request("unsupported parse_mode")
    else:
        formatted = FormattedText(text, _explicit_entities(text, entities))
    return _trim(formatted)


def _can_not_parse(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


@dataclass(frozen=True)
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    byte_offset: int


@dataclass(frozen=True)
class _RawEntity:
    type: str
    offset: int
    length: int
    argument: str = ""


class _Reader:
    """Byte cursor over the text; reads past the end as NUL, like tdlib's CSlice."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def at(self, offset: int = 0) -> int:
        index = self.pos + offset
        return self.data[index] if index < len(self.data) else 0

    def skip_spaces(self) -> None:
        while self.at() != 0 and self.at() in _SPACES:
            self.pos += 1

    def skip_until_space_or(self, *stops: int) -> None:
        while self.at() not in _SPACES and self.at() not in stops:
            self.pos += 1


def parse_html(text: str) -> FormattedText:
    """Parse Telegram HTML into plain text and entities, or raise the Bot API's 400."""
    data = text.encode("utf-8", "surrogatepass")
    reader = _Reader(data)
    out = bytearray()
    utf16_offset = 0
    opened: list[_OpenTag] = []
    entities: list[_RawEntity] = []
    while reader.pos < len(data):
        char = reader.at()
        if char == ord("&"):
            decoded = _decode_entity(reader)
            if decoded is not None:
                encoded = decoded.encode("utf-8")
                out += encoded
                utf16_offset += utf16_len(decoded)
                continue
        if char != ord("<"):
            out.append(char)
            if char & 0xC0 != 0x80:
                utf16_offset += 2 if char >= 0xF0 else 1
            reader.pos += 1
            continue
        begin = reader.pos
        reader.pos += 1
        if reader.at() != ord("/"):
            opened.append(_read_start_tag(reader, begin, utf16_offset, len(out)))
        else:
            tag = _read_end_tag(reader, begin, opened)
            if utf16_offset > tag.utf16_offset:
                _close_entity(entities, tag, utf16_offset, out)
        reader.pos += 1  # the closing '>'
    if opened:
        raise _can_not_parse(f'Can\'t find end tag corresponding to start tag "{opened[-1].name}"')
    plain = out.decode("utf-8", "surrogatepass")
    return FormattedText(plain, tuple(_public_entity(e) for e in _sorted(entities)))


def _decode_entity(reader: _Reader) -> str | None:
    """Decode `&lt;`-style or numeric references at the cursor; None leaves the '&' as text."""
    end = 1
    code = 0
    if reader.at(1) == ord("#"):
        end = 2
        hexadecimal = reader.at(2) in (ord("x"), ord("X"))
        if hexadecimal:
            end = 3
        digits = b"0123456789abcdefABCDEF" if hexadecimal else b"0123456789"
        while reader.at(end) != 0 and reader.at(end) in digits:
            code = code * (16 if hexadecimal else 10) + int(chr(reader.at(end)), 16)
            end += 1
            if code >= 0x10FFFF:
                return None
        if code == 0 or end >= 10 or 0xD800 <= code <= 0xDFFF:
            return None
        decoded = chr(code)
    else:
        while chr(reader.at(end)).isascii() and chr(reader.at(end)).isalpha():
            end += 1
        name = reader.data[reader.pos + 1 : reader.pos + end]
        if name not in _NAMED_ENTITIES:
            if name and reader.at(end) == ord(";"):
                # Telegram would show "&nbsp;" literally; that is always a bug in the bot, so refuse it.
                raise _can_not_parse(
                    f'Unsupported HTML entity "&{name.decode()};" at byte offset {reader.pos}'
                )
            return None
        decoded = _NAMED_ENTITIES[name]
    reader.pos += end + 1 if reader.at(end) == ord(";") else end
    return decoded


def _read_start_tag(reader: _Reader, begin: int, utf16_offset: int, byte_offset: int) -> _OpenTag:
    reader.skip_until_space_or(ord(">"))
    if reader.at() == 0:
        raise _can_not_parse(f"Unclosed start tag at byte offset {begin}")
    name = reader.data[begin + 1 : reader.pos].decode("utf-8", "replace").lower()
    if name not in _SUPPORTED_TAGS:
        raise _can_not_parse(f'Unsupported start tag "{name}" at byte offset {begin}')
    argument = ""
    while reader.at() != ord(">"):
        reader.skip_spaces()
        if reader.at() == ord(">"):
            break
        attribute_begin = reader.pos
        reader.skip_until_space_or(ord("="), ord(">"))
        attribute = reader.data[attribute_begin : reader.pos]
        if not attribute:
            raise _can_not_parse(f'Empty attribute name in the tag "{name}" at byte offset {begin}')
        reader.skip_spaces()
        if reader.at() != ord("="):
            if name == "blockquote" and attribute == b"expandable":
                argument = "1"
                continue
            if reader.at() == 0:
                raise _can_not_parse(f'Unclosed start tag "{name}" at byte offset {begin}')
            detail = f'Expected equal sign in declaration of an attribute of the tag "{name}"'
            raise _can_not_parse(f"{detail} at byte offset {begin}")
        reader.pos += 1
        reader.skip_spaces()
        if reader.at() == 0:
            raise _can_not_parse(f'Unclosed start tag "{name}" at byte offset {begin}')
        value = _read_attribute_value(reader)
        if reader.at() == 0:
            raise _can_not_parse(f"Unclosed start tag at byte offset {begin}")
        argument = _tag_argument(name, attribute, value, argument)
    if name == "span" and argument != "spoiler":
        raise _can_not_parse(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
    return _OpenTag(name, argument, utf16_offset, byte_offset)


def _read_attribute_value(reader: _Reader) -> str:
    quote = reader.at()
    if quote not in (ord("'"), ord('"')):
        # An unquoted name token: letters, digits, periods and hyphens, case-insensitive.
        token_begin = reader.pos
        while reader.at() != 0 and (_is_ascii_alnum(reader.at()) or reader.at() in (ord("."), ord("-"))):
            reader.pos += 1
        if reader.at() not in _SPACES and reader.at() != ord(">"):
            raise _can_not_parse(f"Unexpected end of name token at byte offset {token_begin}")
        return reader.data[token_begin : reader.pos].decode().lower()
    reader.pos += 1
    value = bytearray()
    while reader.at() != quote and reader.at() != 0:
        if reader.at() == ord("&"):
            decoded = _decode_entity(reader)
            if decoded is not None:
                value += decoded.encode("utf-8")
                continue
        value.append(reader.at())
        reader.pos += 1
    if reader.at() == quote:
        reader.pos += 1
    return value.decode("utf-8", "replace")


def _is_ascii_alnum(char: int) -> bool:
    return chr(char).isascii() and chr(char).isalnum()


def _tag_argument(tag: str, attribute: bytes, value: str, current: str) -> str:
    if tag == "a" and attribute == b"href":
        return value
    if tag == "code" and attribute == b"class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and attribute == b"class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and attribute == b"emoji-id":
        return value
    if tag == "blockquote" and attribute == b"expandable":
        return "1"
    return current


def _read_end_tag(reader: _Reader, begin: int, opened: list[_OpenTag]) -> _OpenTag:
    if not opened:
        raise _can_not_parse(f"Unexpected end tag at byte offset {begin}")
    reader.skip_until_space_or(ord(">"))
    end_name = reader.data[begin + 2 : reader.pos].decode("utf-8", "replace")
    reader.skip_spaces()
    if reader.at() != ord(">"):
        raise _can_not_parse(f"Unclosed end tag at byte offset {begin}")
    tag = opened[-1]
    if end_name and end_name != tag.name:
        raise _can_not_parse(
            f'Unmatched end tag at byte offset {begin}, expected "</{tag.name}>", found "</{end_name}>"'
        )
    return opened.pop()


def _close_entity(entities: list[_RawEntity], tag: _OpenTag, utf16_end: int, out: bytearray) -> None:
    offset, length = tag.utf16_offset, utf16_end - tag.utf16_offset
    last = entities[-1] if entities else None
    same_span = last is not None and last.offset == offset and last.length == length
    if tag.name in _SIMPLE_TAG_TYPES:
        entities.append(_RawEntity(_SIMPLE_TAG_TYPES[tag.name], offset, length))
    elif tag.name == "tg-emoji":
        if not tag.argument.isdigit() or int(tag.argument) == 0:
            raise _can_not_parse("Invalid custom emoji identifier specified")
        entities.append(_RawEntity("custom_emoji", offset, length, tag.argument))
    elif tag.name == "a":
        url = _checked_url(tag.argument or out[tag.byte_offset :].decode("utf-8", "surrogatepass"))
        if url is not None:  # Telegram silently drops links it cannot use
            entities.append(_RawEntity("text_link", offset, length, url))
    elif tag.name == "blockquote":
        entities.append(_RawEntity("expandable_blockquote" if tag.argument else "blockquote", offset, length))
    elif tag.name == "pre":
        if last is not None and same_span and last.type == "code" and last.argument:
            entities[-1] = _RawEntity("pre", offset, length, last.argument)
        else:
            entities.append(_RawEntity("pre", offset, length))
    elif tag.name == "code":
        if last is not None and same_span and last.type == "pre" and tag.argument:
            entities[-1] = _RawEntity("pre", offset, length, tag.argument)
        else:
            entities.append(_RawEntity("code", offset, length, tag.argument))


def _checked_url(url: str) -> str | None:
    url = url.strip()
    scheme, separator, rest = url.partition("://")
    if separator:
        return url if scheme.lower() in _URL_SCHEMES and rest else None
    return f"http://{url}" if _HOST.match(url) else None


def _sorted(entities: list[_RawEntity]) -> list[_RawEntity]:
    return sorted(entities, key=lambda e: (e.offset, -e.length))


def _public_entity(raw: _RawEntity) -> Entity:
    if raw.type == "text_link":
        return Entity(raw.type, raw.offset, raw.length, url=raw.argument)
    if raw.type == "pre" and raw.argument:
        return Entity(raw.type, raw.offset, raw.length, language=raw.argument)
    if raw.type == "custom_emoji":
        return Entity(raw.type, raw.offset, raw.length, custom_emoji_id=raw.argument)
    return Entity(raw.type, raw.offset, raw.length)


def _explicit_entities(text: str, entities: Any) -> tuple[Entity, ...]:
    """Validate an `entities` parameter sent instead of a parse mode."""
    if entities in (None, ""):
        return ()
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    size = utf16_len(text)
    result = []
    for item in entities:
        if not isinstance(item, dict) or item.get("type") not in _ENTITY_TYPES:
            raise bad_request("can't parse MessageEntity: unsupported entity type")
        offset, length = item.get("offset"), item.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
            raise bad_request(
                'can\'t parse MessageEntity: field "offset" or "length" must be a non-negative Integer'
            )
        if length == 0 or offset + length > size:
            continue  # Telegram drops entities that do not fit the text
        result.append(
            Entity(
                item["type"],
                offset,
                length,
                item.get("url"),
                item.get("language"),
                item.get("custom_emoji_id"),
            )
        )
    return tuple(sorted(result, key=lambda e: (e.offset, -e.length)))


def _trim(formatted: FormattedText) -> FormattedText:
    """Drop leading and trailing whitespace, clipping entities to what remains, as Telegram does."""
    text = formatted.text
    stripped_left = text.lstrip(_TRIMMED)
    head = len(text) - len(stripped_left)  # ASCII whitespace: one UTF-16 unit per character
    trimmed = stripped_left.rstrip(_TRIMMED)
    if not head and len(trimmed) == len(text):
        return formatted
    size = utf16_len(trimmed)
    entities = []
    for entity in formatted.entities:
        start = max(entity.offset - head, 0)
        end = min(entity.offset + entity.length - head, size)
        if end > start:
            entities.append(
                Entity(entity.type, start, end - start, entity.url, entity.language, entity.custom_emoji_id)
            )
    return FormattedText(trimmed, tuple(entities))
