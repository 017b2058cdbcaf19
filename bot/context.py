"""The callback context handlers receive: PTB's, plus the services built at start-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Catalogs
from bot.turns import Turns
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

    @property
    def questionnaire(self) -> Questionnaire:
        return self.turns.flow.questionnaire

    @property
    def db(self) -> Database:
        """The repositories (never a connection or SQL)."""
        return self.turns.db


class BarazaContext(CallbackContext[ExtBot[None], dict, dict, dict]):
    """CallbackContext with typed access to Baraza's services."""

    @property
    def services(self) -> Services:
        return self.bot_data[SERVICES]


BarazaApplication = Application[ExtBot[None], BarazaContext, dict, dict, dict, object]
