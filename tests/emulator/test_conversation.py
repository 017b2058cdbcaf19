"""A person using the tiny bot through the emulator: messages, buttons, media, menus."""

from __future__ import annotations

import pytest
from telegram import BotCommand, ForceReply, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import BadRequest
from telegram.ext import Application

from emulator import BotApiEmulator, Button, Entity

pytestmark = pytest.mark.usefixtures("bot_app")


async def test_start_shows_a_question_with_buttons(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina", language_code="sw")

    update = await amina.send("/start")

    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    message = amina.last_message
    assert message is not None
    assert message.text == "Karibu Amina! Are you ready?"
    assert message.html == "Karibu <b>Amina</b>! Are you ready?"
    assert message.entities == (Entity("bold", 7, 5),)
    assert message.buttons == (
        (Button("Yes", "ready:yes"), Button("No", "ready:no")),
        (Button("Don't know", "ready:unsure"),),
    )
    assert amina.buttons == ["Yes", "No", "Don't know"]
    assert emulator.errors == []


async def test_clicking_a_button_answers_and_edits_the_question(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina")
    await amina.send("/start")

    await amina.click("Don't know")

    message = amina.last_message
    assert message is not None and message.edited
    assert message.text == "You chose: Don't know"
    assert message.buttons == ()  # editMessageText without reply_markup removes the keyboard, as on Telegram
    assert [(a.text, a.show_alert) for a in amina.callback_answers] == [("Saved", False)]
    assert emulator.unanswered_callback_queries() == []
    assert "pressed [Don't know]" in amina.transcript()
    assert emulator.errors == []


async def test_click_on_a_missing_button_lists_the_buttons_there(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina")
    await amina.send("/start")

    with pytest.raises(AssertionError, match=r"no inline button 'Maybe'.*\['Yes', 'No', \"Don't know\"\]"):
        await amina.click("Maybe")


async def test_forged_callback_data_reaches_the_bot_on_the_newest_keyboard(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina")
    await amina.send("/start")

    update = await amina.click_data("forged:data")

    assert update["callback_query"]["data"] == "forged:data"
    assert update["callback_query"]["message"]["message_id"] == amina.keyboard_message.message_id  # type: ignore[union-attr]
    assert amina.callback_answers[-1].text == "This button has expired"
    assert amina.callback_answers[-1].show_alert


async def test_unanswered_callback_queries_are_reported(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina")
    await amina.send("/start")

    update = await amina.click_data("ignore-me")

    assert emulator.unanswered_callback_queries() == [update["callback_query"]["id"]]


async def test_bot_photos_and_documents_keep_their_bytes(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina")

    await amina.send("/files")

    photo, document = amina.messages
    assert photo.media == "photo" and photo.photo is not None and photo.photo.startswith(b"\x89PNG")
    assert (photo.caption, photo.caption_html) == ("Your chart", "Your <b>chart</b>")
    assert document.media == "document"
    assert (document.document_name, document.document) == ("answers.csv", b"question,answer\nq1,yes\n")


async def test_user_media_arrive_as_updates_ptb_understands(emulator: BotApiEmulator) -> None:
    amina = emulator.user(1001, "Amina")

    await amina.send_sticker("🎉")
    await amina.send_photo()
    await amina.send_voice()
    await amina.send_location()
    await amina.send_document(b"a,b\n", "data.csv", "text/csv")

    assert [m.text for m in amina.messages] == [
        "Got sticker 🎉",
        "Got photo of 71 bytes",
        "Got voice note",
        "Got location -1.29",
        "Got document data.csv",
    ]


async def test_users_have_separate_chats(emulator: BotApiEmulator) -> None:
    amina, omar = emulator.user(1001, "Amina"), emulator.user(1002, "عمر", language_code="ar")

    await amina.send("/start")
    await omar.send("hello")

    assert [m.text for m in omar.messages] == ["Got text hello"]
    assert amina.last_message is not None and amina.last_message.text.startswith("Karibu Amina")


async def test_command_menus_are_stored_per_scope_and_language(
    emulator: BotApiEmulator, bot_app: Application
) -> None:
    await bot_app.bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("help", "Help")])
    await bot_app.bot.set_my_commands([BotCommand("start", "Anza")], language_code="sw")

    assert emulator.commands() == [("start", "Begin"), ("help", "Help")]
    assert emulator.commands(language_code="sw") == [("start", "Anza")]
    assert emulator.commands(language_code="fr") == []
    assert [c.command for c in await bot_app.bot.get_my_commands(language_code="sw")] == ["start"]

    await bot_app.bot.delete_my_commands(language_code="sw")
    assert emulator.commands(language_code="sw") == []


async def test_wait_for_returns_a_message_the_bot_sends_on_its_own(
    emulator: BotApiEmulator, bot_app: Application
) -> None:
    amina = emulator.user(1001, "Amina")
    bot_app.job_queue.run_once(lambda ctx: ctx.bot.send_message(1001, "Reminder: finish the survey"), 0.05)  # type: ignore[union-attr]

    message = await amina.wait_for(lambda m: m.text.startswith("Reminder"), timeout=5)

    assert message.text == "Reminder: finish the survey"


async def test_reply_keyboards_stay_until_the_bot_removes_them(
    emulator: BotApiEmulator, bot_app: Application
) -> None:
    amina = emulator.user(1001, "Amina")

    await bot_app.bot.send_message(
        1001, "Pick a region", reply_markup=ReplyKeyboardMarkup([["North", "South"]])
    )
    await bot_app.bot.send_message(1001, "Your name?", reply_markup=ForceReply())
    assert amina.reply_keyboard == (("North", "South"),)
    assert amina.last_message is not None and amina.last_message.force_reply

    await bot_app.bot.send_message(1001, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert amina.reply_keyboard is None


async def test_deleted_messages_leave_the_chat(emulator: BotApiEmulator, bot_app: Application) -> None:
    amina = emulator.user(1001, "Amina")
    sent = await bot_app.bot.send_message(1001, "Temporary")

    await bot_app.bot.delete_message(1001, sent.message_id)

    assert amina.messages == []
    with pytest.raises(BadRequest, match=r"^Message to delete not found$"):
        await bot_app.bot.delete_message(1001, sent.message_id)


async def test_files_can_be_sent_again_by_file_id_and_captions_edited(
    emulator: BotApiEmulator, bot_app: Application
) -> None:
    amina = emulator.user(1001, "Amina")
    first = await bot_app.bot.send_document(1001, b"id,score\n", filename="scores.csv", caption="v1")
    assert first.document is not None

    again = await bot_app.bot.send_document(1001, first.document.file_id)
    await bot_app.bot.edit_message_caption(1001, first.message_id, caption="<b>v2</b>", parse_mode="HTML")

    assert again.document is not None and again.document.file_name == "scores.csv"
    assert [(m.document_name, m.caption, m.edited) for m in amina.messages] == [
        ("scores.csv", "v2", True),
        ("scores.csv", None, False),
    ]
    file = await bot_app.bot.get_file(first.document.file_id)
    assert await file.download_as_bytearray() == b"id,score\n"
