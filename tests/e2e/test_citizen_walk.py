"""A citizen completes the questionnaire in their own language, over the real Bot API protocol."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.i18n import RLM, Catalogs
from bot.screens import Texts
from conversations.model import Questionnaire
from emulator import BotApiEmulator

from .walk import answer_all, lowest, shown_question

# The languages of the METEP pilot countries (Kazakhstan, Indonesia, Azerbaijan, Iran) and Uzbekistan.
PILOT_LOCALES = ["kk", "id", "az", "fa", "uz"]
LOCALES = ["en", "fr", "es", "ar", "ru", "zh", "sw", *PILOT_LOCALES]
MODERATOR = 1  # the e2e settings' moderator


async def consent(user, catalogs: Catalogs, locale: str) -> None:  # noqa: ANN001
    t = catalogs.translator(locale)
    await user.send("/start")
    await user.click("✓ " + catalogs.autonym(locale))
    await user.click(t._("I agree"))


@pytest.mark.parametrize("locale", LOCALES)
async def test_full_walk_in_each_language_ends_with_scores(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire, locale: str) -> None:
    t = catalogs.translator(locale)
    user = bot.user(100, first_name="Amina", language_code=locale)
    await user.send("/start")
    assert t._("Please choose your language:") in user.last_message.text
    assert "✓ " + catalogs.autonym(locale) in user.buttons
    await user.click("✓ " + catalogs.autonym(locale))
    await user.click(t._("I agree"))
    first = user.last_message.text
    assert t._("Part {part} of {parts} · question {number} of {total}").format(
        part=t.number(1), parts=t.number(5), number=t.number(1), total=t.number(6)) in first

    seen = await answer_all(user, metep, t, choose=lambda q: "yes" if q.scale else "A comment")

    assert len(seen) == 37  # every follow-up shown after "yes"
    summary = user.last_message.text
    thanks = t._("<b>Thank you! Your answers are recorded.</b>")
    assert thanks.removeprefix("<b>").removesuffix("</b>") in summary
    assert t._("very high") in summary  # "yes" and "agree" everywhere
    if locale == "en":  # a view, not a grade: bands without overlap, and what happens next
        assert "How you see E-consultation: 100, very high" in summary
        assert "there are no right answers" in summary
        assert "middle: 25 to under 50; high: 50 to under 75" in summary
        assert "What happens next:" in summary


@pytest.mark.parametrize(("locale", "one"), [("ar", "1"), ("fa", "۱")])
async def test_right_to_left_lines_read_right_to_left_with_numbers_isolated(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire, locale: str,
        one: str) -> None:
    user = bot.user(101, language_code=locale)
    await consent(user, catalogs, locale)
    await user.click(catalogs.translator(locale).pgettext("metep:scale:yes_no:no", "No"))
    text = user.last_message.text
    assert all(line.startswith(RLM) for line in text.split("\n") if line)
    assert f"\u2068{one}\u2069" in text  # "Part 1 of 5": the digits are isolated
    assert "▶ " + catalogs.translator(locale)._("Back") in user.buttons  # pointing back, rightwards


def lines_directed(text: str) -> bool:
    return all(line.startswith(RLM) for line in text.split("\n") if line)


@pytest.mark.parametrize("locale", PILOT_LOCALES)
async def test_a_pilot_countrys_language_carries_the_questionnaire_summary_and_announcement(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire, locale: str) -> None:
    t = catalogs.translator(locale)
    citizen = bot.user(120, language_code=locale)
    await citizen.send("/start")  # greeted in the language Telegram reports
    assert t._("Please choose your language:") in citizen.last_message.text
    await citizen.click("✓ " + catalogs.autonym(locale))
    await citizen.click(t._("I agree"))
    seen = await answer_all(citizen, metep, t, choose=lowest)
    assert len(seen) == 33
    scores = citizen.last_message.text
    assert t._("Overall, as you see it: {score}, {band}").format(
        score=t.number(0), band=t._("low")) in scores

    moderator = bot.user(MODERATOR, language_code=locale)
    await moderator.send("/summary")
    legend = t._("Scores from 0 to 100; the gap is officials minus citizens, in points.")
    summary = next(m.text for m in moderator.messages if m.text and legend in m.text)
    assert t.ngettext("fewer than {count} respondent", "fewer than {count} respondents", 5) \
        .split("{count}")[0] in summary

    newcomer = bot.user(121, language_code=locale)  # subscribed, not finished: asked to answer
    await newcomer.send("/start")
    await newcomer.click("✓ " + catalogs.autonym(locale))
    await newcomer.click(t._("I agree"))
    await moderator.send("/broadcast")
    await moderator.click(Texts(metep, t).title()[:60])
    await moderator.click(t._("Send"))
    announcement = await newcomer.wait_for(lambda m: t._("Answer now") in m.button_texts)
    assert Texts(metep, t).title() in announcement.text

    if t.rtl:
        assert all(lines_directed(text) for text in (scores, summary, announcement.text))
    if locale == "fa":  # every number is written in Persian digits
        assert not any(c.isascii() and c.isdigit() for c in scores + summary)


async def test_language_code_missing_falls_back_to_english(bot: BotApiEmulator) -> None:
    user = bot.user(102, language_code=None)
    await user.send("/start")
    assert "Welcome to Baraza." in user.last_message.text
    assert "✓ English" in user.buttons


async def test_language_can_be_changed_mid_questionnaire(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    user = bot.user(103, language_code="en")
    await consent(user, catalogs, "en")
    await answer_all(user, metep, catalogs.translator("en"), stop_after=2)
    await user.send("/language")
    await user.click("Kiswahili")
    sw = catalogs.translator("sw")
    assert sw._("Language set to {language}.").format(language="Kiswahili") in user.messages[-2].text
    question = shown_question(metep, sw, user.last_message.text)
    assert question is not None and question.id == "framework.consult_duty"  # the third


async def test_declining_consent_records_nothing_and_start_asks_again(
        bot: BotApiEmulator, catalogs: Catalogs) -> None:
    user = bot.user(104, language_code="fr")
    fr = catalogs.translator("fr")
    await user.send("/start")
    await user.click("✓ Français")
    await user.click(fr._("Not now"))
    assert fr._("Understood: no answers were recorded. Send /start if you change your mind.") \
        in user.last_message.text
    await user.send("/start")
    assert "✓ Français" in user.buttons


async def test_back_returns_to_the_previous_question_and_an_answer_can_be_changed(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")
    user = bot.user(105, language_code="en")
    await consent(user, catalogs, "en")
    await user.click("Yes")  # framework.info_law
    await user.click("◀ Back")
    assert "✓ Yes" in user.buttons
    await user.click("No")  # the follow-up is no longer asked
    question = shown_question(metep, t, user.last_message.text)
    assert question is not None and question.id == "framework.consult_duty"
    await user.send("/back")
    assert "✓ No" in user.buttons


async def test_help_lists_the_commands_in_the_users_language(
        bot: BotApiEmulator, catalogs: Catalogs) -> None:
    ru = catalogs.translator("ru")
    user = bot.user(106, language_code="ru")
    await user.send("/help")
    assert "/language — " + ru._("Change the language") in user.last_message.text


async def test_command_menu_is_registered_per_language(bot: BotApiEmulator, catalogs: Catalogs) -> None:
    assert ("help", "How this bot works") in bot.commands()
    assert len(catalogs.locales) == 12
    for locale in catalogs.locales[1:]:
        t = catalogs.translator(locale)
        assert ("help", t._("How this bot works")) in bot.commands(language_code=locale)


async def test_fifty_respondents_at_once_all_finish(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")

    async def respondent(user_id: int) -> int:
        user = bot.user(user_id, language_code="en")
        await consent(user, catalogs, "en")
        seen = await answer_all(user, metep, t,
                                choose=lambda q: ("no" if user_id % 2 else "yes") if q.scale else None)
        assert "Thank you! Your answers are recorded." in user.last_message.text
        return len(seen)

    counts = await asyncio.gather(*(respondent(1000 + i) for i in range(50)))
    assert set(counts) == {33, 37}


async def test_the_progress_total_never_grows_during_a_walk(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")
    user = bot.user(103, language_code="en")
    await consent(user, catalogs, "en")
    places: list[tuple[int, int, int]] = []

    def record(question):  # noqa: ANN001, ANN202
        found = re.search(r"Part (\d+) of (\d+) · question (\d+) of (\d+)", user.last_message.text)
        assert found is not None, user.last_message.text
        part, parts, _, total = map(int, found.groups())
        places.append((part, parts, total))
        return "yes"  # every follow-up is shown

    seen = await answer_all(user, metep, t, choose=record)
    assert len(seen) == 37
    assert {parts for _, parts, _ in places} == {5}
    for (part, _, total), (next_part, _, next_total) in zip(places, places[1:]):
        assert next_part > part or next_total == total, places


async def test_start_after_stop_asks_before_announcing_again(
        bot: BotApiEmulator, catalogs: Catalogs, metep: Questionnaire) -> None:
    t = catalogs.translator("en")
    user = bot.user(104, language_code="en")
    await consent(user, catalogs, "en")
    await answer_all(user, metep, t, choose=lambda q: "no", stop_after=2)
    await user.send("/stop")
    assert user.last_message.text == (
        "You will no longer receive announcements of new consultations. Your answers are kept, "
        "and you can go on answering: send /start.")
    await user.send("/start")
    resumed = user.messages[-2]
    assert "Welcome back! Let's continue." in resumed.text  # the answers were kept
    assert shown_question(metep, t, resumed.text).id == "framework.data_protection"
    assert user.last_message.text == ("You turned announcements off with /stop. Would you like "
                                      "to hear about new consultations again?")
    await user.click("No, thank you")
    assert user.last_message.text.startswith("Understood: no announcements.")
    await user.send("/start")
    await user.click("Yes, announce them")
    assert user.last_message.text.startswith("You will receive announcements of new "
                                             "consultations again")
    await user.send("/start")
    assert "Welcome back! Let's continue." in user.last_message.text  # not asked any more
