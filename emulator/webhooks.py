"""Webhooks: setWebhook, deleteWebhook, getWebhookInfo, and the POSTs that deliver updates meanwhile.

While a webhook is set, getUpdates answers 409 and every pending update is POSTed as JSON to the
webhook's URL with the secret header. An update counts as delivered only when the POST is answered
2xx; otherwise (an error status, a dropped connection, no answer in time) it is tried again after
a backoff that doubles. As Telegram's Bot API server does, one chat's updates go one at a time and
in order, different chats' concurrently, up to ``max_connections`` requests at once.

Telegram posts to public HTTPS URLs only; tests and a local deployment point ``targets`` at the
workers instead, as a reverse proxy would: each POST goes to the next target in turn, with the
registered URL's path.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .activity import Activity, Pulse
from .errors import ApiError, bad_request
from .settings import Handler
from .updates import UpdateQueue
from .wire import DecodedRequest

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_DEFAULT_MAX_CONNECTIONS = 40

ChatOf = Callable[[dict[str, Any]], "int | None"]


@dataclass(frozen=True)
class Registration:
    """What setWebhook registered."""

    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: tuple[str, ...] | None


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of an update: where it went and its answer (status None: none came)."""

    update_id: int
    url: str
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the POST was answered 2xx, which confirms the update."""
        return self.status is not None and 200 <= self.status < 300


class Webhook:
    """The webhook's registration and the deliveries it drives."""

    def __init__(
        self,
        updates: UpdateQueue,
        activity: Activity,
        pulse: Pulse,
        chat_of: ChatOf,
        *,
        targets: Sequence[str] = (),
        timeout: float = 60.0,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
        history: int = 10_000,
    ) -> None:
        self.targets: list[str] = list(targets)
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.attempts: deque[WebhookAttempt] = deque(maxlen=history)
        self.registration: Registration | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self._updates = updates
        self._activity = activity
        self._pulse = pulse
        self._chat_of = chat_of
        self._turn = itertools.count()
        self._serving = False
        self._session: aiohttp.ClientSession | None = None
        self._scheduler: asyncio.Task[None] | None = None
        self._deliveries: dict[int, asyncio.Task[None]] = {}
        self.handlers: dict[str, Handler] = {
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
        }

    @property
    def active(self) -> bool:
        """Whether a webhook is set (getUpdates then answers 409)."""
        return self.registration is not None

    def conflict(self) -> ApiError:
        """What getUpdates answers while a webhook is set."""
        return ApiError(409, WEBHOOK_CONFLICT)

    # -- lifecycle, with the emulator's server ---------------------------------------------------

    def start(self) -> None:
        """The emulator listens: deliver, if a webhook is set."""
        self._serving = True
        self._deliver_when_set()

    async def stop(self) -> None:
        """The emulator stops: POSTs in flight are abandoned; their updates stay pending."""
        self._serving = False
        await self._stop_delivering()

    # -- the Bot API methods ---------------------------------------------------------------------

    async def set_webhook(self, request: DecodedRequest) -> bool:
        """setWebhook: checked as Telegram checks it; setting the same webhook again changes nothing."""
        params = request.params
        url = str(params.get("url") or "").strip()
        if not url:  # "an empty string to remove webhook integration"
            await self._delete(params.get("drop_pending_updates") is True)
            return True
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        try:
            port = parts.port or 443
        except ValueError:
            raise bad_request("bad webhook: Failed to resolve host: Wrong port number specified") from None
        if port not in WEBHOOK_PORTS:
            raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        secret = None if secret in (None, "") else str(secret)
        if secret is not None and not _SECRET.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        self._updates.allow(allowed)
        previous = self.registration
        kept = previous.allowed_updates if previous is not None else None
        registration = Registration(
            url,
            secret,
            max(1, min(100, _as_int(params.get("max_connections"), _DEFAULT_MAX_CONNECTIONS))),
            tuple(allowed) if isinstance(allowed, list) else kept,
        )
        if params.get("drop_pending_updates") is True:
            self._updates.drop_all()
        if registration != previous:
            # Deliveries in flight go on; their next attempt reads the new registration.
            self.registration = registration
            self._updates.end_polls()
            self._deliver_when_set()
        return True

    async def delete_webhook(self, request: DecodedRequest) -> bool:
        """deleteWebhook: back to getUpdates; optionally drops pending updates."""
        await self._delete(request.params.get("drop_pending_updates") is True)
        return True

    async def get_webhook_info(self, request: DecodedRequest) -> dict[str, Any]:
        """getWebhookInfo: the registration, how many updates wait, and the last delivery error."""
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": self._updates.pending_count(),
        }
        registration = self.registration
        if registration is not None:
            info["url"] = registration.url
            info["max_connections"] = registration.max_connections
            if registration.allowed_updates is not None:
                info["allowed_updates"] = list(registration.allowed_updates)
            if self.last_error_date is not None:
                info["last_error_date"] = self.last_error_date
                info["last_error_message"] = self.last_error_message
        return info

    async def _delete(self, drop_pending: bool) -> None:
        if drop_pending:
            self._updates.drop_all()
        self.registration = None
        self.last_error_date = self.last_error_message = None
        await self._stop_delivering()

    # -- delivery --------------------------------------------------------------------------------

    def _deliver_when_set(self) -> None:
        if self._serving and self.registration is not None and self._scheduler is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
            self._scheduler = asyncio.create_task(self._schedule(), name="emulator webhook")

    async def _stop_delivering(self) -> None:
        tasks = [task for task in (self._scheduler, *self._deliveries.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._scheduler = None
        self._deliveries.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _schedule(self) -> None:
        """Start a delivery for every update whose turn it is, whenever anything changes."""
        while True:
            self._start_due()
            await self._pulse.wait(1.0)

    def _start_due(self) -> None:
        registration = self.registration
        if registration is None:
            return
        waiting_chats: set[int] = set()  # chats with an older update not yet delivered
        for update in self._updates.pending_updates():
            update_id = update["update_id"]
            chat_id = self._chat_of(update)
            first_of_chat = chat_id is None or chat_id not in waiting_chats
            if chat_id is not None:
                waiting_chats.add(chat_id)
            if update_id in self._deliveries or not first_of_chat:
                continue
            if len(self._deliveries) >= registration.max_connections:
                return
            task = asyncio.create_task(self._deliver(update, chat_id), name=f"webhook {update_id}")
            self._deliveries[update_id] = task
            task.add_done_callback(lambda _, key=update_id: self._finished(key))

    def _finished(self, update_id: int) -> None:
        self._deliveries.pop(update_id, None)
        self._pulse.fire()

    async def _deliver(self, update: dict[str, Any], chat_id: int | None) -> None:
        """POST the update until a worker answers 2xx, waiting longer after each failure."""
        delay = self.backoff
        while (registration := self.registration) is not None:
            url = self._target(registration.url)
            attempt = await self._post(url, update, registration.secret_token, chat_id)
            self.attempts.append(attempt)
            if attempt.ok:
                self._updates.acknowledge(update["update_id"])
                return
            self.last_error_date = int(time.time())
            self.last_error_message = attempt.error
            self._pulse.fire()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_backoff)

    async def _post(
        self, url: str, update: dict[str, Any], secret: str | None, chat_id: int | None
    ) -> WebhookAttempt:
        assert self._session is not None
        update_id = update["update_id"]
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        with self._activity.request(chat_id):
            try:
                async with self._session.post(url, json=update, headers=headers) as response:
                    await response.read()
            except TimeoutError:
                return WebhookAttempt(update_id, url, None, "Read timeout expired")
            except aiohttp.ClientError as error:
                return WebhookAttempt(update_id, url, None, f"Connection failed: {error}")
        if 200 <= response.status < 300:
            return WebhookAttempt(update_id, url, response.status)
        return WebhookAttempt(
            update_id,
            url,
            response.status,
            f"Wrong response from the webhook: {response.status} {response.reason}",
        )

    def _target(self, url: str) -> str:
        """The registered URL, or its path on the next target (round-robin, as a proxy spreads)."""
        if not self.targets:
            return url
        parts = urlsplit(url)
        target = self.targets[next(self._turn) % len(self.targets)].rstrip("/")
        return target + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _as_int(value: Any, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request("wrong parameter value") from None
