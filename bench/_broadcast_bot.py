"""The bot side of ``broadcast_rate.py``, in its own process: ``python bench/_broadcast_bot.py MODE``.

MODE ``baraza``: the real Application (``build_application``) polling the emulator at
``--api-root``, with ``Settings.moderators = {--moderator}``,
``Settings.messages_per_second = --rate`` (its bulk rate) and ``Settings.sender = --sender``
(default: the one BARAZA_PAID_BROADCAST chooses; the rest as shipped), started with the steps
of ``bot.application.running``.
The broadcast itself is started by the benchmark through the emulator (a moderator's /broadcast,
the consultation, Send), so it runs exactly the handler's code path.

MODE ``bare``: the baseline. PTB alone: an Application built with the same ApplicationBuilder
settings (so the same HTTPX pool) and the same ``AIORateLimiter(overall_max_rate=--rate,
max_retries=3)``, no storage, no polling. On ``send`` it sends Baraza's announcement (the same
text and button, rendered by ``bot.announcements``) to every recipient with the same number of
requests in flight as Baraza's sender (``DeliveryPolicy().concurrency``), waiting out a 429 the
limiter gave up on, as Baraza does.

What-ifs (never the shipped code): ``--burst B`` gives PTB's limiter a bucket of B messages at
the same rate (``overall_time_period = B / rate``); ``--broadcast-share F`` paces the broadcast
sender at F x the rate with a limiter of its own (see ``broadcast_share``).

Commands on stdin, one JSON object a line, each answered with one JSON line on stdout:

    {"cmd": "stats"}         CPU seconds, VmRSS/VmHWM (KB), tracemalloc current/peak (KB) if on;
                             children_cpu: CPU seconds of its living children (a sender process)
    {"cmd": "gc_stats"}      the same after gc.collect() (peaks unchanged)
    {"cmd": "reset_peak"}    VmHWM := VmRSS (/proc/self/clear_refs "5") and tracemalloc.reset_peak()
    {"cmd": "send", "first_id": N, "locales": [...]}   (bare only) the announcement to each
    {"cmd": "profile_start"} / {"cmd": "profile_stop", "path": P}   cProfile of this process
    {"cmd": "quit"}          stop as run_polling would, then exit
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
import time
import tracemalloc
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

from _child import children_cpu, commands, cpu, memory, reply, start, stop

TEXTS = {  # the consultation both modes announce (broadcast_rate.py stores the same)
    "en": ("Budget hearings 2027", "Where should the county spend next year?"),
    "fr": ("Audiences budgétaires 2027", "Où dépenser l'an prochain ?"),
    "ar": ("جلسات الميزانية 2027", "أين ينبغي أن تنفق المقاطعة في العام المقبل؟"),
}


def build_baraza(args: argparse.Namespace) -> Any:
    from bot.application import build_application
    from bot.config import Sender, Settings
    from conversations.loader import load_questionnaire

    settings = Settings(token=args.token, api_url=args.api_root, database=Path(args.database),
                        moderators=frozenset({args.moderator}), messages_per_second=args.rate,
                        sender=Sender(args.sender) if args.sender else None)
    return build_application(settings, load_questionnaire(settings.questionnaire))


def build_bare(args: argparse.Namespace) -> Any:
    from telegram import LinkPreviewOptions
    from telegram.constants import ParseMode
    from telegram.ext import AIORateLimiter, ApplicationBuilder, Defaults

    # What build_application sets, minus handlers, persistence and the update processor.
    return (
        ApplicationBuilder()
        .token(args.token)
        .base_url(f"{args.api_root}/bot")
        .base_file_url(f"{args.api_root}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML,
                           link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(AIORateLimiter(overall_max_rate=args.rate, max_retries=3))
        .build()
    )


def announcement_screens() -> dict[str, Any]:
    """Baraza's announcement per language, as its sender renders it (no database)."""
    from bot import announcements
    from bot.i18n import Catalogs
    from conversations.loader import load_questionnaire
    from storage.records import Consultation, ConsultationText

    questionnaire = load_questionnaire()
    consultation = Consultation(1, questionnaire.id, questionnaire.version, "open", None, None,
                                {k: ConsultationText(*v) for k, v in TEXTS.items()})
    catalogs = Catalogs.load()
    return {locale: announcements.announcement(catalogs.translator(locale), consultation)
            for locale in TEXTS}


