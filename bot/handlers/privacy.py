"""A person's rights over their data: /mydata shows it, /forget erases it after a confirmation."""

from __future__ import annotations

from telegram import Update

from bot import callbacks, privacy
from bot.context import BarazaContext
from bot.handlers.access import turn_for
from bot.handlers.replies import answer, replace
from storage import Erased


async def my_data(update: Update, context: BarazaContext) -> None:
    """Send everything stored about the user: a readable message and a JSON file (/mydata)."""
    turn = await turn_for(update, context)
    if turn is None:
        return
    services, t = context.services, turn.t
    user_id = turn.respondent.user_id
    data = await services.db.privacy.personal_data(user_id)
    assert data is not None, "the turn has just stored the respondent"
    role, _ = await services.turns.role_of(user_id)
    consultations = {c.id: c for c in await services.db.consultations.list()}
    await context.bot.send_message(
        turn.respondent.chat_id, privacy.summary(t, services.catalogs, data, role, consultations))
    await context.bot.send_document(
        turn.respondent.chat_id, filename=privacy.FILENAME,
        document=privacy.document(t, services.questionnaire, data, role, consultations,
                                  await services.db.audit.about(user_id)))


async def forget(update: Update, context: BarazaContext) -> None:
    """Ask to confirm erasing everything stored about the user (/forget)."""
    turn = await turn_for(update, context)
    if turn is None:
        return
    screen = privacy.forget_prompt(turn.t)
    await context.bot.send_message(turn.respondent.chat_id, screen.text,
                                   reply_markup=screen.keyboard)


async def forget_button(update: Update, context: BarazaContext, action: callbacks.Forget) -> None:
    """Erase the user (Erase everything) in the transaction that claims the tap, or keep them."""
    services = context.services
    query = update.callback_query
    assert query is not None
    erased: list[Erased] = []
    write = (privacy.erasure(services.questionnaire, services.turns.runs, update.update_id, erased)
             if action.confirm else None)
    entered = await services.turns.enter(update, write=write)
    if entered is None or (entered[0].repeated_tap and not erased):
        return
    turn, _ = entered
    await answer(context, query)
    screen = privacy.erased_screen(turn.t, erased[0]) if erased else privacy.kept(turn.t)
    await replace(context, turn.respondent.chat_id, query.message, screen)
