"""A person's data: what /mydata shows and sends, and what /forget erases and says it erased."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks, screens
from bot.i18n import Catalogs, Translator
from conversations.model import Questionnaire
from conversations.roles import Role
from conversations.scoring import score_answers
from storage import AuditAction, AuditEntry, Consultation, Database, Erased, PersonalData, Respondent

FILENAME = "baraza-my-data.json"
LISTED = 20  # consultations in the message (the newest); the file has them all


def _day(t: Translator, stamp: str) -> str:
    return t.moment(datetime.fromisoformat(stamp))


def role_names(t: Translator) -> dict[Role, str]:
    return {Role.CITIZEN: t._("citizen"), Role.OFFICIAL: t._("official"),
            Role.MODERATOR: t._("moderator")}


def summary(t: Translator, catalogs: Catalogs, data: PersonalData, role: Role,
            consultations: dict[int, Consultation]) -> str:
    """The readable message: the profile, the role, and a line per consultation answered."""
    lines = [t._("<b>What Baraza stores about you</b>"),
             t._("Your Telegram id: {id}").format(id=t.isolate(str(data.user_id)))]
    if data.locale:
        lines.append(t._("Language: {language}").format(
            language=t.isolate(catalogs.autonym(data.locale))))
    if data.consented_at:
        lines.append(t._("Consent given: {moment}").format(moment=_day(t, data.consented_at)))
    lines.append(t._("You receive announcements (/stop ends them).") if data.subscribed
                 else t._("You do not receive announcements."))
    lines.append(t._("Your role: {role}.").format(role=role_names(t)[role]))
    if data.agency:
        lines.append(t._("Agency or region: {agency}").format(
            agency=t.isolate(escape(data.agency))))
    if data.digest_subscribed_at:
        lines.append(t._("You receive digests (/digest ends them)."))
    for session in data.sessions[-LISTED:]:
        consultation = consultations.get(session.consultation_id)
        title = (screens.consultation_text(t, consultation).title if consultation is not None
                 else "")
        state = t._("finished") if session.finished_at else t._("in progress")
        lines.append(t.ngettext("#{number} {title}: {count} answer, {state}",
                                "#{number} {title}: {count} answers, {state}",
                                len(session.answers)).format(
            number=t.isolate(str(session.consultation_id)), title=escape(title[:60]),
            count=t.number(len(session.answers)), state=state))
    lines.append(t.ngettext("Announcements sent to you: {count}",
                            "Announcements sent to you: {count}",
                            len(data.deliveries)).format(count=t.number(len(data.deliveries))))
    lines += ["", t._("The attached file holds all of it, your answers and comments included. "
                      "/forget erases everything.")]
    return t.directed("\n".join(lines))


def document(t: Translator, questionnaire: Questionnaire, data: PersonalData, role: Role,
             consultations: dict[int, Consultation], audit: Sequence[AuditEntry] = ()) -> bytes:
    """Everything stored about the person as JSON: English keys, texts in their language."""
    texts = screens.Texts(questionnaire, t)

    def answer(question_id: str, option_id: str | None, text: str | None,
               answered_at: str) -> dict[str, Any]:
        question = questionnaire.question(question_id)
        option = (question.scale.option(option_id) if question is not None
                  and question.scale is not None and option_id is not None else None)
        return {
            "question_id": question_id,
            "question": texts.question(question) if question is not None else None,
            "option_id": option_id,
            "answer": texts.option(question, option) if question and option else None,
            "comment": text,
            "answered_at": answered_at,
        }

    def title(consultation_id: int) -> str | None:
        consultation = consultations.get(consultation_id)
        return None if consultation is None else screens.consultation_text(t, consultation).title

    content = {
        "telegram_id": data.user_id,
        "language": data.locale,
        "first_contact_at": data.created_at,
        "last_seen_at": data.last_seen_at,
        "consented_at": data.consented_at,
        "receives_announcements": data.subscribed,
        "blocked_the_bot_at": data.blocked_at,
        "role": role.value,
        "agency": data.agency,
        "role_granted_at": data.role_granted_at,
        "digest_subscribed_at": data.digest_subscribed_at,
        "invitations_redeemed": [{"agency": agency, "used_at": used_at}
                                 for agency, used_at in data.invitations_redeemed],
        "consultations": [{
            "consultation": s.consultation_id,
            "title": title(s.consultation_id),
            "answered_as": s.role,
            "started_at": s.started_at,
            "finished_at": s.finished_at,
            "answers": [answer(a.question_id, a.option_id, a.text, a.answered_at)
                        for a in s.answers],
        } for s in data.sessions],
        "announcements": [{"consultation": d.consultation_id, "title": title(d.consultation_id),
                           "status": d.status, "sent_at": d.sent_at} for d in data.deliveries],
        "digests": [{"consultation": d.consultation_id, "kind": d.kind, "status": d.status,
                     "at": d.updated_at} for d in data.digests],
        # What the audit trail records the person doing, or having done to them.
        "audit_trail": [{"at": e.at.isoformat(), "action": e.action.value,
                         "by_you": e.actor_id == data.user_id,
                         "consultation": e.consultation_id, "detail": e.detail}
                        for e in audit],
    }
    return json.dumps(content, ensure_ascii=False, indent=2).encode()


def forget_prompt(t: Translator) -> screens.Screen:
    """What /forget will erase, with a confirming button."""
    text = "\n".join([
        t._("<b>Erase everything Baraza stores about you?</b>"),
        t._("Your answers and comments, your progress, your language and consent, the records of "
            "announcements and digests sent to you, and any role you hold are deleted, and "
            "summaries stop counting you. This cannot be undone."),
    ])
    return screens.Screen(t.directed(text), InlineKeyboardMarkup([[
        InlineKeyboardButton(t._("Erase everything"),
                             callback_data=callbacks.encode(callbacks.Forget(True))),
        InlineKeyboardButton(t._("Keep my data"),
                             callback_data=callbacks.encode(callbacks.Forget(False)))]]))


def kept(t: Translator) -> screens.Screen:
    return screens.Screen(t.directed(t._("Nothing was erased.")))


def erased_screen(t: Translator, erased: Erased) -> screens.Screen:
    """What was erased: final, so it says so."""
    lines = [t._("<b>Everything Baraza stored about you has been erased.</b>"),
             t._("Answers: {count}").format(count=t.number(erased.answers)),
             t._("Comments: {count}").format(count=t.number(erased.comments)),
             t._("Consultations: {count}").format(count=t.number(erased.sessions)),
             t._("Announcement records: {count}").format(count=t.number(erased.deliveries)),
             t._("Digest records: {count}").format(count=t.number(erased.digests))]
    if erased.role:
        lines.append(t._("Your role as official or moderator was removed."))
    lines += ["", t._("Your language, consent and progress are gone too, and summaries no longer "
                      "count you. Send /start if you want to take part again.")]
    return screens.Screen(t.directed("\n".join(lines)))


def erasure(questionnaire: Questionnaire, runs: Callable[[Consultation], bool], update_id: int,
            erased: list[Erased]) -> Callable[[Database, Respondent], Awaitable[None]]:
    """The write that erases the person in the transaction claiming the confirming tap.

    Their finished sessions leave the running totals first (the consultations of this
    questionnaire version: those of older versions are never summarised by this bot, README).
    """
    async def write(db: Database, respondent: Respondent) -> None:
        cards = {}
        for session in await db.privacy.summarised_sessions(respondent.user_id):
            consultation = await db.consultations.get(session.consultation_id)
            if consultation is not None and runs(consultation):
                cards[session.id] = score_answers(questionnaire, session.answers)
        await db.summaries.withdraw_from_totals(cards)
        erased.append(await db.privacy.erase(respondent.user_id, update_id))
        await db.audit.record(None, AuditAction.ERASURE)

    return write
