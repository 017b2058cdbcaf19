"""Outages: Telegram out of reach for a while, so a test can see what a bot does meanwhile."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus

from aiohttp import web

from .errors import ApiError


class Outage:
    """Requests to the failing methods fail undone until healed.

    Either Telegram answers with a server error (``status``: 502 Bad Gateway is what its front end
    says while the Bot API server behind it is down), or, with ``status=None``, the connection is
    closed without any answer, as a broken network leaves it.
    """

    def __init__(self) -> None:
        self._methods: frozenset[str] | None = frozenset()  # None: every method
        self._status: int | None = None
        self.failed = 0  # requests failed so far

    def fail(self, methods: Iterable[str], status: int | None) -> None:
        """Fail every later request to these methods (names as in the Bot API, any case; none
        named: every method)."""
        if status is not None and not 500 <= status <= 599:
            raise ValueError(f"an outage answers a server error (5xx), not {status}")
        named = frozenset(method.lower() for method in methods)
        self._methods = named or None
        self._status = status

    def heal(self) -> None:
        """Fail nothing more."""
        self._methods = frozenset()

    def affects(self, method: str) -> bool:
        return self._methods is None or method.lower() in self._methods

    def strike(self, request: web.Request) -> ApiError | None:
        """Fail this request: the error to answer, or None once its connection is closed."""
        self.failed += 1
        if self._status is not None:
            return ApiError(self._status, HTTPStatus(self._status).phrase)
        if request.transport is not None:
            request.transport.close()
        return None
