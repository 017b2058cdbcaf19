"""Settings from the environment, checked once at start-up."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.traffic import PAID_BULK_RATE
from conversations.loader import DEFAULT_QUESTIONNAIRE
from storage.postgresql import is_postgres_url

TELEGRAM_API_URL = "https://api.telegram.org"
# Telegram's bulk limit without paying (its Bot FAQ); bot/traffic.py has the paid one.
FREE_BULK_RATE = 30.0


class Sender(Enum):
    """Which process sends the broadcasts (README, "Traffic")."""

    INLINE = "inline"  # the process that answers people, between their updates
    PROCESS = "process"  # a process of its own beside it, so bulk never takes the replies' CPU


class ConfigError(ValueError):
    """A setting is missing or malformed; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    token: str = field(repr=False)  # a secret, like the pseudonym key: never in a log or repr
    api_url: str = TELEGRAM_API_URL
    # An SQLite file, or a PostgreSQL URL (a str; it may hold a password, so no repr shows it).
    database: Path | str = field(default=Path("baraza.db"), repr=False)
    moderators: frozenset[int] = frozenset()
    questionnaire: Path = DEFAULT_QUESTIONNAIRE
    # Telegram's limit on bulk notifications (broadcasts, digests): bot/traffic.py paces calls
    # marked Traffic.BULK at this rate. Tests against the emulator may raise it.
    messages_per_second: float = FREE_BULK_RATE
    # Telegram's limit on messages into one chat, with short bursts of chat_burst (every call).
    chat_messages_per_second: float = 1.0
    chat_burst: int = 3
    # Broadcasts with allow_paid_broadcast: up to 1000 messages a second, paid in Telegram Stars.
    paid_broadcast: bool = False
    # Which process sends broadcasts; None: a process of its own when paid (``broadcast_sender``).
    sender: Sender | None = None
    # Summaries withhold any group with fewer finished respondents than this.
    # A group is shown only with more respondents than this (so a member who takes their own
    # answers out of the mean still faces at least this many others).
    min_group: int = 5
    # Keys the pseudonyms in answer exports; None: a key generated once and kept in the database.
    pseudonym_key: bytes | None = field(default=None, repr=False)
    # What moderators type (/schedule) and everyone reads as times: an IANA zone.
    timezone: tzinfo = UTC
    # Answers of consultations closed longer than this are unlinked from Telegram ids.
    retention_days: int = 365
    # Someone who never consented is forgotten after this many days without writing.
    unconsented_days: int = 30
    # Serve updates over HTTP (Telegram POSTs them) instead of long polling; None: poll.
    webhook: WebhookSettings | None = None

    @property
    def base_url(self) -> str:
        """PTB's base_url: it appends ``{token}/{method}`` (``{api_url}/bot{token}/{method}``)."""
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_url}/file/bot"

    @property
    def bulk_rate(self) -> float:
        """Broadcasts' messages a second, for all workers together: Telegram's paid rate if paid."""
        return PAID_BULK_RATE if self.paid_broadcast else self.messages_per_second

    @property
    def broadcast_sender(self) -> Sender:
        """The process that sends broadcasts: a process of its own for paid broadcasts.

        At Telegram's free 30 a second the sends take a few percent of a core, and the process
        answering people sends them between its replies; at the paid rates, hundreds a second,
        they would keep its event loop busy most of the time, and every reply would wait its
        turn (bench/traffic.py, section 2).
        """
        if self.sender is not None:
            return self.sender
        return Sender.PROCESS if self.paid_broadcast else Sender.INLINE

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, require_token: bool = True) -> Settings:
        env = os.environ if env is None else env
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if require_token and not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set: give the token from @BotFather "
                              "(or try `baraza sandbox`, which needs none)")
        if token and (":" not in token or not token.split(":", 1)[0].isdigit()):
            raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token "
                              "(expected digits, a colon, then the secret)")
        api_url = env.get("TELEGRAM_API_URL", "").strip().rstrip("/") or TELEGRAM_API_URL
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"TELEGRAM_API_URL must start with http:// or https://, got {api_url!r}")
        moderators = set()
        for part in env.get("BARAZA_MODERATORS", "").split(","):
            if part.strip():
                if not part.strip().isdigit():
                    raise ConfigError(f"BARAZA_MODERATORS must list Telegram user ids separated "
                                      f"by commas; {part.strip()!r} is not one")
                moderators.add(int(part))
        return cls(
            token=token,
            api_url=api_url,
            database=_database(env.get("BARAZA_DB", "").strip()),
            moderators=frozenset(moderators),
            questionnaire=Path(env.get("BARAZA_QUESTIONNAIRE", "").strip() or DEFAULT_QUESTIONNAIRE),
            paid_broadcast=_paid_broadcast(env.get("BARAZA_PAID_BROADCAST", "").strip()),
            sender=_sender(env.get("BARAZA_SENDER", "").strip()),
            chat_messages_per_second=_chat_rate(env.get("BARAZA_CHAT_RATE", "").strip()),
            min_group=_min_group(env.get("BARAZA_MIN_GROUP", "").strip()),
            pseudonym_key=_pseudonym_key(env.get("BARAZA_PSEUDONYM_KEY", "").strip()),
            timezone=_timezone(env.get("BARAZA_TIMEZONE", "").strip()),
            retention_days=_days("BARAZA_RETENTION_DAYS", env, Settings.retention_days),
            unconsented_days=_days("BARAZA_UNCONSENTED_DAYS", env, Settings.unconsented_days),
            webhook=_webhook(env),
        )


