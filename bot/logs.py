"""Logging that keeps secrets and people out of the log: tokens, invitation links, texts, names.

A filter on the handlers (not on loggers: records propagated from python-telegram-bot's and
httpx's loggers pass only the handlers' filters) rewrites each record before it is written. It
redacts the bot token wherever it appears (httpx logs every request's URL), invitation tokens, the
parameters of SQL statements (aiosqlite logs them at DEBUG), and
the values of the fields that carry what people type or are called, in the two forms PTB logs
them at DEBUG: the Bot API's JSON as Python dicts ('text': '…') and its objects' reprs
(text='…').
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "<redacted>"
INVITATION = re.compile(r"inv_[A-Za-z0-9_-]+")
# Fields holding what a person typed, their names, button labels, and texts the bot sends (which
# quote comments, consultation titles and invitation links).
_FIELDS = ("text", "caption", "first_name", "last_name", "username", "title", "description",
           "query", "data", "name", "bio", "url", "callback_data", "phone_number", "address",
           "file_name")
_QUOTED = r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_FIELD_VALUE = re.compile(
    rf"""(?P<key>(?P<q>['"])(?:{'|'.join(_FIELDS)})(?P=q)\s*:\s*|\b(?:{'|'.join(_FIELDS)})=)"""
    rf"{_QUOTED}")


# aiosqlite logs each statement with its parameters at DEBUG: the statement stays, they go.
_SQL_PARAMETERS = re.compile(r"""(?P<sql>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"), [(\[].*""",
                             re.DOTALL)


class Redactor(logging.Filter):
    """Rewrites a record's message (and traceback) without the secrets and personal texts."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = INVITATION.sub("inv_" + REDACTED, text)
        return _FIELD_VALUE.sub(lambda m: m["key"] + repr(REDACTED), text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.name.startswith("aiosqlite"):
            message = _SQL_PARAMETERS.sub(lambda m: m["sql"] + ", <parameters redacted>)", message)
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def redact_handler(handler: logging.Handler, secrets: Iterable[str] = ()) -> logging.Handler:
    """Install the redacting filter on ``handler`` (once) and return it."""
    if not any(isinstance(f, Redactor) for f in handler.filters):
        handler.addFilter(Redactor(secrets))
    return handler


def configure(level: str, secrets: Iterable[str] = ()) -> None:
    """The process's logging: one line per record, every handler redacting."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    secrets = tuple(secrets)
    for handler in logging.getLogger().handlers:
        redact_handler(handler, secrets)
