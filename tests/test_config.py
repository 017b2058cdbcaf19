"""Settings from the environment: defaults, and one clear line for each mistake."""

from pathlib import Path

import pytest

from bot.config import TELEGRAM_API_URL, ConfigError, Sender, Settings

TOKEN = "123:abc"


def test_defaults_are_telegram_and_a_local_sqlite_file() -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.api_url == TELEGRAM_API_URL
    assert settings.database == Path("baraza.db")
    assert settings.moderators == frozenset()


def test_a_postgresql_url_in_baraza_db_selects_postgresql_and_a_path_sqlite() -> None:
    url = "postgresql://baraza:s3cret@db.example:5432/baraza"
    postgres = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_DB": f" {url} "})
    sqlite = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_DB": "/srv/baraza.db"})

    assert (postgres.database, sqlite.database) == (url, Path("/srv/baraza.db"))
    assert "s3cret" not in repr(postgres)


@pytest.mark.parametrize(("value", "complaint"), [
    ("postgresql://baraza@db.example:port/baraza", "not a well-formed PostgreSQL URL"),
    ("postgresql://baraza@db.example:5432", "must name the database"),
    ("mysql://baraza@db.example/baraza", "not a mysql:// URL"),
])
def test_a_malformed_database_url_is_refused_with_one_line(value: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_DB": value})


def test_self_hosted_api_url_becomes_ptbs_base_url() -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN,
                                  "TELEGRAM_API_URL": "http://127.0.0.1:8081/"})
    assert settings.base_url == "http://127.0.0.1:8081/bot"


def test_summaries_withhold_groups_under_five_unless_configured() -> None:
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}).min_group == 5
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_MIN_GROUP": " 10 "})
    assert settings.min_group == 10


def test_the_pseudonym_key_comes_from_the_environment_and_stays_out_of_reprs() -> None:
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}).pseudonym_key is None
    key = "0123456789abcdef0123"
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_PSEUDONYM_KEY": key})
    assert settings.pseudonym_key == key.encode()
    assert key not in repr(settings)


@pytest.mark.parametrize(("value", "paid"), [("", False), ("0", False), ("1", True)])
def test_paid_broadcasts_are_opt_in(value: str, paid: bool) -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_PAID_BROADCAST": value})
    assert settings.paid_broadcast is paid


def test_broadcasts_are_budgeted_at_telegrams_paid_rate_when_paid() -> None:
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}).bulk_rate == 30
    paid = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_PAID_BROADCAST": "1"})
    assert paid.bulk_rate == 1000


def test_paid_broadcasts_get_a_process_of_their_own() -> None:
    free = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert free.broadcast_sender is Sender.INLINE
    paid = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_PAID_BROADCAST": "1"})
    assert paid.broadcast_sender is Sender.PROCESS


@pytest.mark.parametrize(("value", "sender"), [("inline", Sender.INLINE),
                                               ("Process", Sender.PROCESS)])
def test_the_broadcast_sender_can_be_chosen(value: str, sender: Sender) -> None:
    for paid in ("0", "1"):
        settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_SENDER": value,
                                      "BARAZA_PAID_BROADCAST": paid})
        assert settings.broadcast_sender is sender


def test_moderators_are_parsed() -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_MODERATORS": "1, 22,333"})
    assert settings.moderators == frozenset({1, 22, 333})


def test_times_are_in_utc_unless_an_iana_zone_is_given() -> None:
    assert str(Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}).timezone) == "UTC"
    chosen = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_TIMEZONE": "Africa/Nairobi"})
    assert str(chosen.timezone) == "Africa/Nairobi"


@pytest.mark.parametrize(("env", "message"), [
    ({}, "TELEGRAM_BOT_TOKEN is not set"),
    ({"TELEGRAM_BOT_TOKEN": "nonsense"}, "does not look like a bot token"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": "ftp://x"}, "must start with http"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_MODERATORS": "1,bob"}, "'bob' is not one"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_MIN_GROUP": "five"}, "BARAZA_MIN_GROUP must be a whole"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_MIN_GROUP": "1"}, "at least 2"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_PSEUDONYM_KEY": "short"}, "PSEUDONYM_KEY is too short"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_PAID_BROADCAST": "yes"}, "must be 1 .* or 0"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_SENDER": "thread"}, "BARAZA_SENDER must be 'inline'"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_TIMEZONE": "Nairobi"}, "BARAZA_TIMEZONE must be an IANA"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_TIMEZONE": "../etc"}, "BARAZA_TIMEZONE must be an IANA"),
])
def test_bad_values_are_named_in_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        Settings.from_env(env)
    assert "\n" not in str(caught.value)


def test_one_chat_gets_telegrams_one_message_a_second_unless_configured() -> None:
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}).chat_messages_per_second == 1.0
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_CHAT_RATE": "2.5"})
    assert settings.chat_messages_per_second == 2.5


@pytest.mark.parametrize("value", ["0", "-1", "fast", "inf", "nan"])
def test_a_chat_rate_that_is_no_positive_number_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="BARAZA_CHAT_RATE must be a positive number"):
        Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_CHAT_RATE": value})


def test_the_token_is_hidden_from_the_settings_repr() -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": "123:very-secret",
                                  "BARAZA_PSEUDONYM_KEY": "k" * 20})
    assert "very-secret" not in repr(settings) and "kkkk" not in repr(settings)


def test_retention_has_documented_defaults_and_refuses_nonsense() -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert (settings.retention_days, settings.unconsented_days) == (365, 30)
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_RETENTION_DAYS": "90",
                                  "BARAZA_UNCONSENTED_DAYS": "7"})
    assert (settings.retention_days, settings.unconsented_days) == (90, 7)
    for wrong in ("0", "-3", "a year"):
        with pytest.raises(ConfigError, match="BARAZA_RETENTION_DAYS must be a whole number"):
            Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "BARAZA_RETENTION_DAYS": wrong})


def test_the_sandbox_never_opens_the_production_database() -> None:
    from bot.cli import SANDBOX_DB, sandbox_settings

    settings = sandbox_settings({"BARAZA_DB": "/srv/baraza/production.db"})
    assert settings.database == Path(SANDBOX_DB)
