"""One update's work against the database: claim it, load the respondent, apply an engine step.

Everything that must be atomic happens in one transaction: an update is claimed (so a
redelivered update after a crash is not handled twice) together with the answer it carries.
Telegram calls happen after the commit, never while the shared connection is locked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from telegram import Update

from bot.i18n import Catalogs, Translator
from bot.labels import option_labels
from conversations.flow import Flow, Labels, Progress, Step
from conversations.question_results import choices_of
from conversations.roles import Role
from conversations.scoring import score_answers
from storage import AuditAction, Consultation, Database, Invitation, Respondent, Session

Move = Callable[[Flow, Progress], Step]
# A write that must commit (or not) together with the update's claim, in its transaction.
Write = Callable[[Database, Respondent], Awaitable[None]]


class Claim(Enum):
    """What an incoming update is to the respondent's history."""

    NEW = "new"
    REPEATED_TAP = "repeated_tap"  # the same button of the same message again (a double tap)


@dataclass(frozen=True)
class Turn:
    """What one update knows about its respondent, and the language to answer in."""

    respondent: Respondent
    consultation: Consultation | None  # the one the update is about, or being answered
    session: Session | None  # the respondent's session of that consultation
    t: Translator
    claim: Claim

    @property
    def repeated_tap(self) -> bool:
        """The same button of the same message as the previous update (a double tap)."""
        return self.claim is Claim.REPEATED_TAP

    @property
    def answering(self) -> bool:
        """Whether the respondent is in the middle of an open consultation."""
        return (self.session is not None and not self.session.finished
                and self.consultation is not None and self.consultation.status == "open")


