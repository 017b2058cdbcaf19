"""Timestamps as ISO-8601 UTC strings, taken from a clock that tests can replace."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def timestamp(clock: Clock) -> str:
    """The clock's time as a fixed-width ISO-8601 UTC string, so text order is time order."""
    return clock().astimezone(UTC).isoformat(timespec="microseconds")
