"""Digests: the summary, sent to subscribed officials and moderators when a consultation closes and
every week while it is open.

JobQueue jobs live in memory only, so the weekly check is started again in post_init; when each
consultation's last weekly digest went out is stored, so a restart does not send it again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CallbackContext

from bot.context import SERVICES, Services
from bot.handlers.summaries import render_chart, send_summary, summaries_of
from bot.summary_screens import digest_heading
from conversations.roles import Permission, allows

_logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)
CHECK_EVERY = timedelta(hours=1)
JOB_NAME = "digests:weekly"


async def on_status(application: Application, consultation_id: int, verb: str) -> None:
    """Status listener: when a consultation closes, its final summary goes to every subscriber.

    Sent in a task of its own, so whoever closed it (a moderator's button) is answered at once.
    """
    if verb == "close":
        application.create_task(send_digest(application, consultation_id, closed=True),
                                name=f"digest:{consultation_id}")


def start_weekly(application: Application) -> None:
    """Check every hour for weekly digests that are due (call it at start-up)."""
    assert application.job_queue is not None
    for job in application.job_queue.get_jobs_by_name(JOB_NAME):
        job.schedule_removal()
    application.job_queue.run_repeating(_weekly, interval=CHECK_EVERY, first=timedelta(minutes=1),
                                        name=JOB_NAME)


async def _weekly(context: CallbackContext) -> None:
    """Job callback: send each open consultation's digest once a week."""
    services: Services = context.application.bot_data[SERVICES]
    for consultation in await services.db.consultations.list(("open",)):
        if (services.turns.runs(consultation)
                and await services.db.digests.claim_weekly(consultation.id, WEEK)):
            await send_digest(context.application, consultation.id, closed=False)


async def send_digest(application: Application, consultation_id: int, *, closed: bool) -> int:
    """Send the consultation's summary to every subscriber still allowed to read it.

    Nothing is sent while nobody has finished. Returns how many subscribers received it.
    """
    services: Services = application.bot_data[SERVICES]
    consultation = await services.db.consultations.get(consultation_id)
    if consultation is None or not services.turns.runs(consultation):
        return 0
    summary = await summaries_of(services).summary(consultation)
    if summary.everyone.finished == 0:
        return 0
    charts: dict[str, bytes] = {}  # one drawing per language
    sent = 0
    for subscriber in await services.db.digests.subscribers():
        role, _ = await services.turns.role_of(subscriber.user_id)
        if not allows(role, Permission.READ_SUMMARY):
            continue
        t = services.catalogs.translator(services.catalogs.resolve(subscriber.locale, None))
        if t.locale not in charts:
            charts[t.locale] = await render_chart(services, t, consultation, summary)
        try:
            await send_summary(application.bot, services, subscriber.chat_id, t, consultation, role,
                               summary=summary, chart=charts[t.locale],
                               heading=digest_heading(t, consultation, closed))
        except Forbidden:
            await services.db.respondents.mark_blocked(subscriber.user_id)
        except TelegramError:
            _logger.warning("Could not send the digest of consultation %s to user %s",
                            consultation_id, subscriber.user_id, exc_info=True)
        else:
            sent += 1
    _logger.info("Digest of consultation %s sent to %s subscribers", consultation_id, sent)
    return sent