class Turns:
    """Runs updates against storage and the engine for the Telegram handlers."""

    def __init__(self, db: Database, flow: Flow, catalogs: Catalogs,
                 moderators: frozenset[int] = frozenset()) -> None:
        self.db = db
        self.flow = flow
        self.catalogs = catalogs
        self.moderators = moderators
        self._labels: dict[str, Labels] = {}

    def labels(self, locale: str) -> Labels:
        """The option labels a respondent in ``locale`` may type (built once per locale)."""
        found = self._labels.get(locale)
        if found is None:
            found = self._labels[locale] = option_labels(self.flow.questionnaire,
                                                         self.catalogs.translator(locale))
        return found

    def progress(self, session: Session) -> Progress:
        return Progress(MappingProxyType(dict(session.answers)), session.cursor, session.finished)

    def runs(self, consultation: Consultation) -> bool:
        """Whether this bot's questionnaire is the one the consultation asks."""
        q = self.flow.questionnaire
        return (consultation.questionnaire_id, consultation.questionnaire_version) == (q.id, q.version)

    async def enter(self, update: Update, move: Move | None = None,
                    consultation_id: int | None = None,
                    write: Write | None = None,
                    typed: str | None = None) -> tuple[Turn, Step | None] | None:
        """Claim the update and, with ``move``, apply an engine step to the respondent's session.

        The session is that of ``consultation_id`` (a button names it), else of the consultation
        the respondent is answering. Returns None when this update was handled before (Telegram
        redelivers unconfirmed updates after a crash). A move is applied only to a session of an
        open consultation. ``write`` stores the update's other effects (a language, a consent)
        in the same transaction as the claim, so a crash leaves both or neither. ``typed`` is a
        typed message, taken as the engine's ``typed`` input in the respondent's language.
        """
        user, chat = update.effective_user, update.effective_chat
        assert user is not None and chat is not None
        query = update.callback_query
        update_id = update.update_id
        tap = None
        if query is not None and query.message is not None:
            tap = f"{query.message.message_id}:{query.data}"

        db = self.db
        async with db.transaction():
            # The whole update in one transaction: the engine in the middle is plain code.
            respondent = await db.respondents.ensure_unless_erased_by(update_id, user.id, chat.id)
            if respondent is None:
                return None  # a redelivered /forget must not make its person a respondent again
            if not await db.respondents.claim_update(user.id, update_id, tap):
                return None
            claim = Claim.REPEATED_TAP if tap is not None and respondent.last_tap == tap else Claim.NEW
            if write is not None:
                await write(db, respondent)
                # An erasure leaves nobody to read back: the turn answers in the old snapshot.
                respondent = await db.respondents.get(user.id) or respondent
            wanted = consultation_id if consultation_id is not None else respondent.consultation_id
            consultation = await db.consultations.get(wanted) if wanted is not None else None
            session = None
            if consultation is not None and self.runs(consultation):
                session = await db.sessions.get(user.id, consultation.id)
            step = None
            if typed is not None:
                locale = self.translator(respondent, user.language_code).locale
                labels = self.labels(locale)
                move_now: Move | None = lambda flow, progress: flow.typed(progress, typed, labels)
            else:
                move_now = move
            # Engine moves run even for a repeated tap: the engine itself recognises a repeat.
            if (move_now is not None and session is not None
                    and consultation is not None and consultation.status == "open"):
                step = move_now(self.flow, self.progress(session))
                await self._store(session, step)
                if consultation.id != respondent.consultation_id:
                    # A button of another open consultation: typed replies follow it there.
                    await db.respondents.set_consultation(user.id, consultation.id)
        t = self.translator(respondent, user.language_code)
        return Turn(respondent, consultation, session, t, claim), step

    async def translator_for(self, user_id: int, language_code: str | None) -> Translator:
        """The language to answer a user in, without claiming the update (errors, refusals)."""
        return self.translator(await self.db.respondents.get(user_id), language_code)

    def translator(self, respondent: Respondent | None, language_code: str | None) -> Translator:
        locale = self.catalogs.resolve(respondent.locale if respondent else None, language_code)
        return self.catalogs.translator(locale)

    async def role_of(self, user_id: int) -> tuple[Role, str | None]:
        """The user's role now, and the agency an official speaks for."""
        if user_id in self.moderators:
            return Role.MODERATOR, None
        stored = await self.db.roles.get(user_id)
        return (Role(stored.role), stored.agency) if stored else (Role.CITIZEN, None)

    async def _store(self, session: Session, step: Step) -> None:
        if step.saved is not None:
            await self.db.sessions.save_answer(session.id, step.saved,
                                               self.flow.questionnaire.version)
        progress = step.progress
        if progress.cursor != session.cursor or progress.finished != session.finished:
            # The message showing the old question no longer shows the current one.
            await self.db.sessions.move(session.id, progress.cursor, finished=progress.finished)
            if progress.finished and not session.finished:
                # Answers cannot change any more: add them to the summary's running totals.
                questionnaire = self.flow.questionnaire
                await self.db.summaries.add(
                    session.id, score_answers(questionnaire, progress.answers),
                    choices_of(questionnaire, progress.answers))

    @staticmethod
    async def consent(db: Database, respondent: Respondent) -> None:
        """Record consent and subscribe the respondent to announcements (a ``write``)."""
        await db.respondents.record_consent(respondent.user_id)
        await db.respondents.set_subscribed(respondent.user_id, True)

    async def redeem_invitation(self, user_id: int, token_hash: str) -> tuple[Invitation | None, Role]:
        """Use up an invitation and make the user an official, together or not at all."""
        role, _ = await self.role_of(user_id)
        if role is Role.MODERATOR:
            return None, role  # a moderator needs no invitation, and does not use it up
        async with self.db.transaction():
            invitation = await self.db.invitations.redeem(token_hash, user_id)
            if invitation is not None:
                await self.db.roles.grant(user_id, Role.OFFICIAL.value, invitation.agency,
                                          invitation.created_by)
                await self.db.audit.record(invitation.created_by, AuditAction.GRANT_OFFICIAL,
                                           target_id=user_id, detail=invitation.agency)
                role = Role.OFFICIAL
        return invitation, role

    async def begin(self, user_id: int, consultation: Consultation) -> tuple[Session, Step]:
        """Begin (or resume) answering a consultation and say what to show."""
        role, _ = await self.role_of(user_id)
        cursor = self.flow.new_progress().cursor

        async with self.db.transaction():
            session = await self.db.sessions.start(user_id, consultation.id, role.value, cursor)
            await self.db.respondents.set_consultation(user_id, consultation.id)
        return session, self.flow.resume(self.progress(session))

    async def open_consultations(self, user_id: int) -> list[Consultation]:
        """Open consultations this bot can run that the user has not finished, newest first."""
        candidates = []
        for consultation in await self.db.consultations.list(("open",)):
            if not self.runs(consultation):
                continue
            session = await self.db.sessions.get(user_id, consultation.id)
            if session is None or not session.finished:
                candidates.append(consultation)
        return candidates

    async def shown(self, session: Session, message_id: int) -> None:
        """Remember the message that now shows the current question (to edit it safely later)."""
        await self.db.sessions.set_prompt(session.id, message_id)

