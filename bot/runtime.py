"""What every Baraza process shares: how its Application talks to the Bot API, and its start
and stop inside an event loop someone else owns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.config import Settings
from bot.traffic import Activity, TrafficLimiter


def builder(settings: Settings, activity: Activity | None = None) -> ApplicationBuilder:
    """An ApplicationBuilder for the Bot API at ``settings.api_url``, paced by Baraza's limiter.

    ``activity``: the updates being handled in this process, which its bulk sends give way to.
    """
    return (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML,
                           link_preview_options=LinkPreviewOptions(is_disabled=True)))
        # Conversation paced per chat, bulk (marked Traffic.BULK) also at the bulk rate.
        .rate_limiter(TrafficLimiter(settings.messages_per_second,
                                     settings.chat_messages_per_second, settings.chat_burst,
                                     activity=activity))
    )


@asynccontextmanager
async def started(application: Application) -> AsyncIterator[Application]:
    """The Application initialized and started, in an event loop someone else owns.

    ``run_polling`` and ``run_webhook`` own the loop and signal handling, so this does their
    steps by hand, post_init, post_stop and post_shutdown included, and stops and shuts down
    cleanly on the way out. Updates come from whatever the caller starts inside it.
    """
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        try:
            yield application
        finally:
            if application.running:
                await application.stop()
                if application.post_stop:
                    await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


