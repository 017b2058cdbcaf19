"""The log keeps no token, invitation, typed text or name, however a library formats them."""

from __future__ import annotations

import io
import logging

from bot.logs import REDACTED, redact_handler

TOKEN = "123456:AAE-secret"


def logged(name: str, message: str, *args: object, exc: BaseException | None = None) -> str:
    stream = io.StringIO()
    handler = redact_handler(logging.StreamHandler(stream), [TOKEN])
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug(message, *args, exc_info=exc)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_the_token_in_a_request_url_is_redacted() -> None:
    text = logged("test.httpx", "HTTP Request: POST %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
    assert TOKEN not in text and f"/bot{REDACTED}/getMe" in text


def test_texts_and_names_in_bot_api_payloads_and_object_reprs_are_redacted() -> None:
    payload = {"chat_id": 5, "text": "Roads 'first' & schools", "from": {"first_name": "Amina"}}
    text = logged("test.ptb", "Calling endpoint with parameters `%s`", payload)
    assert "Roads" not in text and "Amina" not in text and "'chat_id': 5" in text
    text = logged("test.ptb", "Update %s", "Message(text=\"it's mine\", chat=Chat(username='amina'))")
    assert "mine" not in text and "amina" not in text


def test_invitation_tokens_and_sql_parameters_are_redacted() -> None:
    text = logged("test.bot", "link t.me/baraza_bot?start=inv_AbC123-xyz_987")
    assert "AbC123" not in text
    text = logged("aiosqlite", "executing %s", "partial(<m>, 'INSERT INTO answers VALUES (?, ?)', "
                                              "(1, 'my comment'))")
    assert "my comment" not in text and "INSERT INTO answers" in text


def test_a_traceback_is_redacted_too() -> None:
    try:
        raise ValueError(f"could not reach /bot{TOKEN}/sendMessage")
    except ValueError as error:
        text = logged("test.bot", "failed", exc=error)
    assert TOKEN not in text and "ValueError" in text
