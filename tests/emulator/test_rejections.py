"""The emulator refuses what Telegram refuses, and PTB raises the matching exception."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, InvalidToken, RetryAfter

from emulator import BotApiEmulator, RateLimit
from emulator.files import tiny_png

from .tinybot import TOKEN

AMINA = 1001


async def polling_started(emulator: BotApiEmulator) -> None:
    """Wait until a getUpdates call has reached the emulator."""
    await emulator.wait_until(
        lambda: emulator.stats.requests_per_method["getUpdates"] > 0, 5, lambda: "no getUpdates arrived"
    )


@pytest.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    emulator.user(AMINA, "Amina")
    async with Bot(TOKEN, base_url=emulator.base_url, base_file_url=emulator.base_file_url) as bot:
        yield bot


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"b{i}", callback_data=d)] for i, d in enumerate(data)]
    )


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    assert (bot.id, bot.username, bot.first_name, bot.can_join_groups) == (
        123456,
        "baraza_test_bot",
        "Baraza",
        True,
    )


async def test_rejects_a_wrong_token_as_unauthorized(emulator: BotApiEmulator) -> None:
    with pytest.raises(InvalidToken, match=r"was rejected by the server"):
        async with Bot("123456:WRONG", base_url=emulator.base_url):
            pass
    assert (emulator.errors[-1].code, emulator.errors[-1].description) == (401, "Unauthorized")


async def test_rejects_an_unknown_method_as_not_found(bot: Bot, emulator: BotApiEmulator) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": AMINA})
    assert (emulator.errors[-1].code, emulator.errors[-1].description) == (404, "Not Found")


async def test_rejects_an_unknown_chat(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(999, "hello")


async def test_rejects_html_with_an_unsupported_tag_and_its_byte_offset(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    with pytest.raises(BadRequest, match=r'unsupported start tag "foo" at byte offset 4'):
        await bot.send_message(AMINA, "Hey <foo>x</foo>", parse_mode=ParseMode.HTML)
    assert emulator.errors[-1].description == (
        'Bad Request: can\'t parse entities: Unsupported start tag "foo" at byte offset 4'
    )


@pytest.mark.parametrize("text", ["", "  \n ", "<b></b>"])
async def test_rejects_empty_text(bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match=r"^Message text is empty$"):
        await bot.send_message(AMINA, text, parse_mode=ParseMode.HTML)


async def test_rejects_text_longer_than_4096_utf16_units(bot: Bot) -> None:
    await bot.send_message(AMINA, "a" * 4096)
    await bot.send_message(AMINA, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)  # tags do not count
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(AMINA, "😀" * 2049)  # 2049 characters, 4098 UTF-16 units


async def test_rejects_captions_longer_than_1024(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
        await bot.send_photo(AMINA, tiny_png(), caption="x" * 1025)


async def test_rejects_callback_data_longer_than_64_bytes(bot: Bot) -> None:
    await bot.send_message(AMINA, "ok", reply_markup=keyboard("é" * 32))  # 64 bytes
    with pytest.raises(BadRequest, match=r"^Button_data_invalid$"):
        await bot.send_message(AMINA, "too long", reply_markup=keyboard("é" * 32 + "x"))


async def test_rejects_inline_buttons_without_an_action(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed in the inline keyboard"):
        await bot.send_message(
            AMINA, "x", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("bare")]])
        )


async def test_rejects_more_than_100_inline_buttons(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"^Reply markup is too long$"):
        await bot.send_message(AMINA, "x", reply_markup=keyboard(*[str(i) for i in range(101)]))


async def test_rejects_an_edit_that_changes_nothing(bot: Bot) -> None:
    sent = await bot.send_message(AMINA, "<b>Same</b>", parse_mode=ParseMode.HTML, reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match=r"^Message is not modified: specified new message content"):
        # Different HTML, same rendered text and entities: Telegram compares what the user sees.
        await bot.edit_message_text(
            "<strong>Same</strong>",
            AMINA,
            sent.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard("a"),
        )
    with pytest.raises(BadRequest, match=r"^Message is not modified"):
        await bot.edit_message_reply_markup(AMINA, sent.message_id, reply_markup=keyboard("a"))
    await bot.edit_message_reply_markup(AMINA, sent.message_id, reply_markup=keyboard("b"))


async def test_rejects_editing_a_missing_message_or_someone_elses(bot: Bot, emulator: BotApiEmulator) -> None:
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("new", AMINA, 77)
    update = await emulator.user(AMINA).send("my own words", settle=False)
    with pytest.raises(BadRequest, match=r"^Message can't be edited$"):
        await bot.edit_message_text("new", AMINA, update["message"]["message_id"])


async def test_rejects_replies_to_missing_messages(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"^Message to be replied not found$"):
        await bot.send_message(AMINA, "re", reply_to_message_id=55)
    await bot.send_message(AMINA, "re", reply_to_message_id=55, allow_sending_without_reply=True)


async def test_rejects_answering_a_callback_query_twice_or_an_unknown_one(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    await bot.send_message(AMINA, "q", reply_markup=keyboard("a"))
    update = await emulator.user(AMINA).click("b0", settle=False)
    query_id = update["callback_query"]["id"]

    await bot.answer_callback_query(query_id, "ok")
    with pytest.raises(
        BadRequest, match=r"^Query is too old and response timeout expired or query id is invalid$"
    ):
        await bot.answer_callback_query(query_id, "again")
    with pytest.raises(BadRequest, match=r"^Query is too old"):
        await bot.answer_callback_query("12345")


async def test_rejects_sending_to_a_user_who_blocked_the_bot(bot: Bot, emulator: BotApiEmulator) -> None:
    sent = await bot.send_message(AMINA, "hi")
    emulator.block(AMINA, notify=False)
    with pytest.raises(Forbidden, match=r"^Forbidden: bot was blocked by the user$"):
        await bot.send_message(AMINA, "still there?")
    with pytest.raises(Forbidden):
        await bot.edit_message_text("edited", AMINA, sent.message_id)
    emulator.unblock(AMINA, notify=False)
    await bot.send_message(AMINA, "welcome back")


async def test_blocking_tells_the_bot_with_a_my_chat_member_update(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    emulator.block(AMINA)
    (update,) = await bot.get_updates(timeout=0)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


async def test_rejects_invalid_bot_commands(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"^Bot_command_invalid$"):
        await bot.set_my_commands([("Start", "Begin")])
    with pytest.raises(BadRequest, match=r"^Command description must be non-empty$"):
        await bot.set_my_commands([("start", " ")])
    with pytest.raises(BadRequest, match=r"^Invalid language code specified$"):
        await bot.set_my_commands([("start", "Begin")], language_code="swa")


async def test_rejects_a_photo_that_is_not_an_image(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"^Image_process_failed$"):
        await bot.send_photo(AMINA, b"question,answer\n")


async def test_accepts_uploads_sent_with_attach_references(emulator: BotApiEmulator) -> None:
    emulator.user(AMINA, "Amina")
    form = aiohttp.FormData()
    form.add_field("chat_id", str(AMINA))
    form.add_field("document", "attach://export")
    form.add_field("export", b"id,score\n", filename="scores.csv", content_type="text/csv")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emulator.base_url}{TOKEN}/sendDocument", data=form) as response:
            body = await response.json()
    assert body["ok"], body
    assert body["result"]["document"]["file_name"] == "scores.csv"
    assert emulator.user(AMINA).last_message.document == b"id,score\n"  # type: ignore[union-attr]


async def test_accepts_json_bodies_and_query_strings(emulator: BotApiEmulator) -> None:
    emulator.user(AMINA, "Amina")
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{emulator.base_url}{TOKEN}/sendMessage", json={"chat_id": AMINA, "text": "42"}
        ) as response:
            assert (await response.json())["result"]["text"] == "42"
        async with session.get(
            f"{emulator.base_url}{TOKEN}/sendMessage", params={"chat_id": str(AMINA), "text": "true"}
        ) as response:
            assert (await response.json())["result"][
                "text"
            ] == "true"  # text stays text even if it looks like JSON


async def test_rate_limit_answers_429_then_accepts_after_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    async with BotApiEmulator(TOKEN, rate_limit=RateLimit(per_second=1)) as emulator:
        emulator.user(AMINA, "Amina")
        async with Bot(TOKEN, base_url=emulator.base_url) as bot:
            await bot.send_message(AMINA, "1")
            with pytest.raises(RetryAfter) as refused:
                await bot.send_message(AMINA, "2")
            assert refused.value.retry_after == timedelta(seconds=1)
            await bot.send_chat_action(AMINA, "typing")  # not a throttled method

            await asyncio.sleep(1)
            await bot.send_message(AMINA, "2")

        assert emulator.stats.too_many_requests == 1
        assert emulator.stats.messages_per_chat[AMINA] == 2
        assert emulator.errors[-1].description == "Too Many Requests: retry after 1"


async def test_per_chat_rate_limit_throttles_one_chat_not_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    async with BotApiEmulator(TOKEN, rate_limit=RateLimit(per_second=100, per_chat_per_second=1)) as emulator:
        emulator.user(AMINA, "Amina")
        emulator.user(1002, "Omar")
        async with Bot(TOKEN, base_url=emulator.base_url) as bot:
            await bot.send_message(AMINA, "1")
            with pytest.raises(RetryAfter):
                await bot.send_message(AMINA, "2")
            await bot.send_message(1002, "1")


async def test_a_second_get_updates_terminates_the_pending_one_with_conflict(
    bot: Bot, emulator: BotApiEmulator
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await polling_started(emulator)

    async with Bot(TOKEN, base_url=emulator.base_url) as second_instance:
        await second_instance.get_updates(timeout=0)

    with pytest.raises(Conflict, match=r"terminated by other getUpdates request"):
        await first
