"""Roles: who someone is (/whoami), inviting officials (/invite) and the permission check."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from html import escape

from telegram import Update

from bot.arguments import quoted
from bot.context import BarazaContext
from bot.handlers.replies import answer
from bot.i18n import Translator
from bot.turns import Turn
from conversations.roles import Permission, Role, allows
from storage import AuditAction

INVITATION_LIFETIME = timedelta(days=7)
INVITATION_PREFIX = "inv_"  # /start payloads of other deep links are not invitations


def token_hash(token: str) -> str:
    """Invitations are stored by this hash, so a leaked database holds no usable link."""
    return hashlib.sha256(token.encode()).hexdigest()


def refusal(t: Translator, permission: Permission) -> str:
    """The polite answer to someone whose role does not allow what they asked."""
    if permission is Permission.READ_SUMMARY:
        return t._("Sorry, only moderators and invited officials can do that.")
    return t._("Sorry, only moderators can do that.")


async def permitted(context: BarazaContext, turn: Turn, permission: Permission) -> Role | None:
    """The user's role if it grants ``permission`` (checked on every use); else a refusal."""
    role, _ = await context.services.turns.role_of(turn.respondent.user_id)
    if allows(role, permission):
        return role
    await context.bot.send_message(turn.respondent.chat_id,
                                   turn.t.directed(refusal(turn.t, permission)))
    return None


async def turn_for(update: Update, context: BarazaContext) -> Turn | None:
    """Claim the update and load the respondent; None when the update was handled before."""
    entered = await context.services.turns.enter(update)
    return None if entered is None else entered[0]


async def permitted_command(update: Update, context: BarazaContext,
                            permission: Permission) -> tuple[Turn, Role] | None:
    """The turn and role of a privileged command's sender, or None after a polite refusal."""
    turn = await turn_for(update, context)
    if turn is None:
        return None
    role = await permitted(context, turn, permission)
    return None if role is None else (turn, role)


async def permitted_tap(update: Update, context: BarazaContext,
                        permission: Permission) -> tuple[Turn, Role] | None:
    """The turn and role behind a privileged button, checked on every tap (buttons can be forged).

    None for a double tap or a redelivered update (the dispatcher answers it), and for a role
    without the permission, after an alert that says so.
    """
    query = update.callback_query
    assert query is not None
    turn = await turn_for(update, context)
    if turn is None or turn.repeated_tap:
        return None
    role, _ = await context.services.turns.role_of(turn.respondent.user_id)
    if not allows(role, permission):
        await answer(context, query, refusal(turn.t, permission), show_alert=True)
        return None
    return turn, role


async def whoami(update: Update, context: BarazaContext) -> None:
    """Say which role the user has (/whoami)."""
    turn = await turn_for(update, context)
    if turn is None:
        return
    t = turn.t
    role, agency = await context.services.turns.role_of(turn.respondent.user_id)
    names = {Role.CITIZEN: t._("citizen"), Role.OFFICIAL: t._("official"),
             Role.MODERATOR: t._("moderator")}
    text = t._("Your role: {role}.").format(role=names[role])
    if agency:
        text += "\n" + t._("Agency or region: {agency}").format(agency=t.isolate(escape(agency)))
    text += "\n" + t._("Your Telegram id: {id}").format(id=t.isolate(str(turn.respondent.user_id)))
    await context.bot.send_message(turn.respondent.chat_id, t.directed(text))


async def add_moderator(update: Update, context: BarazaContext) -> None:
    """Make another user a moderator by their Telegram id (/addmoderator 12345)."""
    permitted_turn = await permitted_command(update, context, Permission.MANAGE_MODERATORS)
    if permitted_turn is None:
        return
    turn, _ = permitted_turn
    t, args, db = turn.t, context.args or [], context.services.db
    # Telegram ids are at most 52 bits: up to 16 ASCII digits ("²".isdigit() is true, too).
    if not args:
        text = t._("Usage: /addmoderator TELEGRAM_ID (anyone can see their id with /whoami).")
    elif len(args) != 1 or not (args[0].isascii() and args[0].isdigit()) or len(args[0]) > 16:
        text = t._("{text} is not a Telegram id: give the number someone sees with /whoami, "
                   "such as 123456789.").format(text=quoted(t, " ".join(args)))
    elif await db.respondents.get(int(args[0])) is None:
        # A typo must not make a stranger a moderator: only someone who used the bot qualifies.
        text = t._("No one with that id has used this bot yet: ask them to send /start first, "
                   "then try again.")
    else:
        user_id = int(args[0])
        await db.roles.grant(user_id, Role.MODERATOR.value, None, granted_by=turn.respondent.user_id)
        await db.audit.record(turn.respondent.user_id, AuditAction.GRANT_MODERATOR,
                              target_id=user_id)
        text = t._("User {id} is now a moderator.").format(id=t.isolate(str(user_id)))
    await context.bot.send_message(turn.respondent.chat_id, t.directed(text))


async def invite(update: Update, context: BarazaContext) -> None:
    """Create a single-use link that makes whoever opens it an official (/invite [agency])."""
    permitted_turn = await permitted_command(update, context, Permission.INVITE)
    if permitted_turn is None:
        return
    turn, _ = permitted_turn
    t = turn.t
    agency = " ".join(context.args or []).strip()[:100] or None
    token = INVITATION_PREFIX + secrets.token_urlsafe(24)
    expires = datetime.now(UTC) + INVITATION_LIFETIME
    await context.services.db.invitations.create(
        token_hash(token), agency, turn.respondent.user_id, expires)
    await context.services.db.audit.record(turn.respondent.user_id, AuditAction.INVITE,
                                           detail=agency)
    link = f"https://t.me/{context.bot.username}?start={token}"
    days = INVITATION_LIFETIME.days
    lines = [t.ngettext("Send this link to the official. It works once and expires in {days} day:",
                        "Send this link to the official. It works once and expires in {days} days:",
                        days).format(days=t.number(days)), "", escape(link)]
    if agency:
        lines.append(t._("Agency or region: {agency}").format(agency=t.isolate(escape(agency))))
    await context.bot.send_message(turn.respondent.chat_id, t.directed("\n".join(lines)))


async def redeem_invitation(context: BarazaContext, turn: Turn, token: str) -> None:
    """Make the user an official if ``token`` is a valid, unused, unexpired invitation."""
    t = turn.t
    invitation, role = await context.services.turns.redeem_invitation(
        turn.respondent.user_id, token_hash(token[:64]))
    if role is Role.MODERATOR:
        text = t._("You are a moderator already; the invitation was not needed.")
    elif invitation is None:
        text = t._("This invitation link is not valid: it may have been used already or have expired.")
    else:
        text = t._("Welcome! You are now registered as an official. You answer the same "
                   "questions as citizens, and /summary shows how the answers compare.")
    await context.bot.send_message(turn.respondent.chat_id, t.directed(text))
