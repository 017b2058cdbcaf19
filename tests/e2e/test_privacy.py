"""People see and erase their data; roles are taken back; exports and logs give nobody away."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.i18n import Catalogs
from bot.logs import redact_handler
from conversations.model import Question, Questionnaire
from emulator import BotApiEmulator
from emulator.user import EmulatedUser
from tests.postgres import query_database, table_columns

from .conftest import TOKEN
from .test_summaries import MODERATOR, best, bot_running, citizens, invitation, officials, take_part
from .walk import lowest

COMMENT = "The clinic in Kibera needs a ramp"
PERSON = 7_300_001


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A minimum group of three: three officials are no more than it, four citizens are more."""
    return replace(settings, moderators=frozenset({MODERATOR}), min_group=3)


def commenting(question: Question) -> str | None:
    return COMMENT if question.id == "inclusion.comment" else lowest(question)


async def cells_holding(database: Path | str, user_id: int) -> list[str]:
    """Every table and column, found by reading the schema, where the id is stored."""
    columns = await table_columns(database)
    assert {"respondents", "sessions", "audit_log", "deliveries"} <= {t for t, _ in columns}
    found = []
    for table, column in columns:
        for (value,) in await query_database(database, f'SELECT "{column}" FROM "{table}"'):
            if value == user_id or (isinstance(value, (str, bytes))
                                    and str(user_id) in str(value)):
                found.append(f"{table}.{column}")
    return found


async def test_mydata_sends_the_persons_answers_in_their_language(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    person = bot.user(PERSON, language_code="en")
    await take_part(person, metep, catalogs, commenting)

    await person.send("/mydata")

    message, file = person.messages[-2], person.last_message
    assert message.text.startswith("What Baraza stores about you")
    assert "#1 E-participation self-assessment: 33 answers, finished" in message.text
    assert file.document_name == "baraza-my-data.json" and file.document is not None
    data = json.loads(file.document)
    assert data["telegram_id"] == PERSON and data["language"] == "en"
    (consultation,) = data["consultations"]
    first = consultation["answers"][0]
    assert (first["question_id"], first["option_id"], first["answer"]) == (
        "framework.info_law", "no", "No")
    assert COMMENT in [a["comment"] for a in consultation["answers"]]
    assert data["audit_trail"] == []  # nothing privileged was done by or to them


async def test_forget_erases_the_person_from_every_table_and_every_figure(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs, settings: Settings) -> None:
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002, 7_100_003, 7_100_004)
    person = bot.user(PERSON, language_code="en")
    await take_part(person, metep, catalogs, commenting)
    moderator = bot.user(MODERATOR, language_code="en")
    await moderator.send("/addmoderator %d" % PERSON)  # a role, a grant in the audit trail
    await person.send("/digest")
    await moderator.send("/summary")
    assert await summarised_citizens(settings.database) == 5

    await person.send("/forget")
    assert person.buttons == ["Erase everything", "Keep my data"]
    await person.click("Erase everything")

    text = person.last_message.text
    assert text.startswith("Everything Baraza stored about you has been erased.")
    assert "Answers: 32\nComments: 1\nConsultations: 1" in text
    assert "Your role as official or moderator was removed." in text
    assert await cells_holding(settings.database, PERSON) == []
    await moderator.send("/summary")
    assert await summarised_citizens(settings.database) == 4  # the running totals no longer count them
    assert "Finished: 4 · citizens: 4" in summary_text(moderator)
    await moderator.click("Comments")
    assert COMMENT not in moderator.last_message.text
    await moderator.send("/export")
    export = moderator.last_message.document
    assert export is not None and COMMENT.encode() not in export
    await moderator.send("/audit")
    assert "a person's data erased (/forget)" in moderator.last_message.text
    assert str(PERSON) not in moderator.last_message.text


def summary_text(user: EmulatedUser) -> str:
    return next(m.text for m in reversed(user.messages) if m.text and "Finished:" in m.text)


async def summarised_citizens(database: Path | str) -> int:
    """Respondents in the live running totals (the next release's source), overall."""
    ((count,),) = await query_database(
        database,
        "SELECT respondents FROM summary_totals WHERE role = 'citizen' AND pillar_id = '*'")
    return int(count)  # type: ignore[call-overload]


async def test_keep_my_data_erases_nothing(bot: BotApiEmulator, metep: Questionnaire,
                                           catalogs: Catalogs) -> None:
    person = bot.user(PERSON, language_code="en")
    await take_part(person, metep, catalogs)
    await person.send("/forget")
    await person.click("Keep my data")
    assert person.last_message.text == "Nothing was erased."
    await person.send("/mydata")
    assert "33 answers, finished" in person.messages[-2].text


