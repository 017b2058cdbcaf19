"""Webhook settings from the environment: all three or none, each checked, the secret kept out of reprs."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings, WebhookSettings

TOKEN = "123:abc"
SECRET = "Ab_9-" * 10
WEBHOOK = {"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_WEBHOOK_URL": "https://bot.example.org/tg/hook",
           "BARAZA_LISTEN": "0.0.0.0:8080", "BARAZA_WEBHOOK_SECRET": SECRET}


def test_without_a_webhook_url_the_bot_polls() -> None:
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}).webhook is None


def test_the_three_variables_make_a_webhook() -> None:
    webhook = Settings.from_env(WEBHOOK).webhook
    assert webhook == WebhookSettings("https://bot.example.org/tg/hook", "0.0.0.0", 8080, SECRET)
    assert webhook.path == "/tg/hook"


def test_an_ipv6_listen_address_and_a_url_without_path() -> None:
    webhook = Settings.from_env({**WEBHOOK, "BARAZA_LISTEN": "[::]:8443",
                                 "BARAZA_WEBHOOK_URL": "https://bot.example.org:8443"}).webhook
    assert webhook is not None and (webhook.host, webhook.port, webhook.path) == ("::", 8443, "/")


def test_the_secret_stays_out_of_reprs() -> None:
    settings = Settings.from_env(WEBHOOK)
    assert SECRET not in repr(settings)
    assert "bot.example.org" in repr(settings)


@pytest.mark.parametrize(("change", "problem"), [
    ({"BARAZA_WEBHOOK_URL": "http://bot.example.org/hook"}, "BARAZA_WEBHOOK_URL must be the public https://"),
    ({"BARAZA_WEBHOOK_URL": "bot.example.org/hook"}, "BARAZA_WEBHOOK_URL must be the public https://"),
    ({"BARAZA_WEBHOOK_URL": "https://bot.example.org:8080/hook"}, "must use port 443, 80, 88 or 8443"),
    ({"BARAZA_WEBHOOK_URL": "https://bot.example.org:http/hook"}, "BARAZA_WEBHOOK_URL has a malformed port"),
    ({"BARAZA_WEBHOOK_URL": "https://bot.example.org/hook?x=1"}, "must not have a query or fragment"),
    ({"BARAZA_WEBHOOK_URL": "https://bot.example.org/healthz"}, "that path is the health check"),
    ({"BARAZA_LISTEN": ""}, "BARAZA_LISTEN is not set"),
    ({"BARAZA_LISTEN": "8080"}, "BARAZA_LISTEN must be host:port"),
    ({"BARAZA_LISTEN": "0.0.0.0:0"}, "BARAZA_LISTEN must be host:port"),
    ({"BARAZA_LISTEN": "0.0.0.0:70000"}, "BARAZA_LISTEN must be host:port"),
    ({"BARAZA_LISTEN": "localhost:http"}, "BARAZA_LISTEN must be host:port"),
    ({"BARAZA_WEBHOOK_SECRET": ""}, "BARAZA_WEBHOOK_SECRET is not set"),
    ({"BARAZA_WEBHOOK_SECRET": "has spaces in it"}, "BARAZA_WEBHOOK_SECRET must be 1 to 256 characters"),
    ({"BARAZA_WEBHOOK_SECRET": "x" * 257}, "BARAZA_WEBHOOK_SECRET must be 1 to 256 characters"),
    ({"BARAZA_WEBHOOK_URL": ""}, "BARAZA_LISTEN is set but BARAZA_WEBHOOK_URL is not"),
    ({"BARAZA_WEBHOOK_URL": "", "BARAZA_LISTEN": ""}, "BARAZA_WEBHOOK_SECRET is set but BARAZA_WEBHOOK_URL is not"),
])
def test_a_missing_or_malformed_webhook_setting_names_the_problem(change: dict[str, str],
                                                                  problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({**WEBHOOK, **change})
    message = str(raised.value)
    assert problem in message and "\n" not in message
    assert SECRET not in message
