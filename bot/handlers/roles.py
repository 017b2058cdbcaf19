"""Roles that can be taken back: /roles, /revoke, their buttons, and the audit trail (/audit)."""

from __future__ import annotations

from telegram import Update

from bot import callbacks, role_screens
from bot.context import BarazaContext
from bot.handlers.access import permitted_command, permitted_tap
from bot.handlers.replies import accessible, answer
from bot.turns import Turn
from conversations.roles import Permission
from storage import AuditAction

AUDIT_SHOWN = 50


async def roles_command(update: Update, context: BarazaContext) -> None:
    """List officials, moderators added in the bot and open invitations (/roles)."""
    permitted_turn = await permitted_command(update, context, Permission.MANAGE_MODERATORS)
    if permitted_turn is None:
        return
    turn, _ = permitted_turn
    screen = await _roles(context, turn)
    await context.bot.send_message(turn.respondent.chat_id, screen.text,
                                   reply_markup=screen.keyboard)


async def revoke_command(update: Update, context: BarazaContext) -> None:
    """Take the official or moderator role away from a Telegram id (/revoke 12345)."""
    permitted_turn = await permitted_command(update, context, Permission.MANAGE_MODERATORS)
    if permitted_turn is None:
        return
    turn, _ = permitted_turn
    t, args = turn.t, context.args or []
    if len(args) != 1 or not callbacks.USER_ID.fullmatch(args[0]):
        text = t.directed(t._("Usage: /revoke TELEGRAM_ID (the ids are in /roles)."))
    else:
        text = await _revoke(context, turn, int(args[0]))
    await context.bot.send_message(turn.respondent.chat_id, text)


async def button(update: Update, context: BarazaContext, action: callbacks.ManageRole) -> None:
    """A Revoke or Cancel button of /roles; the role is checked on every tap."""
    query = update.callback_query
    assert query is not None
    permitted_turn = await permitted_tap(update, context, Permission.MANAGE_MODERATORS)
    if permitted_turn is None:
        return
    turn, _ = permitted_turn
    t, db = turn.t, context.services.db
    if action.verb is callbacks.RoleVerb.REVOKE:
        text = await _revoke(context, turn, int(action.key))
    elif await db.invitations.cancel(action.key):
        await db.audit.record(turn.respondent.user_id, AuditAction.CANCEL_INVITATION)
        text = t._("The invitation was cancelled: its link no longer works.")
    else:
        text = t._("That invitation is no longer open.")
    await answer(context, query, text)
    message = accessible(query.message)
    screen = await _roles(context, turn)
    if message is not None and (message.text_html != screen.text
                                or message.reply_markup != screen.keyboard):
        await message.edit_text(screen.text, reply_markup=screen.keyboard)


async def audit_command(update: Update, context: BarazaContext) -> None:
    """Show the latest entries of the audit trail (/audit)."""
    permitted_turn = await permitted_command(update, context, Permission.READ_AUDIT)
    if permitted_turn is None:
        return
    turn, _ = permitted_turn
    entries = await context.services.db.audit.latest(AUDIT_SHOWN)
    for page in role_screens.audit_pages(turn.t, entries):
        await context.bot.send_message(turn.respondent.chat_id, page)


async def _roles(context: BarazaContext, turn: Turn) -> role_screens.screens.Screen:
    db = context.services.db
    return role_screens.roles_screen(turn.t, await db.roles.granted(), await db.invitations.open())


async def _revoke(context: BarazaContext, turn: Turn, user_id: int) -> str:
    """Take the role away (recorded in the audit trail) and say what happened."""
    services = context.services
    if (user_id in services.turns.moderators
            or await services.db.roles.managed_by_environment(user_id)):
        return role_screens.revoked(turn.t, user_id, None, from_env=True)
    stored = await services.db.roles.revoke(user_id)
    if stored is not None:
        await services.db.audit.record(turn.respondent.user_id, AuditAction.REVOKE,
                                       target_id=user_id, detail=stored.role)
    return role_screens.revoked(turn.t, user_id, stored, from_env=False)