async def test_a_revoked_official_and_a_revoked_moderator_are_refused(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    (official,) = await officials(bot, metep, catalogs, 7_200_001)
    moderator = bot.user(MODERATOR, language_code="en")
    helper = bot.user(7_400_001, language_code="en")
    await helper.send("/start")
    await moderator.send("/addmoderator 7400001")

    await moderator.send("/roles")
    assert "7200001 · official · Ministry of Finance" in moderator.last_message.text
    assert "7400001 · moderator" in moderator.last_message.text
    await moderator.click("Revoke 7200001")
    assert moderator.callback_answers[-1].text == "User 7200001 no longer has the official role."
    assert "7200001" not in moderator.last_message.text  # the list, edited in place
    await moderator.send("/revoke 7400001")
    assert moderator.last_message.text == "User 7400001 no longer has the moderator role."

    await official.send("/summary")
    assert official.last_message.text == "Sorry, only moderators and invited officials can do that."
    await helper.send("/broadcast")
    assert helper.last_message.text == "Sorry, only moderators can do that."
    await moderator.send("/revoke %d" % MODERATOR)
    assert "through BARAZA_MODERATORS" in moderator.last_message.text
    await moderator.send("/audit")
    audit = moderator.last_message.text
    assert "made an official (invitation) · 7200001 · Ministry of Finance" in audit
    assert "role revoked · 7400001 · moderator" in audit


async def test_invitations_stop_with_their_creator_and_are_not_used_up_by_moderators(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    moderator = bot.user(MODERATOR, language_code="en")
    helper = bot.user(7_400_001, language_code="en")
    await helper.send("/start")
    await moderator.send("/addmoderator 7400001")
    token = await invitation(helper)

    await moderator.send("/start " + token)  # a moderator trying the link does not use it
    assert "You are a moderator already" in moderator.messages[-2].text
    await moderator.send("/roles")
    assert "1. Ministry of Finance · expires" in moderator.last_message.text
    await moderator.send("/revoke 7400001")
    official = bot.user(7_200_001, language_code="en")
    await official.send("/start " + token)
    assert "This invitation link is not valid" in official.messages[0].text

    other = await invitation(moderator)
    await moderator.send("/roles")
    await moderator.click("Cancel invitation 1")
    assert moderator.callback_answers[-1].text == "The invitation was cancelled: its link no longer works."
    await official.send("/start " + other)
    assert "This invitation link is not valid" in official.messages[-2].text


async def test_a_moderator_removed_from_the_environment_loses_the_role_at_restart(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    former = emulator.user(7_400_002, language_code="en")
    listed = replace(settings, moderators=frozenset({MODERATOR, 7_400_002}))
    async with bot_running(emulator, listed, metep, catalogs):
        await former.send("/consultations")
        assert "#1 · open" in former.last_message.text
        await emulator.user(MODERATOR).send("/addmoderator 7400002")  # a database record too

    async with bot_running(emulator, settings, metep, catalogs):
        await former.send("/consultations")
        assert former.last_message.text == "Sorry, only moderators can do that."


async def test_an_export_leaves_out_a_group_no_bigger_than_the_minimum(
        bot: BotApiEmulator, metep: Questionnaire, catalogs: Catalogs) -> None:
    await citizens(bot, metep, catalogs, 7_100_001, 7_100_002, 7_100_003, 7_100_004)
    await officials(bot, metep, catalogs, 7_200_001, 7_200_002, 7_200_003)
    moderator = bot.user(MODERATOR, language_code="en")

    await moderator.send("/export")

    sent = moderator.last_message
    note = "Officials are left out: 3 finished, no more than the minimum group of 3."
    assert note in (sent.caption or "")
    assert sent.document is not None
    lines = sent.document.decode("utf-8-sig").splitlines()
    assert lines[0] == "# " + note
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))
    assert len(rows) == 4 * 33 and {r["role"] for r in rows} == {"citizen"}


@contextmanager
def debug_log() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG, PTB's and httpx's included, through a redacting handler."""
    stream = io.StringIO()
    handler = redact_handler(logging.StreamHandler(stream), [TOKEN])
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "telegram", "httpx", "httpcore")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def test_a_debug_log_holds_no_token_invitation_comment_or_name(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire,
        catalogs: Catalogs) -> None:
    with debug_log() as log:
        async with bot_running(emulator, settings, metep, catalogs):
            moderator = emulator.user(MODERATOR, first_name="Wanjiru", language_code="en")
            token = await invitation(moderator)
            official = emulator.user(7_200_001, first_name="Otieno", language_code="en")
            await take_part(official, metep, catalogs, best, start="/start " + token)
            citizen = emulator.user(7_100_001, first_name="Achieng", language_code="en")
            await take_part(citizen, metep, catalogs, commenting)
            await moderator.send("/summary")
            await moderator.click("Comments")
            assert COMMENT in moderator.last_message.text
            await moderator.send("/export")
            await citizen.send("/mydata")
            assert COMMENT.encode() in (citizen.last_message.document or b"")

    written = log.getvalue()
    assert "getUpdates" in written and "sendMessage" in written  # PTB's debug log is in it
    assert len(written) > 100_000
    for secret in (token, token[len("inv_"):], COMMENT, TOKEN, TOKEN.split(":")[1],
                   "Wanjiru", "Otieno", "Achieng", "Ministry of Finance"):
        assert secret not in written, secret


async def test_retention_runs_at_start_forgetting_who_never_consented(
        emulator: BotApiEmulator, settings: Settings, metep: Questionnaire, catalogs: Catalogs,
        caplog: pytest.LogCaptureFixture) -> None:
    from datetime import UTC, datetime, timedelta

    from storage import Database

    long_ago = datetime.now(UTC) - timedelta(days=settings.unconsented_days + 1)
    db = await Database.open(settings.database, clock=lambda: long_ago)
    try:
        await db.respondents.ensure(PERSON, chat_id=PERSON)  # greeted, tapped "Not now", gone
    finally:
        await db.close()

    with caplog.at_level(logging.INFO, logger="bot.retention"):
        async with bot_running(emulator, settings, metep, catalogs):
            pass

    assert await cells_holding(settings.database, PERSON) == []
    assert any("Retention" in r.getMessage() and "respondents 1" in r.getMessage()
               for r in caplog.records)
