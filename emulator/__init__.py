"""A local Telegram Bot API emulator for end-to-end tests, benchmarks and the terminal sandbox."""

from .errors import ApiError
from .models import (
    ApiCall,
    BotMessage,
    Button,
    CallbackAnswer,
    ChatEvent,
    EmulatorStats,
    Entity,
    RejectedRequest,
)
from .ratelimit import RateLimit, Refusal
from .runner import run_emulator
from .server import BotApiEmulator
from .user import EmulatedUser
from .webhooks import WebhookAttempt

__all__ = [
    "ApiCall",
    "ApiError",
    "BotApiEmulator",
    "BotMessage",
    "Button",
    "CallbackAnswer",
    "ChatEvent",
    "EmulatedUser",
    "EmulatorStats",
    "Entity",
    "RateLimit",
    "Refusal",
    "RejectedRequest",
    "WebhookAttempt",
    "run_emulator",
]
