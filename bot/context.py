"""The callback context handlers receive: PTB's, plus the services built at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Catalogs
from bot.turns import Turns
from conversations.model import Questionnaire

SERVICES = "baraza.services"


@dataclass(frozen=True)
class Services:
    """What handlers may use: repositories behind ``turns``, never a connection or SQL."""

    turns: Turns
    catalogs: Catalogs

    @property
    def questionnaire(self) -> Questionnaire:
        return self.turns.flow.questionnaire


class BarazaContext(CallbackContext[ExtBot[None], dict, dict, dict]):
    """CallbackContext with typed access to Baraza's services."""

    @property
    def services(self) -> Services:
        return self.bot_data[SERVICES]


BarazaApplication = Application[ExtBot[None], BarazaContext, dict, dict, dict, object]
