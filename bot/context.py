"""The callback context handlers receive: PTB's, plus the services built at start-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram.ext import Application, CallbackContext, ExtBot

from bot.broadcasting import Broadcaster
from bot.i18n import Catalogs
from bot.summaries import SummaryService
from bot.turns import Turns
from bot.workers import WorkerIdentity
from conversations.model import Questionnaire
from storage import Database

SERVICES = "baraza.services"

# Called when a consultation opens or closes on schedule: (application, consultation id, verb).
StatusListener = Callable[[Application, int, str], Awaitable[None]]


@dataclass(frozen=True)
class Services:
    """What handlers may use: repositories behind ``turns``, never a connection or SQL."""

    turns: Turns
    catalogs: Catalogs
    status_listeners: tuple[StatusListener, ...] = ()
    # Sends broadcasts in this process; None when a sender process of its own does (bot/sender.py).
    broadcaster: Broadcaster | None = None
    summaries: SummaryService | None = None  # summaries for officials; built in post_init
    worker: WorkerIdentity = field(default_factory=WorkerIdentity)  # this process among workers

    @property
    def questionnaire(self) -> Questionnaire:
        return self.turns.flow.questionnaire

    @property
    def db(self) -> Database:
        """The repositories (never a connection or SQL)."""
        return self.turns.db

    def send_broadcast(self, broadcast_id: int) -> None:
        """Send (or finish) a broadcast now, unless a sender process takes it (within a second)."""
        if self.broadcaster is not None:
            self.broadcaster.launch(broadcast_id)


class BarazaContext(CallbackContext[ExtBot[None], dict, dict, dict]):
    """CallbackContext with typed access to Baraza's services; one per update."""

    def __init__(self, application: Application, chat_id: int | None = None,
                 user_id: int | None = None) -> None:
        super().__init__(application, chat_id, user_id)  # type: ignore[arg-type]
        self.answered_callback = False  # see bot/handlers/replies.py

    @property
    def services(self) -> Services:
        return self.bot_data[SERVICES]