async def bare_send(application: Any, screens: dict[str, Any], first_id: int, locales: list[str],
                    concurrency: int) -> dict[str, Any]:
    """Send the announcement to every recipient, ``concurrency`` requests in flight at most."""
    from telegram.error import RetryAfter

    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for i, locale in enumerate(locales):
        queue.put_nowait((first_id + i, locale))
    waited = 0

    async def worker() -> None:
        nonlocal waited
        while True:
            try:
                chat_id, locale = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            screen = screens[locale]
            while True:
                try:
                    await application.bot.send_message(chat_id, screen.text,
                                                       reply_markup=screen.keyboard)
                    break
                except RetryAfter as error:  # the limiter gave up: wait as told, as Baraza does
                    waited += 1
                    wait = error.retry_after
                    await asyncio.sleep(max(1.0, wait.total_seconds()
                                            if isinstance(wait, timedelta) else float(wait)))

    began, c0 = time.perf_counter(), cpu()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"seconds": time.perf_counter() - began, "cpu": cpu() - c0, "waited_out": waited}


def broadcast_share(share: float, rate: float) -> None:
    """What-if: the broadcast sender paces itself at ``share`` of the overall rate (its own
    limiter, a fifth of a second deep), so that it never fills PTB's shared limiter and other
    users' replies do not queue behind its sends. Wraps the Bot the Broadcaster is given."""
    from aiolimiter import AsyncLimiter

    from bot import broadcasting

    class Paced:
        def __init__(self, bot: Any) -> None:
            self._bot = bot
            self._limiter = AsyncLimiter(share * rate * 0.2, 0.2)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._bot, name)

        async def send_message(self, *args: Any, **kwargs: Any) -> Any:
            async with self._limiter:
                return await self._bot.send_message(*args, **kwargs)

    original = broadcasting.Broadcaster.__init__

    def init(self: Any, bot: Any, *args: Any, **kwargs: Any) -> None:
        original(self, Paced(bot), *args, **kwargs)

    broadcasting.Broadcaster.__init__ = init  # type: ignore[method-assign]


async def main(args: argparse.Namespace) -> None:
    if args.tracemalloc:
        tracemalloc.start(1)
    if args.broadcast_share:
        broadcast_share(args.broadcast_share, args.rate)
    from bot.broadcasting import DeliveryPolicy

    began = time.perf_counter()
    application = build_baraza(args) if args.mode == "baraza" else build_bare(args)
    if args.burst and args.mode == "bare":
        # What-if: the same rate, with a bucket of ``--burst`` messages instead of a second's worth
        # (Baraza's own limiter, bot/traffic.py, has its bulk bucket at 0.8 s of messages already).
        from telegram.ext import AIORateLimiter

        application.bot._rate_limiter = AIORateLimiter(
            overall_max_rate=args.burst, overall_time_period=args.burst / args.rate, max_retries=3)
    await start(application, polling=args.mode == "baraza")
    # Rendered before "ready", as Baraza renders them once per broadcast and language.
    screens = announcement_screens() if args.mode == "bare" else {}
    async for command in commands(began):
        name = command["cmd"]
        if name == "stats":
            reply({"cpu": cpu(), "children_cpu": children_cpu(), **memory()})
        elif name == "gc_stats":  # the peaks are unaffected; the current figures drop the garbage
            gc.collect()
            reply({"cpu": cpu(), **memory()})
        elif name == "reset_peak":
            gc.collect()
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux 4.0+)
            if tracemalloc.is_tracing():
                tracemalloc.reset_peak()
            reply({"cpu": cpu(), **memory()})
        elif name == "send" and args.mode == "bare":
            result = await bare_send(application, screens, command["first_id"], command["locales"],
                                     DeliveryPolicy().concurrency)
            reply({**result, **memory()})
        else:
            reply({"error": f"unknown command {name!r}"})
    await stop(application)
    reply({"stopped": True, **memory()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["baraza", "bare"])
    parser.add_argument("--api-root", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--database")
    parser.add_argument("--moderator", type=int, default=1)
    parser.add_argument("--sender", choices=["inline", "process"],
                        help="Baraza: which process sends (default: as shipped, inline unless paid)")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--burst", type=float, default=0,
                        help="what-if: the limiter's bucket holds this many messages (same rate)")
    parser.add_argument("--broadcast-share", type=float, default=0,
                        help="what-if: broadcasts paced at this share of --rate (see broadcast_share)")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Baraza's own INFO lines (broadcast finished) and PTB's limiter retries, for the log.
    logging.getLogger("bot").setLevel(logging.INFO)
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.INFO)
    warnings.filterwarnings("ignore", message=".*per_message.*")
    asyncio.run(main(parser.parse_args()))
