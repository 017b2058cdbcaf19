"""Serving updates over HTTP: Telegram POSTs each update, and hears back only once it is handled.

Our own small aiohttp server, not PTB's ``Application.run_webhook``: PTB's tornado handler puts
the update on ``update_queue`` and answers 200 at once, before any handler ran, so a worker
killed mid-update would lose it (and tornado would be one more dependency; aiohttp is already
one). Here the POST is answered 200 only after the update went through the application's update
processor (one user's updates in order) and its handlers returned, their transaction committed;
500 when a handler failed (a database error, a network error), so that Telegram delivers it
again. A redelivery is harmless: the update's claim, committed with its effects, makes the
second run a no-op.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application

from bot.runtime import started
from bot.config import ConfigError, WebhookSettings
from bot.context import SERVICES, BarazaContext, Services
from storage.schema import load_migrations

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
# The same kinds of update the bot asks for when polling.
ALLOWED_UPDATES = ["message", "callback_query"]

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    """Whether this worker can serve: its database answers and has the schema this code expects."""

    ok: bool
    reason: str
    schema: int | None
    expected_schema: int

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "unavailable", "reason": self.reason,
                "schema": self.schema, "expected_schema": self.expected_schema}


class WebhookServer:
    """The HTTP side of one worker: the webhook's path, answered after handling, and /healthz."""

    def __init__(self, application: Application, webhook: WebhookSettings, *,
                 health_timeout: float = 5.0, shutdown_timeout: float = 30.0) -> None:
        self._application = application
        self._webhook = webhook
        self._secret = webhook.secret.encode()
        self._expected_schema = len(load_migrations())
        self._health_timeout = health_timeout
        self._shutdown_timeout = shutdown_timeout
        # Updates being handled here (by object id) -> whether a handler of theirs failed.
        self._failed: dict[int, bool] = {}
        self._stopping = False
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port actually listened on."""
        assert self._runner is not None, "the webhook server is not started"
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        """Listen on the configured host and port."""
        app = web.Application()
        app.router.add_post(self._webhook.path, self._receive)
        app.router.add_get(HEALTH_PATH, self._healthz)
        self._application.add_error_handler(self._note_failure)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=self._shutdown_timeout)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self._webhook.host, self._webhook.port).start()
        except OSError as error:
            await self._runner.cleanup()
            raise ConfigError(f"BARAZA_LISTEN: cannot listen on {self._webhook.host}:"
                              f"{self._webhook.port}: {os.strerror(error.errno) if error.errno else error}"
                              ) from error
        _logger.info("Serving webhook %s on %s:%s", self._webhook.path, self._webhook.host, self.port)

    async def stop(self) -> None:
        """Stop listening once the updates being handled are done (up to the shutdown timeout)."""
        self._stopping = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._application.remove_error_handler(self._note_failure)

    async def health(self) -> Health:
        """Reachable database at the schema this code expects; False while starting or stopping."""
        expected = self._expected_schema
        services: Services | None = self._application.bot_data.get(SERVICES)
        if self._stopping or services is None:
            return Health(False, "stopping" if self._stopping else "starting", None, expected)
        try:
            async with asyncio.timeout(self._health_timeout):
                version = await services.db.schema_version()
        except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
            _logger.warning("Health check: the database did not answer: %r", error)
            return Health(False, "database unreachable", None, expected)
        if version != expected:
            return Health(False, "migrations not current", version, expected)
        return Health(True, "database reachable, migrations current", version, expected)

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            _logger.warning("Refused a webhook request from %s: wrong or missing secret token",
                            request.remote)
            return web.Response(status=403)
        try:
            update = Update.de_json(await request.json(), self._application.bot)
        except Exception:  # noqa: BLE001 - whatever the body is, it is not an update
            _logger.warning("Refused a webhook request from %s: not an update", request.remote,
                            exc_info=True)
            return web.Response(status=400)
        if await self._handle(update):
            return web.Response(status=200)
        return web.Response(status=500)

    async def _handle(self, update: Update) -> bool:
        """Run the update as polling would (through the update processor); True if it went well."""
        key = id(update)
        self._failed[key] = False
        try:
            processor = self._application.update_processor
            await processor.process_update(update, self._application.process_update(update))
            return not self._failed[key]
        except Exception:  # noqa: BLE001 - answered 500, so Telegram delivers it again
            _logger.exception("Could not process update %s", update.update_id)
            return False
        finally:
            del self._failed[key]

    async def _note_failure(self, update: object, context: BarazaContext) -> None:
        """Error handler: a handler of an update served here failed, so its POST answers 500.

        Except when Telegram refused a call (400, or 403: the user blocked the bot): it would
        refuse it again at every redelivery, as it does a redelivered button's second answer.
        """
        if id(update) in self._failed and not isinstance(context.error, (BadRequest, Forbidden)):
            self._failed[id(update)] = True

    async def _healthz(self, request: web.Request) -> web.Response:
        health = await self.health()
        return web.json_response(health.as_json(), status=200 if health.ok else 503)


@asynccontextmanager
async def serving(application: Application, webhook: WebhookSettings) -> AsyncIterator[WebhookServer]:
    """Run the bot on its webhook inside an event loop someone else owns.

    The Application's own steps as for polling (``bot.application.started``); the server listens
    before the webhook is registered, and stops (finishing the updates in hand) before the
    Application does. The webhook stays registered on the way out: other workers go on serving
    it, and Telegram keeps what arrives meanwhile for when one is back.
    """
    server = WebhookServer(application, webhook)
    async with started(application):
        await server.start()
        try:
            try:
                # Idempotent: every worker registers the same webhook at start.
                await application.bot.set_webhook(webhook.url, secret_token=webhook.secret,
                                                  allowed_updates=ALLOWED_UPDATES)
            except BadRequest as error:
                raise ConfigError(f"BARAZA_WEBHOOK_URL: Telegram refused the webhook: "
                                  f"{error.message}") from error
            yield server
        finally:
            await server.stop()


def run_webhook(application: Application, webhook: WebhookSettings) -> None:
    """Serve the webhook until SIGINT or SIGTERM, then shut down cleanly."""
    asyncio.run(_serve_until_signalled(application, webhook))


async def _serve_until_signalled(application: Application, webhook: WebhookSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with serving(application, webhook):
        await stop.wait()
    _logger.info("Stopped serving the webhook")
