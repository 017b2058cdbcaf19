"""Bad input gets a short translated answer that says what to do; the conversation is unharmed."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.i18n import Catalogs
from conversations.model import Questionnaire
from emulator import BotApiEmulator
from tests.postgres import query_database

from .test_citizen_walk import consent
from .walk import answer_all, lowest, shown_question


@pytest.fixture
async def answering(bot: BotApiEmulator, catalogs: Catalogs):  # noqa: ANN201
    """A French-speaking respondent who has agreed and sees the first question."""
    user = bot.user(200, language_code="fr")
    await consent(user, catalogs, "fr")
    return user


@pytest.mark.parametrize("send", ["send_sticker", "send_photo", "send_voice", "send_location",
                                  "send_document"])
async def test_non_text_messages_are_explained_and_the_question_shown_again(
        answering, catalogs: Catalogs, metep: Questionnaire, send: str) -> None:  # noqa: ANN001
    fr = catalogs.translator("fr")
    await getattr(answering, send)()
    text = answering.last_message.text
    assert fr._("I can only read text messages and button taps.") in text
    assert shown_question(metep, fr, text).id == "framework.info_law"


async def test_text_that_matches_no_answer_gets_a_reminder_without_the_question_again(
        answering, catalogs: Catalogs, metep: Questionnaire) -> None:  # noqa: ANN001
    fr = catalogs.translator("fr")
    question = answering.last_message
    for typed in ("peut-être", "7"):
        await answering.send(typed)
        reminder = answering.last_message
        assert reminder.text == fr._(
            "That is not one of the answers. Tap a button under the question, or type an "
            "answer's text or its number (1 for the first).")
        assert reminder.reply_to_message_id == question.message_id  # it points at the question
        assert not reminder.buttons
    assert [m for m in answering.messages if m.buttons] == [question]  # never reposted
    await answering.click(fr.pgettext("metep:scale:yes_no:yes", "Yes"))
    edited = answering.message(question.message_id)
    assert shown_question(metep, fr, edited.text).id == "framework.info_law_used"


@pytest.mark.parametrize(("locale", "typed", "option"), [
    ("en", "Yes", "yes"), ("en", "  NO. ", "no"), ("sw", "ndiyo", "yes"), ("en", "1", "yes"),
    ("fr", "2", "no"), ("ar", "١", "yes")])
async def test_typing_an_answers_text_or_number_answers_the_question(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire,
        locale: str, typed: str, option: str) -> None:
    t = catalogs.translator(locale)
    user = bot.user(210, language_code=locale)
    await consent(user, catalogs, locale)
    await user.send(typed)
    text = user.last_message.text
    label = t.pgettext(f"metep:scale:yes_no:{option}", "Yes" if option == "yes" else "No")
    assert t._("Recorded: {answer}").format(answer=t.isolate(label)) in text
    following = "framework.info_law_used" if option == "yes" else "framework.consult_duty"
    assert shown_question(metep, t, text).id == following


async def test_a_typed_comment_is_acknowledged(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")
    user = bot.user(211, language_code="en")
    await consent(user, catalogs, "en")
    await answer_all(user, metep, t, choose=lambda q: "no", stop_after=5)
    await user.send("The portal is hard to find.")
    assert "Thank you: your comment is recorded." in user.last_message.text
    assert shown_question(metep, t, user.last_message.text).id == "e_information.portal"


async def test_over_long_comment_is_refused_with_its_length_and_kept_waiting(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")
    user = bot.user(201, language_code="en")
    await consent(user, catalogs, "en")
    await answer_all(user, metep, t, choose=lambda q: "no", stop_after=5)
    assert shown_question(metep, t, user.last_message.text).id == "framework.comment"
    await user.send("x" * 1500)
    assert "Your answer is 1,500 characters long; the limit is 1,000." in user.last_message.text
    await user.send("Shorter.")
    assert shown_question(metep, t, user.last_message.text).id == "e_information.portal"


async def test_unknown_command_is_answered_in_the_users_language(
        answering, catalogs: Catalogs) -> None:  # noqa: ANN001
    await answering.send("/frobnicate")
    fr = catalogs.translator("fr")
    assert fr._("I don't know that command. Send /help to see what I can do.") in answering.last_message.text


async def test_forged_callback_data_is_refused_and_changes_nothing(
        answering, catalogs: Catalogs, metep: Questionnaire) -> None:  # noqa: ANN001
    fr = catalogs.translator("fr")
    before = answering.last_message
    for data in ("a|1|framework.info_law|maybe", "a|1|nope|yes", "garbage", "l|xx", "a|x|y"):
        await answering.click_data(data)
        assert answering.callback_answers[-1].text == fr._("That button is not valid any more.")
    assert answering.last_message == before


async def test_double_tap_answers_the_question_once(
        answering, bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:  # noqa: ANN001
    fr = catalogs.translator("fr")
    message = answering.last_message
    yes = next(b for row in message.buttons for b in row if b.callback_data.endswith("|yes"))
    await answering.click_data(yes.callback_data, message_id=message.message_id)
    await answering.click_data(yes.callback_data, message_id=message.message_id)
    assert answering.callback_answers[-1].text == fr._("Already recorded.")
    assert shown_question(metep, fr, answering.last_message.text).id == "framework.info_law_used"


async def test_tap_from_an_outdated_keyboard_brings_back_the_current_question(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")
    user = bot.user(202, language_code="en")
    await consent(user, catalogs, "en")
    first = user.last_message  # shows info_law
    await user.click("No")  # the same message now shows consult_duty
    await user.send("/start")  # "welcome back": consult_duty again, in a new message
    await user.click("Yes")  # answered there: now on data_protection
    # A slow client still shows the first message's original keyboard and sends a tap from it.
    await user.click_data("a|1|framework.info_law|yes", message_id=first.message_id)
    assert user.callback_answers[-1].text == t._("That question is no longer open. Here is where you are:")
    assert shown_question(metep, t, user.message(first.message_id).text).id == "framework.data_protection"
    assert [m.message_id for m in user.messages if m.buttons] == [first.message_id]


async def test_button_of_a_consultation_that_does_not_exist_is_refused(
        answering, catalogs: Catalogs) -> None:  # noqa: ANN001
    before = answering.last_message
    await answering.click_data("a|999|framework.info_law|yes")
    fr = catalogs.translator("fr")
    assert answering.callback_answers[-1].text == fr._("That button is not valid any more.")
    assert answering.last_message == before


async def test_back_on_the_first_question_explains_there_is_nothing_before(
        answering, catalogs: Catalogs) -> None:  # noqa: ANN001
    await answering.send("/back")
    fr = catalogs.translator("fr")
    assert fr._("This is the first question; there is nothing before it.") in answering.last_message.text


async def test_answers_before_start_ask_to_start(bot: BotApiEmulator) -> None:
    user = bot.user(203, language_code="en")
    await user.send("hello")
    assert "Send /start to begin." in user.last_message.text
    await user.send_sticker()
    assert "I can only read text messages and button taps." in user.last_message.text


async def test_finished_respondent_sees_their_scores_again_on_start(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")
    user = bot.user(204, language_code="en")
    await consent(user, catalogs, "en")
    await answer_all(user, metep, t, choose=lowest)
    await user.send("/start")
    assert "Overall, as you see it: 0, low" in user.last_message.text
    await user.send("more")
    assert t._("You have already completed the questionnaire. Send /start to see your scores.") \
        in user.last_message.text


async def test_only_the_message_showing_the_current_question_keeps_buttons(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")
    user = bot.user(205, language_code="en")
    await consent(user, catalogs, "en")
    await user.send("/start")  # "welcome back": the question again, in a new message
    await user.send_sticker()  # explained, and the question once more
    with_buttons = [m for m in user.messages if m.buttons]
    assert len(with_buttons) == 1 and with_buttons[0] is user.last_message
    assert shown_question(metep, t, user.last_message.text).id == "framework.info_law"


async def test_going_back_to_a_comment_keeps_it_unless_removed(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")
    user = bot.user(206, language_code="en")
    await consent(user, catalogs, "en")
    await answer_all(user, metep, t, choose=lowest, stop_after=5)
    await user.send("My comment")
    await user.send("/back")
    assert "Your answer so far: My comment" in user.last_message.text
    await user.click("Keep my answer")
    assert shown_question(metep, t, user.last_message.text).id == "e_information.portal"
    await user.click("◀ Back")
    await user.click("Remove my answer")
    await user.click("◀ Back")
    assert user.buttons[0] == "Skip"  # no answer any more


async def test_back_twice_on_the_same_message_goes_back_twice(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")
    user = bot.user(207, language_code="en")
    await consent(user, catalogs, "en")
    await answer_all(user, metep, t, choose=lowest, stop_after=3)
    await user.click("◀ Back")
    await user.click("◀ Back")
    assert shown_question(metep, t, user.last_message.text).id == "framework.consult_duty"


async def test_a_user_who_blocked_the_bot_is_marked_as_blocked(
        bot: BotApiEmulator, catalogs: Catalogs, settings: Settings) -> None:
    user = bot.user(208, language_code="en")
    await consent(user, catalogs, "en")
    bot.block(208, notify=False)
    await user.send("/help")  # the reply is refused with 403 Forbidden
    assert [e.code for e in bot.errors] == [403]
    bot.errors.clear()  # that refusal is the point of this test
    [(blocked_at,)] = await query_database(
        settings.database, "SELECT blocked_at FROM respondents WHERE user_id = 208")
    assert blocked_at is not None
