"""What moderators read about roles: /roles with its buttons, /revoke's answers, the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks, screens
from bot.i18n import Translator
from bot.privacy import role_names
from conversations.roles import Role
from storage import AuditAction, AuditEntry, OpenInvitation, StoredRole

LISTED = 25  # of each kind, so the list and its buttons fit one message


def roles_screen(t: Translator, roles: Sequence[StoredRole],
                 invitations: Sequence[OpenInvitation]) -> screens.Screen:
    """Officials, moderators added in the bot and open invitations, each with its button.

    As many as fit one message (at most ``LISTED`` of each); a list cut short ends with "…".
    """
    names = role_names(t)
    footer = ["", t._("Moderators listed in BARAZA_MODERATORS are managed there: remove an id "
                      "and restart the bot to take the role away.")]
    budget = screens.TELEGRAM_TEXT_LIMIT - len("\n".join(footer)) - 100
    lines = [t._("<b>Roles</b>")]
    rows: list[list[InlineKeyboardButton]] = []

    def fits(entry: str) -> bool:
        return len("\n".join([*lines, entry])) <= budget

    for stored in roles[:LISTED]:
        number = t.isolate(str(stored.user_id))
        entry = f"{number} · {names[Role(stored.role)]}"
        if stored.agency:
            entry += " · " + t.isolate(escape(stored.agency[:60]))
        if not fits(entry):
            break
        lines.append(entry)
        rows.append([InlineKeyboardButton(
            t._("Revoke {id}").format(id=number), callback_data=callbacks.encode(
                callbacks.ManageRole(callbacks.RoleVerb.REVOKE, str(stored.user_id))))])
    if len(rows) < len(roles):
        lines.append("…")
    if not roles:
        lines.append(t._("No officials, and no moderators added in the bot."))
    lines += ["", t._("<b>Open invitations</b>")]
    listed = 0
    for index, invitation in enumerate(invitations[:LISTED], start=1):
        agency = t.isolate(escape(invitation.agency[:60])) if invitation.agency else "—"
        entry = (f"{t.number(index)}. {agency} · "
                 + t._("expires {moment}").format(moment=t.moment(invitation.expires_at)))
        if not fits(entry):
            break
        lines.append(entry)
        listed += 1
        rows.append([InlineKeyboardButton(
            t._("Cancel invitation {number}").format(number=t.number(index)),
            callback_data=callbacks.encode(
                callbacks.ManageRole(callbacks.RoleVerb.CANCEL, invitation.key)))])
    if listed < len(invitations):
        lines.append("…")
    if not invitations:
        lines.append(t._("None."))
    return screens.Screen(t.directed("\n".join(lines + footer)),
                          InlineKeyboardMarkup(rows) if rows else None)


def revoked(t: Translator, user_id: int, stored: StoredRole | None, from_env: bool) -> str:
    """The answer to /revoke or a Revoke button."""
    number = t.isolate(str(user_id))
    if from_env:
        text = t._("User {id} is a moderator through BARAZA_MODERATORS: remove the id there and "
                   "restart the bot.")
    elif stored is None:
        text = t._("User {id} has no role to take away.")
    else:
        text = t._("User {id} no longer has the {role} role.")
    role = role_names(t)[Role(stored.role)] if stored is not None else ""
    return t.directed(text.format(id=number, role=role))


def action_name(t: Translator, action: AuditAction) -> str:
    return {
        AuditAction.GRANT_MODERATOR: t._("made a moderator"),
        AuditAction.GRANT_OFFICIAL: t._("made an official (invitation)"),
        AuditAction.REVOKE: t._("role revoked"),
        AuditAction.INVITE: t._("invitation created"),
        AuditAction.CANCEL_INVITATION: t._("invitation cancelled"),
        AuditAction.EXPORT: t._("answers exported"),
        AuditAction.BROADCAST: t._("broadcast sent"),
        AuditAction.STOP_BROADCAST: t._("broadcast stopped"),
        AuditAction.CREATE_CONSULTATION: t._("consultation created"),
        AuditAction.TRANSLATE_CONSULTATION: t._("consultation translated"),
        AuditAction.SCHEDULE_CONSULTATION: t._("consultation scheduled"),
        AuditAction.OPEN_CONSULTATION: t._("consultation opened"),
        AuditAction.CLOSE_CONSULTATION: t._("consultation closed"),
        AuditAction.REOPEN_CONSULTATION: t._("consultation reopened"),
        AuditAction.DELETE_CONSULTATION: t._("draft consultation deleted"),
        AuditAction.ERASURE: t._("a person's data erased (/forget)"),
    }[action]


def audit_pages(t: Translator, entries: Sequence[AuditEntry]) -> list[str]:
    """The latest entries, newest first, one line each, in messages within Telegram's limit."""
    heading = t._("<b>Audit trail</b> (newest first; — is the bot itself or an erased person)")
    if not entries:
        return [t.directed(heading + "\n" + t._("Nothing has been recorded yet."))]
    pages, page = [], t.directed(heading)
    for entry in entries:
        parts = [t.moment(entry.at), t.isolate(str(entry.actor_id)) if entry.actor_id else "—",
                 action_name(t, entry.action)]
        if entry.target_id is not None:
            parts.append(t.isolate(str(entry.target_id)))
        if entry.consultation_id is not None:
            parts.append("#" + t.isolate(str(entry.consultation_id)))
        if entry.detail in {role.value for role in Role}:
            parts.append(role_names(t)[Role(entry.detail)])
        elif entry.detail:
            parts.append(t.isolate(escape(entry.detail[:60])))
        line = t.directed(" · ".join(parts))
        if len(page) + 1 + len(line) > screens.TELEGRAM_TEXT_LIMIT:
            pages.append(page)
            page = line
        else:
            page += "\n" + line
    pages.append(page)
    return pages
