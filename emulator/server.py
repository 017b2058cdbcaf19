"""The emulator itself: an aiohttp server speaking the Bot API, plus the hooks tests drive it with."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from . import persistence
from .activity import Activity, Pulse
from .chats import ChatState
from .control import add_control_routes
from .errors import NOT_FOUND, UNAUTHORIZED, ApiError, too_many_requests
from .faults import Outage
from .files import FileStore
from .hold import RequestHold
from .methods import BotApi
from .models import ApiCall, EmulatorStats, RejectedRequest
from .payloads import Profile, chat_object, user_object
from .ratelimit import RATE_LIMITED_METHODS, RateLimit, RateLimiter, Refusal
from .settings import command_key
from .settling import IdleProbe, Settler
from .updates import UpdateQueue, update_type
from .webhooks import Webhook, WebhookAttempt
from .user import EmulatedUser
from .wire import DecodedRequest, decode_request, loggable

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_MAX_UPLOAD = 50 * 1024 * 1024 + 64 * 1024  # Telegram's 50 MB upload limit plus room for the form around it


class BotApiEmulator:
    """A local api.telegram.org: run a real bot against it and act as its users."""

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        username: str = "baraza_test_bot",
        first_name: str = "Baraza",
        rate_limit: RateLimit | None = None,
        idle_probe: IdleProbe | None = None,
        quiet: float = 0.15,
        timeout: float = 10.0,
        host: str = "127.0.0.1",
        port: int = 0,
        history: int = 10_000,
        webhook_targets: Sequence[str] = (),
    ) -> None:
        if not _TOKEN.fullmatch(token):
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.timeout = timeout
        self.stats = EmulatorStats()
        self.errors: list[RejectedRequest] = []
        self.calls: deque[ApiCall] = deque(maxlen=history)
        self._host = host
        self._port = port
        self._pulse = Pulse()
        self._activity = Activity(self._pulse)
        self._updates = UpdateQueue(self._pulse)
        self._settler = Settler(self._updates, self._activity, self._pulse, quiet)
        self._settler.probe = idle_probe
        bot_user = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._files = FileStore()
        self._api = BotApi(bot_user, self._updates, self._files, self.stats)
        self._webhook = Webhook(
            self._updates, self._activity, self._pulse, _update_chat, targets=webhook_targets, history=history
        )
        self._api.handlers.update(self._webhook.handlers)
        self._limiter = RateLimiter(rate_limit, time.monotonic) if rate_limit else None
        self._hold = RequestHold()
        self._outage = Outage()
        self._users: dict[int, EmulatedUser] = {}
        self._runner: web.AppRunner | None = None
        self._api_root: str | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one); after stop(), start() again reuses the port."""
        self._updates.reopen()
        app = web.Application(client_max_size=_MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        add_control_routes(app, self)
        # Dropping a request when its client disconnects is what Telegram does with an abandoned long poll.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        host, self._port = self._runner.addresses[0][:2]
        self._api_root = f"http://{host}:{self._port}"
        self._webhook.start()
        logger.info("Bot API emulator listening on %s", self._api_root)

    async def stop(self) -> None:
        """Close the server (pending long polls return empty); chats and updates are kept for a restart."""
        if self._runner is not None:
            await self._webhook.stop()
            self._updates.close()
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def api_root(self) -> str:
        """The root URL, "http://127.0.0.1:PORT", once started."""
        if self._api_root is None:
            raise RuntimeError("the emulator is not started")
        return self._api_root

    @property
    def base_url(self) -> str:
        """What to pass to ApplicationBuilder().base_url()."""
        return f"{self.api_root}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass to ApplicationBuilder().base_file_url()."""
        return f"{self.api_root}/file/bot"

    @property
    def idle_probe(self) -> IdleProbe | None:
        """`probe(update_id) -> bool`: True once the in-process bot finished that update."""
        return self._settler.probe

    @idle_probe.setter
    def idle_probe(self, probe: IdleProbe | None) -> None:
        # Settable after start(): the probe usually belongs to an Application built with api_root.
        self._settler.probe = probe

    @property
    def quiet(self) -> float:
        """Without a probe: how long the bot must leave a chat alone before it counts as settled."""
        return self._settler.quiet

    @quiet.setter
    def quiet(self, seconds: float) -> None:
        self._settler.quiet = seconds

    @property
    def webhook_targets(self) -> list[str]:
        """Where webhook POSTs go instead of the registered URL's host (round-robin), as a
        reverse proxy in front of the workers would send them: e.g. ["http://127.0.0.1:8081"]."""
        return self._webhook.targets

    @webhook_targets.setter
    def webhook_targets(self, targets: Sequence[str]) -> None:
        self._webhook.targets = list(targets)

    @property
    def webhook_attempts(self) -> list[WebhookAttempt]:
        """Every webhook POST so far, oldest first, with its answer."""
        return list(self._webhook.attempts)

    @property
    def webhook_backoff(self) -> tuple[float, float]:
        """Seconds before the first retry of a failed webhook POST, and the most it doubles to."""
        return self._webhook.backoff, self._webhook.max_backoff

    @webhook_backoff.setter
    def webhook_backoff(self, seconds: tuple[float, float]) -> None:
        self._webhook.backoff, self._webhook.max_backoff = seconds

    @property
    def bot_user(self) -> dict[str, Any]:
        """The User object getMe returns."""
        return dict(self._api.bot_user)

    # -- people and their chats ------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> EmulatedUser:
        """The simulated person with this id (created on first call); their private chat has the same id."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        if user_id <= 0:
            raise ValueError("user ids are positive")
        chat = ChatState(Profile(user_id, first_name, last_name, username, language_code))
        self._api.chats[user_id] = chat
        user = EmulatedUser(self, chat)
        self._users[user_id] = user
        return user

    # -- continuity across restarts --------------------------------------------------------------

    def save_state(self, path: Path) -> None:
        """Write update numbering, message numbering and every chat to ``path`` (JSON)."""
        persistence.save(path, self._updates.next_id, self._api.chats)

    def load_state(self, path: Path, *, next_update_id: int = 1) -> None:
        """Continue from a ``save_state`` file, if there is one: ids keep growing, chats keep
        their messages. ``next_update_id`` is a floor (say, one past the last id a bot stored)."""
        saved_next, chats = persistence.load(path)
        self.continue_updates_from(max(saved_next, next_update_id))
        for chat in chats:
            self._api.chats[chat.chat_id] = chat
            self._users[chat.chat_id] = EmulatedUser(self, chat)

    def continue_updates_from(self, next_update_id: int) -> None:
        """Number later updates from ``next_update_id`` on (they never go back)."""
        self._updates.continue_from(next_update_id)

    def block(self, user_id: int, *, notify: bool = True) -> None:
        """The user blocks the bot: sends and edits to them now fail with 403."""
        self._set_blocked(user_id, True, notify)

    def unblock(self, user_id: int, *, notify: bool = True) -> None:
        """The user unblocks the bot."""
        self._set_blocked(user_id, False, notify)

    def _set_blocked(self, user_id: int, blocked: bool, notify: bool) -> None:
        chat = self._chat(user_id)
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        chat.note(f"({chat.profile.display_name} {'blocked' if blocked else 'unblocked'} the bot)")
        if notify:  # Telegram tells the bot with a my_chat_member update
            old, new = ("member", "kicked") if blocked else ("kicked", "member")
            bot = self._api.bot_user
            self.push_update(
                {
                    "my_chat_member": {
                        "chat": chat_object(chat.profile),
                        "from": user_object(chat.profile),
                        "date": int(time.time()),
                        "old_chat_member": _member(old, bot),
                        "new_chat_member": _member(new, bot),
                    }
                }
            )

    def hold(self, *methods: str) -> None:
        """Stall the network: requests to these methods hang, undone, until release()."""
        self._hold.hold(methods)

    def release(self) -> None:
        """End a hold: the requests it parked go on (those whose client left are gone)."""
        self._hold.release()

    @property
    def held_requests(self) -> int:
        """How many requests are parked by a hold right now."""
        return self._hold.waiting

    def fail(self, *methods: str, status: int | None = 502) -> None:
        """An outage: requests to these methods (none named: to every method) fail undone,
        answered ``status`` (a 5xx) or, with None, their connection closed unanswered, until
        heal()."""
        self._outage.fail(methods, status)

    def heal(self) -> None:
        """End an outage."""
        self._outage.heal()

    def throttle(self, chat_id: int | None, seconds: float) -> None:
        """Flood control: for ``seconds``, answer 429 to every message into the chat, or with
        None to every bulk message (to chats whose user has not written recently). Needs a
        ``rate_limit``."""
        if self._limiter is None:
            raise RuntimeError("throttle() needs an emulator with a rate_limit")
        self._limiter.block(chat_id, seconds)

    @property
    def refused_by_limit(self) -> dict[Refusal, int]:
        """The 429s answered so far, by the limit that was exceeded."""
        return dict(self._limiter.refused) if self._limiter is not None else {}

    def is_bulk(self, chat_id: int) -> bool:
        """Whether a message to the chat now counts against the bulk limit."""
        return self._limiter is not None and self._limiter.is_bulk(chat_id)

    @property
    def failed_requests(self) -> int:
        """How many requests an outage has failed."""
        return self._outage.failed

    def commands(self, language_code: str | None = None, scope: str = "default") -> list[tuple[str, str]]:
        """The command menu the bot set for this scope type and language, as (command, description)."""
        stored = self._api.settings.commands.get(command_key({"type": scope}, language_code), [])
        return [(item["command"], item["description"]) for item in stored]

    def unanswered_callback_queries(self) -> list[str]:
        """Callback query ids the bot received but never answered."""
        return self._api.unanswered_callback_queries()

    def menu_button(self, chat_id: int) -> dict[str, Any] | None:
        """The menu button setChatMenuButton set for a chat, if any."""
        return self._chat(chat_id).menu_button

    def push_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue any update for the bot (payload without update_id); returns it with its update_id."""
        update = self._updates.push(payload)
        self._settler.track(update["update_id"])
        chat_id = _update_chat(update)
        if self._limiter is not None and chat_id is not None:
            self._limiter.wrote(chat_id)
        return update

    # -- settling --------------------------------------------------------------------------------

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until every queued update was confirmed and handled and the bot went quiet everywhere."""
        await self._settler.settle_all(timeout)

    async def settle_chat(self, chat_id: int, update_id: int | None, timeout: float | None = None) -> None:
        """Wait until the bot fetched `update_id` (if given), finished it, and is done with this chat."""
        chat = self._chat(chat_id)
        await self._settler.settle_chat(
            chat_id, update_id, self.timeout if timeout is None else timeout, chat.transcript
        )

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float, describe: Callable[[], str]
    ) -> None:
        """Wait until `condition()` holds, re-checking whenever the bot does something."""
        deadline = asyncio.get_running_loop().time() + timeout
        await self._settler.wait_until(condition, deadline, describe)

    # -- HTTP ------------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        decoded = await decode_request(request)
        method = request.match_info["method"]
        name = method.lower()
        token = request.match_info["token"]
        if not _TOKEN.fullmatch(token):
            return self._reject(method, decoded, ApiError(404, NOT_FOUND))
        if token != self.token:
            return self._reject(method, decoded, ApiError(401, UNAUTHORIZED))
        handler = self._api.handlers.get(name)
        if handler is None:
            return self._reject(method, decoded, ApiError(404, NOT_FOUND))
        self.stats.requests_per_method[method] += 1
        if self._outage.affects(name):
            error = self._outage.strike(request)
            if error is None:
                return web.Response()  # never written: the connection is closed
            return self._reject(method, decoded, error)
        if name == "getupdates":
            return await self._get_updates(request, method, decoded)
        if self._hold.holds(name):
            await self._hold.wait()
        chat_id = self._api.chat_of(name, decoded.params)
        with self._activity.request(chat_id):
            try:
                if self._limiter is not None and name in RATE_LIMITED_METHODS:
                    retry_after = self._limiter.acquire(chat_id)
                    if retry_after is not None:
                        self.stats.too_many_requests += 1
                        raise too_many_requests(retry_after)
                result = await handler(decoded)
            except ApiError as error:
                return self._reject(method, decoded, error, chat_id)
            except Exception:
                logger.exception("emulator failed on %s", method)
                return self._reject(
                    method, decoded, ApiError(500, "Internal Server Error: emulator bug"), chat_id
                )
        self.calls.append(ApiCall(method, loggable(decoded), chat_id, True))
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, request: web.Request, method: str, decoded: DecodedRequest) -> web.Response:
        if self._webhook.active:
            return self._reject(method, decoded, self._webhook.conflict())
        try:
            updates = await self._api.handlers["getupdates"](decoded)
        except ApiError as error:
            if error.code == 409 and (request.transport is None or request.transport.is_closing()):
                # The superseded poll's client is already gone: nobody sees this 409, so it is no error.
                return web.json_response(error.payload(), status=error.code)
            return self._reject(method, decoded, error)
        for update in updates:
            self._activity.touch(_update_chat(update))
        return web.json_response({"ok": True, "result": updates})

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, UNAUTHORIZED).payload(), status=401)
        stored = self._files.by_path(request.match_info["path"])
        if stored is None or stored.data is None:
            return web.json_response(ApiError(404, NOT_FOUND).payload(), status=404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    def _reject(
        self, method: str, decoded: DecodedRequest, error: ApiError, chat_id: int | None = None
    ) -> web.Response:
        params = loggable(decoded)
        self.errors.append(RejectedRequest(method, error.code, error.description, params))
        self.calls.append(ApiCall(method, params, chat_id, False))
        logger.debug("rejected %s: %s %s", method, error.code, error.description)
        return web.json_response(error.payload(), status=error.code)

    # -- internals for EmulatedUser --------------------------------------------------------------

    def _chat(self, chat_id: int) -> ChatState:
        chat = self._api.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"no user {chat_id}; create one with emulator.user({chat_id})")
        return chat

    @property
    def api(self) -> BotApi:
        """The method implementations and their state (for EmulatedUser)."""
        return self._api

    @property
    def files(self) -> FileStore:
        """Files known by file_id (for EmulatedUser)."""
        return self._files


def _member(status: str, bot_user: dict[str, Any]) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": bot_user}
    if status == "kicked":
        member["until_date"] = 0
    return member


def _update_chat(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to, for activity stamps."""
    body = update.get(update_type(update))
    if not isinstance(body, dict):
        return None
    chat = body.get("chat") or (body.get("message") or {}).get("chat")
    if isinstance(chat, dict):
        return chat.get("id")
    sender = body.get("from")
    return sender.get("id") if isinstance(sender, dict) else None
