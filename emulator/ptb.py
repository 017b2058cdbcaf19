"""An idle probe for an in-process python-telegram-bot Application."""

# Use one object as both the Application's update processor and the emulator's idle probe:
#     probe = ProcessedUpdates()
#     app = ApplicationBuilder()...concurrent_updates(probe).build()
#     emulator.idle_probe = probe

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class ProcessedUpdates(BaseUpdateProcessor):
    """Processes updates like PTB's default processor and remembers which ones have finished."""

    def __init__(self, max_concurrent_updates: int = 1) -> None:
        super().__init__(max_concurrent_updates)
        self._finished: set[int] = set()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the handlers; the update counts as finished even if they raised."""
        try:
            await coroutine
        finally:
            if isinstance(update, Update):
                self._finished.add(update.update_id)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def __call__(self, update_id: int) -> bool:
        """The idle probe: True once the Application finished processing the update."""
        return update_id in self._finished
