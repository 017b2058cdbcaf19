"""The throughput baseline: a bare python-telegram-bot bot making the same Bot API calls per tap.

No storage and no logic. It replays the screens Baraza showed one respondent walking the
questionnaire, recorded in the same benchmark run just before (``_common.record_walk``): the
/start greeting and, by callback data, the screen each tap leads to, as the exact HTML text and
inline keyboard Baraza sent. A tap is then one dictionary lookup, ``answerCallbackQuery`` and
``editMessageText`` with that screen; /start sends the greeting. What is left is PTB, httpx and
the emulator: the floor Baraza's per-tap cost is measured against.

It is built like Baraza's Application (same Defaults, updates processed concurrently up to 64 at
a time as Baraza's PerUserUpdateProcessor allows; an AIORateLimiter of ``rate``, or none with 0)
and run by ``_botproc.py`` exactly like the others.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
)


def load_screens(path: Path) -> tuple[tuple[str, Any], dict[str, tuple[str, Any]]]:
    recorded = json.loads(path.read_text())

    def screen(entry: dict[str, Any]) -> tuple[str, Any]:
        markup = InlineKeyboardMarkup.de_json(entry["markup"], None) if entry["markup"] else None
        return entry["text"], markup

    return screen(recorded["start"]), {data: screen(e) for data, e in recorded["after"].items()}


def build_bare_application(api_root: str, token: str, screens_path: Path, *, rate: float) -> Application:
    (greeting, greeting_keyboard), after = load_screens(screens_path)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await context.bot.send_message(update.effective_chat.id, greeting, reply_markup=greeting_keyboard)

    async def tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        screen = after.get(query.data)
        await query.answer()
        if screen is not None:
            await query.edit_message_text(screen[0], reply_markup=screen[1])

    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api_root}/bot")
        .base_file_url(f"{api_root}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML,
                           link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .concurrent_updates(64)
    )
    if rate > 0:  # 0: no rate limiter at all, the floor
        builder = builder.rate_limiter(AIORateLimiter(overall_max_rate=rate, max_retries=3))
    application = builder.build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(tap))
    return application
