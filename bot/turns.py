"""One update's work against the database: claim it, load the respondent, apply an engine step.

Everything that must be atomic happens in one transaction: an update is claimed (so a
redelivered update after a crash is not handled twice) together with the answer it carries.
Telegram calls happen after the commit, never while the shared connection is locked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from telegram import Update

from bot.i18n import Catalogs, Translator
from conversations.flow import Flow, Progress, Step
from storage import Database, Respondent, Session

Move = Callable[[Flow, Progress], Step]


class Claim(Enum):
    """What an incoming update is to the respondent's history."""

    NEW = "new"
    REPEATED_UPDATE = "repeated_update"  # redelivered by Telegram after a crash: ignore it
    REPEATED_TAP = "repeated_tap"  # the same button of the same message again (a double tap)


@dataclass(frozen=True)
class Turn:
    """What one update knows about its respondent, and the language to answer in."""

    respondent: Respondent
    session: Session | None
    t: Translator
    claim: Claim

    @property
    def repeated_tap(self) -> bool:
        """The same button of the same message as the previous update (a double tap)."""
        return self.claim is Claim.REPEATED_TAP


class Turns:
    """Runs updates against storage and the engine for the Telegram handlers."""

    def __init__(self, db: Database, flow: Flow, catalogs: Catalogs) -> None:
        self.db = db
        self.flow = flow
        self.catalogs = catalogs

    @property
    def questionnaire_id(self) -> str:
        return self.flow.questionnaire.id

    def progress(self, session: Session) -> Progress:
        return Progress(MappingProxyType(dict(session.answers)), session.cursor, session.finished)

    async def enter(self, update: Update, move: Move | None = None) -> tuple[Turn, Step | None] | None:
        """Claim the update and, with ``move``, apply an engine step to the respondent's session.

        Returns None when this update was handled before (Telegram redelivers unconfirmed
        updates after a crash). A move is applied only when a session exists and the update is
        not a repeated tap.
        """
        user, chat = update.effective_user, update.effective_chat
        assert user is not None and chat is not None
        query = update.callback_query
        tap = None
        if query is not None and query.message is not None:
            tap = f"{query.message.message_id}:{query.data}"
        step = None
        async with self.db.transaction():
            respondent = await self.db.respondents.ensure(user.id, chat.id)
            if not await self.db.respondents.claim_update(user.id, update.update_id, tap):
                return None
            repeated = tap is not None and respondent.last_tap == tap
            claim = Claim.REPEATED_TAP if repeated else Claim.NEW
            session = await self.db.sessions.get(user.id, self.questionnaire_id)
            if move is not None and session is not None and claim is Claim.NEW:
                step = move(self.flow, self.progress(session))
                await self._store(session, step)
        return Turn(respondent, session, self.translator(respondent, user.language_code), claim), step

    async def translator_for(self, user_id: int, language_code: str | None) -> Translator:
        """The language to answer a user in, without claiming the update (errors, refusals)."""
        return self.translator(await self.db.respondents.get(user_id), language_code)

    def translator(self, respondent: Respondent | None, language_code: str | None) -> Translator:
        locale = self.catalogs.resolve(respondent.locale if respondent else None, language_code)
        return self.catalogs.translator(locale)

    async def _store(self, session: Session, step: Step) -> None:
        if step.saved is not None:
            await self.db.sessions.save_answer(session.id, step.saved,
                                               self.flow.questionnaire.version)
        progress = step.progress
        if progress.cursor != session.cursor or progress.finished != session.finished:
            # The message showing the old question no longer shows the current one.
            await self.db.sessions.set_cursor(session.id, progress.cursor)
            await self.db.sessions.set_prompt(session.id, None)
            if progress.finished and not session.finished:
                await self.db.sessions.finish(session.id)

    async def start_session(self, user_id: int) -> tuple[Session, Step]:
        """Begin (or find) the respondent's session and say what to show first."""
        async with self.db.transaction():
            await self.db.respondents.record_consent(user_id)
            progress = self.flow.new_progress()
            session = await self.db.sessions.start(user_id, self.questionnaire_id,
                                                   self.flow.questionnaire.version, progress.cursor)
        return session, self.flow.resume(self.progress(session))

    async def shown(self, session: Session, message_id: int) -> None:
        """Remember the message that now shows the current question (to edit it safely later)."""
        await self.db.sessions.set_prompt(session.id, message_id)

    async def set_locale(self, user_id: int, locale: str) -> None:
        await self.db.respondents.set_locale(user_id, locale)