def _database(text: str) -> Path | str:
    if not text:
        return Path("baraza.db")
    if is_postgres_url(text):
        parts = urlsplit(text)
        try:
            _ = parts.port  # a malformed port raises here
        except ValueError:
            raise ConfigError("BARAZA_DB is not a well-formed PostgreSQL URL "
                              "(postgresql://user:password@host:port/dbname)") from None
        if not parts.path.strip("/"):
            raise ConfigError("BARAZA_DB must name the database: "
                              "postgresql://user:password@host:port/dbname")
        return text
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise ConfigError(f"BARAZA_DB must be an SQLite file or a postgresql:// URL, "
                          f"not a {scheme}:// URL")
    return Path(text)


def _min_group(text: str) -> int:
    if not text:
        return Settings.min_group
    if not (text.isascii() and text.isdigit()) or int(text) < 2:
        raise ConfigError(f"BARAZA_MIN_GROUP must be a whole number of at least 2 (summaries show a "
                          f"group only when a member, taking their own answers out, is still left "
                          f"with that many others), got {text!r}")
    return int(text)


def _timezone(text: str) -> tzinfo:
    if not text or text.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"BARAZA_TIMEZONE must be an IANA time zone such as Africa/Nairobi or "
                          f"Europe/Paris, got {text!r}") from None


def _pseudonym_key(text: str) -> bytes | None:
    if not text:
        return None
    if len(text) < 16:
        raise ConfigError("BARAZA_PSEUDONYM_KEY is too short: use at least 16 characters "
                          "(for example the output of `openssl rand -hex 32`)")
    return text.encode()


def _chat_rate(text: str) -> float:
    if not text:
        return Settings.chat_messages_per_second
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not rate > 0 or math.isinf(rate):
        raise ConfigError(f"BARAZA_CHAT_RATE must be a positive number of messages a second into "
                          f"one chat (Telegram allows about 1), got {text!r}")
    return rate


def _paid_broadcast(text: str) -> bool:
    if text not in ("", "0", "1"):
        raise ConfigError(f"BARAZA_PAID_BROADCAST must be 1 (pay for faster broadcasts) or 0, "
                          f"got {text!r}")
    return text == "1"


def _sender(text: str) -> Sender | None:
    if not text:
        return None
    try:
        return Sender(text.lower())
    except ValueError:
        raise ConfigError(f"BARAZA_SENDER must be 'inline' (broadcasts sent by the process that "
                          f"answers people) or 'process' (by a process of its own), got "
                          f"{text!r}") from None


def _days(name: str, env: Mapping[str, str], default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 36500:
        raise ConfigError(f"{name} must be a whole number of days from 1 to 36500, got {text!r}")
    return int(text)
# Telegram posts webhooks only to these ports; a secret token is 1-256 of these characters.
WEBHOOK_PORTS = (443, 80, 88, 8443)
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class WebhookSettings:
    """Where Telegram posts updates, where this process listens, and the secret that proves it."""

    url: str  # the public HTTPS URL registered with setWebhook
    host: str  # the address this process listens on (behind the TLS-terminating proxy)
    port: int
    secret: str = field(repr=False)  # sent as secret_token; Telegram echoes it in a header

    @property
    def path(self) -> str:
        """The URL's path, which this process serves (a proxy passes it through unchanged)."""
        return urlsplit(self.url).path or "/"


def _webhook(env: Mapping[str, str]) -> WebhookSettings | None:
    url = env.get("BARAZA_WEBHOOK_URL", "").strip()
    listen = env.get("BARAZA_LISTEN", "").strip()
    secret = env.get("BARAZA_WEBHOOK_SECRET", "").strip()
    if not url:
        for name, value in (("BARAZA_LISTEN", listen), ("BARAZA_WEBHOOK_SECRET", secret)):
            if value:
                raise ConfigError(f"{name} is set but BARAZA_WEBHOOK_URL is not: set the webhook's "
                                  f"public URL too, or neither to long-poll")
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"BARAZA_WEBHOOK_URL must be the public https:// URL Telegram posts "
                          f"updates to, got {url!r}")
    try:
        port = parts.port or 443
    except ValueError:
        raise ConfigError(f"BARAZA_WEBHOOK_URL has a malformed port: {url!r}") from None
    if port not in WEBHOOK_PORTS:
        raise ConfigError(f"BARAZA_WEBHOOK_URL must use port 443, 80, 88 or 8443 (the only ports "
                          f"Telegram posts to), got {port}")
    if parts.query or parts.fragment:
        raise ConfigError(f"BARAZA_WEBHOOK_URL must not have a query or fragment, got {url!r}")
    if (parts.path or "/") == "/healthz":
        raise ConfigError("BARAZA_WEBHOOK_URL must not end in /healthz: that path is the "
                          "health check")
    if not listen:
        raise ConfigError("BARAZA_LISTEN is not set: give the host:port this process listens on "
                          "for webhooks (for example 0.0.0.0:8080 behind the TLS proxy)")
    host, listen_port = _listen(listen)
    if not secret:
        raise ConfigError("BARAZA_WEBHOOK_SECRET is not set: webhooks need a secret so that "
                          "only Telegram can post updates (for example `openssl rand -hex 32`)")
    if not _WEBHOOK_SECRET.fullmatch(secret):
        raise ConfigError("BARAZA_WEBHOOK_SECRET must be 1 to 256 characters, each a letter "
                          "A-Z or a-z, a digit, _ or - (as Telegram requires)")
    return WebhookSettings(url=url, host=host, port=listen_port, secret=secret)


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")  # [::]:8080 for IPv6
    if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ConfigError(f"BARAZA_LISTEN must be host:port (for example 0.0.0.0:8080), "
                          f"got {text!r}")
    return host, int(port)
