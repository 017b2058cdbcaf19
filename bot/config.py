"""Settings from the environment, checked once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from conversations.loader import DEFAULT_QUESTIONNAIRE

TELEGRAM_API_URL = "https://api.telegram.org"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    token: str = field(repr=False)  # a secret, like the pseudonym key: never in a log or repr
    api_url: str = TELEGRAM_API_URL
    database: Path = Path("baraza.db")
    moderators: frozenset[int] = frozenset()
    questionnaire: Path = DEFAULT_QUESTIONNAIRE
    # Telegram's overall limit; PTB's AIORateLimiter counts every call that names a chat,
    # edits included. Tests against the emulator may raise it.
    messages_per_second: float = 30
    # Broadcasts with allow_paid_broadcast: up to 1000 messages a second, paid in Telegram Stars.
    paid_broadcast: bool = False
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

    @property
    def base_url(self) -> str:
        """PTB's base_url: it appends ``{token}/{method}`` (``{api_url}/bot{token}/{method}``)."""
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_url}/file/bot"

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
            database=Path(env.get("BARAZA_DB", "").strip() or "baraza.db"),
            moderators=frozenset(moderators),
            questionnaire=Path(env.get("BARAZA_QUESTIONNAIRE", "").strip() or DEFAULT_QUESTIONNAIRE),
            paid_broadcast=_paid_broadcast(env.get("BARAZA_PAID_BROADCAST", "").strip()),
            min_group=_min_group(env.get("BARAZA_MIN_GROUP", "").strip()),
            pseudonym_key=_pseudonym_key(env.get("BARAZA_PSEUDONYM_KEY", "").strip()),
            timezone=_timezone(env.get("BARAZA_TIMEZONE", "").strip()),
            retention_days=_days("BARAZA_RETENTION_DAYS", env, Settings.retention_days),
            unconsented_days=_days("BARAZA_UNCONSENTED_DAYS", env, Settings.unconsented_days),
        )


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


def _paid_broadcast(text: str) -> bool:
    if text not in ("", "0", "1"):
        raise ConfigError(f"BARAZA_PAID_BROADCAST must be 1 (pay for faster broadcasts) or 0, "
                          f"got {text!r}")
    return text == "1"


def _days(name: str, env: Mapping[str, str], default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 36500:
        raise ConfigError(f"{name} must be a whole number of days from 1 to 36500, got {text!r}")
    return int(text)
