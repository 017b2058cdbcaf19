"""Moderators run consultations, officials join by invitation, citizens are refused the rest."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.application import build_application, running
from bot.config import Settings
from bot.i18n import Catalogs
from conversations.model import Questionnaire
from emulator import BotApiEmulator
from tests.postgres import stored_anywhere

from .test_citizen_walk import consent
from .walk import answer_all, shown_question

MODERATOR = 1  # the e2e settings name user 1 a moderator
REFUSAL = "Sorry, only moderators can do that."


@pytest.mark.parametrize("command", [
    "/consultations", "/newconsultation Secret plans", "/translate 1 fr Titre", "/invite Treasury",
    "/schedule 1 - -", "/addmoderator 500",
])
async def test_citizen_is_refused_every_privileged_command(bot: BotApiEmulator, command: str) -> None:
    citizen = bot.user(500, language_code="en")
    await citizen.send(command)
    assert citizen.last_message.text == REFUSAL


async def test_citizen_gets_the_refusal_in_their_language(bot: BotApiEmulator, catalogs: Catalogs) -> None:
    citizen = bot.user(501, language_code="es")
    await citizen.send("/consultations")
    assert citizen.last_message.text == catalogs.translator("es")._(REFUSAL)


async def test_forged_moderator_button_from_a_citizen_changes_nothing(
        bot: BotApiEmulator, catalogs: Catalogs) -> None:
    citizen = bot.user(502, language_code="en")
    await consent(citizen, catalogs, "en")
    await citizen.click_data("m|close|1")
    assert citizen.callback_answers[-1].text == REFUSAL
    moderator = bot.user(MODERATOR, language_code="en")
    await moderator.send("/consultations")
    assert "#1 · open" in moderator.last_message.text


async def test_whoami_tells_each_role(bot: BotApiEmulator) -> None:
    citizen, moderator = bot.user(503), bot.user(MODERATOR)
    await citizen.send("/whoami")
    await moderator.send("/whoami")
    assert citizen.last_message.text == "Your role: citizen.\nYour Telegram id: 503"
    assert moderator.last_message.text == "Your role: moderator.\nYour Telegram id: 1"


async def invitation_token(moderator, agency: str = "") -> str:  # noqa: ANN001
    await moderator.send(f"/invite {agency}".strip())
    match = re.search(r"\?start=([A-Za-z0-9_-]+)", moderator.last_message.text)
    assert match, moderator.last_message.text
    return match[1]


async def test_official_joins_by_a_single_use_invitation(bot: BotApiEmulator) -> None:
    moderator = bot.user(MODERATOR)
    token = await invitation_token(moderator, "Ministry of ICT")
    assert f"https://t.me/{bot.bot_user['username']}?start={token}" in moderator.last_message.text

    official = bot.user(510, language_code="en")
    await official.send(f"/start {token}")
    assert "You are now registered as an official." in official.messages[0].text
    await official.send("/whoami")
    assert official.last_message.text == (
        "Your role: official.\nAgency or region: Ministry of ICT\nYour Telegram id: 510")

    stranger = bot.user(511, language_code="en")
    await stranger.send(f"/start {token}")
    assert "This invitation link is not valid" in stranger.messages[0].text
    await stranger.send("/whoami")
    assert stranger.last_message.text.startswith("Your role: citizen.")


async def test_forged_invitation_token_is_refused(bot: BotApiEmulator) -> None:
    user = bot.user(512)
    await user.send("/start inv_abcdefghijklmnopqrstuvwxyz012345")
    assert "This invitation link is not valid" in user.messages[0].text


async def test_other_deep_links_are_not_taken_for_invitations(bot: BotApiEmulator) -> None:
    user = bot.user(513)
    await user.send("/start from-a-poster")
    assert "Welcome to Baraza." in user.messages[0].text


async def test_invitations_are_stored_only_as_hashes(bot: BotApiEmulator, settings: Settings) -> None:
    token = await invitation_token(bot.user(MODERATOR))
    assert not await stored_anywhere(settings.database, token)


async def test_moderator_creates_translates_and_opens_a_consultation_citizens_then_choose(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    moderator = bot.user(MODERATOR, language_code="en")
    await moderator.send("/newconsultation Budget 2027 | How open is the budget process?")
    assert "Consultation #2 was created as a draft." in moderator.last_message.text
    await moderator.send("/translate 2 fr Budget 2027 | Le budget est-il ouvert ?")
    assert "Saved the Français text of consultation #2." in moderator.last_message.text
    await moderator.send("/consultations")
    await moderator.click("Open #2")
    assert moderator.callback_answers[-1].text == "Consultation #2 is now open."
    assert "#2 · open · Budget 2027" in moderator.last_message.text

    citizen = bot.user(520, language_code="fr")
    await consent(citizen, catalogs, "fr")
    fr = catalogs.translator("fr")
    assert fr._("Several consultations are open. Which one would you like to answer?") \
        in citizen.last_message.text
    await citizen.click("Budget 2027")
    assert "Le budget est-il ouvert ?" in citizen.last_message.text
    assert shown_question(metep, fr, citizen.last_message.text).id == "framework.info_law"


async def test_closed_consultation_refuses_answers_in_the_users_language(
        bot: BotApiEmulator, catalogs: Catalogs) -> None:
    citizen = bot.user(530, language_code="ru")
    await consent(citizen, catalogs, "ru")
    moderator = bot.user(MODERATOR, language_code="en")
    await moderator.send("/consultations")
    await moderator.click("Close #1")
    await moderator.click("Yes, close #1")
    ru = catalogs.translator("ru")
    await citizen.click(ru.pgettext("metep:scale:yes_no:yes", "Yes"))
    closed = ru._("This consultation is closed and no longer takes answers. Thank you for your interest.")
    assert citizen.callback_answers[-1].text == closed
    await citizen.send("/start")
    assert ru._("No consultation is open right now. We will let you know when one opens.") \
        in citizen.last_message.text
    assert "Open #1" not in moderator.buttons and "Reopen #1" in moderator.buttons


async def test_close_asks_first_and_a_reopened_consultation_keeps_its_answers(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")
    halfway = bot.user(531, language_code="en")
    await consent(halfway, catalogs, "en")
    await answer_all(halfway, metep, t, choose=lambda q: "no", stop_after=2)
    moderator = bot.user(MODERATOR, language_code="en")
    await moderator.send("/consultations")
    await moderator.click("Close #1")
    question = moderator.last_message.text
    assert "Close consultation #1" in question
    assert "1 person is halfway through it and will not be able to finish." in question
    await moderator.click("Keep it open")  # changed their mind: nothing happens
    assert "#1 · open" in moderator.last_message.text
    await moderator.click("Close #1")
    await moderator.click("Yes, close #1")
    assert "#1 · closed" in moderator.last_message.text

    await moderator.click("Reopen #1")
    assert moderator.callback_answers[-1].text == (
        "Consultation #1 is open again; every answer given before is kept.")
    assert "#1 · open" in moderator.last_message.text
    await halfway.send("/start")
    assert "Welcome back! Let's continue." in halfway.last_message.text
    assert shown_question(metep, t, halfway.last_message.text).id == "framework.data_protection"


async def test_a_draft_can_be_edited_and_deleted(bot: BotApiEmulator) -> None:
    moderator = bot.user(MODERATOR, language_code="en")
    await moderator.send("/newconsultation Wrong title")
    await moderator.send("/translate 2 en Right title | Now described")
    assert moderator.last_message.text == "Saved the English text of consultation #2."
    await moderator.send("/consultations")
    assert "#2 · draft · Right title" in moderator.last_message.text
    await moderator.click("Delete #2")
    assert "Delete the draft #2, Right title" in moderator.last_message.text
    await moderator.click("Yes, delete #2")
    assert "#2" not in moderator.last_message.text.split("\n\n")[0]
    await moderator.send("/translate 2 en Gone")
    assert moderator.last_message.text == (
        "Nothing was changed:\n• There is no consultation #2: /consultations lists them.")


async def test_schedule_with_a_past_date_is_refused_and_nothing_changes(
        bot: BotApiEmulator) -> None:
    moderator = bot.user(MODERATOR)
    await moderator.send("/newconsultation Later")
    await moderator.send("/schedule 2 2020-01-01T09:00 2020-02-01T18:00")
    assert moderator.last_message.text == (
        "Nothing was changed:\n"
        "• The opening time, January 1, 2020, 9:00\u202fAM (UTC), has passed: give a later one, "
        "or - to open it from /consultations.\n"
        "• The closing time, February 1, 2020, 6:00\u202fPM (UTC), has passed: give a later one, "
        "or - for none.")
    await moderator.send("/consultations")
    assert "#2 · draft · Later" in moderator.last_message.text
    assert "opens" not in moderator.last_message.text and "closes" not in moderator.last_message.text


async def test_schedule_names_each_wrong_field(bot: BotApiEmulator) -> None:
    moderator = bot.user(MODERATOR)
    await moderator.send("/schedule")
    assert moderator.last_message.text.startswith("Usage: /schedule number OPENS CLOSES, times "
                                                  "in UTC")
    await moderator.send("/schedule 1 2030-02-01T00:00 2030-01-01T00:00")
    assert moderator.last_message.text == (
        "Nothing was changed:\n"
        "• Consultation #1 is open already: give - as the opening time.\n"
        "• The closing time, January 1, 2030, 12:00\u202fAM (UTC), is not after the opening "
        "time, February 1, 2030, 12:00\u202fAM (UTC).")
    await moderator.send("/schedule abc 2030-02-30T09:00 -")
    assert moderator.last_message.text == (
        "Nothing was changed:\n"
        "• “abc” is not a consultation number: give the number shown in /consultations, such "
        "as 3.\n"
        "• “2030-02-30T09:00” is not a date and time that exists: write it as 2030-01-31T09:00 "
        "(year, month, day, then the hour).")
    await moderator.send("/translate 1 xx Titre")
    assert moderator.last_message.text.startswith(
        "Nothing was changed:\n• “xx” is not a language of this bot. The languages are: "
        "en (English), ar (العربية)")


async def test_scheduled_consultation_opens_and_closes_on_time_even_across_a_restart(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire, catalogs: Catalogs) -> None:
    moderator = emulator.user(MODERATOR, language_code="en")
    first = build_application(settings, metep, catalogs, update_processor=emulator.processor)  # type: ignore[attr-defined]
    async with running(first, poll_timeout=1):
        await moderator.send("/newconsultation Timed")
        opens = datetime.now(UTC) + timedelta(seconds=3)
        closes = opens + timedelta(seconds=2)
        await moderator.send(f"/schedule 2 {opens:%Y-%m-%dT%H:%M:%S} {closes:%Y-%m-%dT%H:%M:%S}")
        assert moderator.last_message.text.startswith("Schedule of consultation #2 saved.")
    # The bot was down while the jobs were due to be set up; a new one rebuilds them.
    second = build_application(settings, metep, catalogs, update_processor=emulator.processor)  # type: ignore[attr-defined]
    async with running(second, poll_timeout=1):
        await asyncio.sleep(max(0.0, (opens - datetime.now(UTC)).total_seconds()) + 0.5)
        await moderator.send("/consultations")
        assert "#2 · open · Timed" in moderator.last_message.text
        await asyncio.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.5)
        await moderator.send("/consultations")
        assert "#2 · closed · Timed" in moderator.last_message.text
    assert emulator.errors == []


async def test_help_shows_moderators_their_commands_and_citizens_not(bot: BotApiEmulator) -> None:
    moderator, citizen = bot.user(MODERATOR), bot.user(540)
    await moderator.send("/help")
    await citizen.send("/help")
    assert "/consultations — List, open and close consultations" in moderator.last_message.text
    assert "/consultations" not in citizen.last_message.text


async def test_a_moderator_adds_another_moderator_who_can_then_moderate(bot: BotApiEmulator) -> None:
    moderator, newcomer = bot.user(MODERATOR), bot.user(550)
    await moderator.send("/addmoderator 551")
    assert moderator.last_message.text.startswith("No one with that id has used this bot yet")
    await newcomer.send("/consultations")
    assert newcomer.last_message.text == REFUSAL
    await moderator.send("/addmoderator 550")
    assert moderator.last_message.text == "User 550 is now a moderator."
    await newcomer.send("/consultations")
    assert "#1 · open" in newcomer.last_message.text
    await moderator.send("/addmoderator")
    assert moderator.last_message.text.startswith("Usage: /addmoderator")
    for wrong in ("bob", "²", "1" * 17):
        await moderator.send(f"/addmoderator {wrong}")
        assert moderator.last_message.text == (
            f"“{wrong}” is not a Telegram id: give the number someone sees with /whoami, such "
            "as 123456789.")


async def test_the_consultation_list_fits_one_message_however_many_long_titles(
        bot: BotApiEmulator) -> None:
    moderator = bot.user(MODERATOR)
    for number in range(25):
        await moderator.send(f"/newconsultation {'Long title ' * 18}{number}"[:220].strip())
    await moderator.send("/consultations")
    assert len(moderator.last_message.text) <= 4096
    assert "#26" in moderator.last_message.text  # the newest come first


async def test_a_new_questionnaire_version_gets_its_own_open_consultation(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire, catalogs: Catalogs) -> None:
    import dataclasses

    citizen = emulator.user(560, language_code="en")
    first = build_application(settings, metep, catalogs, update_processor=emulator.processor)  # type: ignore[attr-defined]
    async with running(first, poll_timeout=1):
        await consent(citizen, catalogs, "en")
        await citizen.click("Yes")
    revised = dataclasses.replace(metep, version=metep.version + 1)
    second = build_application(settings, revised, catalogs, update_processor=emulator.processor)  # type: ignore[attr-defined]
    async with running(second, poll_timeout=1):
        await citizen.send("/start")  # the old version's consultation cannot run any more
        assert shown_question(revised, catalogs.translator("en"),
                              citizen.last_message.text).id == "framework.info_law"
        moderator = emulator.user(MODERATOR)
        await moderator.send("/consultations")
        assert "#2 · open" in moderator.last_message.text
    assert emulator.errors == []
