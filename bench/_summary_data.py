"""Databases of finished respondents for ``summary_cost.py``, generated once and cached under /tmp.

What a finished respondent leaves in the database, as the bot leaves it (``Turns.consent``,
``Turns.begin``, ``Turns._store``): a respondent row (a language, consent, subscribed, answering the
consultation), a role row for officials, a session of the consultation with the role they had when
they began, every answer they gave (a random walk through the real engine, ``Flow``, so follow-ups
appear only after a "yes" and comments are sometimes typed), the session finished, and the
session's scores and choices added to the running totals with ``SummaryRepository.add_many`` (what
``SummaryRepository.add`` does for one session, in batches).

Two ways to write the same people:

* ``through_repositories``: every row through the repositories, one call per row, exactly the
  calls the bot makes (slow: about 40 awaited statements a respondent);
* ``bulk``: respondents, roles, sessions and answers with ``executemany`` on a plain sqlite3
  connection (the columns the repositories write, with the same values), then the running totals
  through ``SummaryRepository.add_many``. Used for the benchmark's sizes.

``check_bulk_matches`` writes the same people both ways and compares every stored answer, session
and total, so the bulk path is known to leave what the bot leaves.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conversations.flow import AskQuestion, Flow
from conversations.model import Answer, Questionnaire
from conversations.question_results import choices_of
from conversations.scoring import ScoreCard, score_answers

GENERATOR_VERSION = 4  # bump when what is generated changes: the cache key includes it
MODERATOR = 1
OFFICIAL = 2  # the official who reads the summaries (has no session)
FIRST_ID = 1_000_000
LOCALES = ("en", "fr", "sw", "ar", "es")
TITLE = ("County budget 2027", "How should the county spend next year?")
COMMENTS = (
    "The county portal is hard to use on a phone.",
    "Meetings are announced too late for people to attend.",
    "Publish the budget in Swahili as well, please.",
    "=HYPERLINK(\"http://example.org\")",  # the export must neutralise formulas
    "Officials listened this year; keep it up.",
    "Nobody told us what happened to our comments.",
)
BASE = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Walk:
    """One way through the questionnaire: the answers in the order given, and their scores."""

    answers: tuple[Answer, ...]
    card: ScoreCard
    choices: tuple[tuple[str, str], ...]  # what the per-question totals count (``choices_of``)


def role_of(index: int) -> str:
    """85% citizens, 13% officials, 2% moderators (who count only in "everyone")."""
    slot = index % 100
    return "citizen" if slot < 85 else "official" if slot < 98 else "moderator"


def walk_pool(questionnaire: Questionnaire, size: int = 500, seed: int = 11) -> list[Walk]:
    """``size`` random walks through the real engine (show_if respected), each with its scores."""
    rng = random.Random(seed)
    flow = Flow(questionnaire)
    pool = []
    for _ in range(size):
        # Respondents differ in temper: some agree with everything, some with nothing.
        lean = rng.random()
        step = flow.resume(flow.new_progress())
        given: list[Answer] = []
        while isinstance(step.events[0], AskQuestion):
            question = step.events[0].question
            if question.scale is None:
                if rng.random() < 0.12:
                    step = flow.comment(step.progress, rng.choice(COMMENTS))
                else:
                    step = flow.skip(step.progress, question.id)
            else:
                options = question.scale.options
                if rng.random() < 0.1:
                    option = options[-1]  # don't know (last in both scales)
                else:
                    scored = [o for o in options if o.points is not None]
                    weights = [(lean if o.points else 1 - lean) + 0.1 for o in scored]
                    if len(scored) > 2:
                        weights = [1 + lean * o.points + (1 - lean) * (4 - o.points)
                                   for o in scored]
                    option = rng.choices(scored, weights)[0]
                step = flow.choose(step.progress, question.id, option.id)
            assert step.saved is not None, step.events
            given.append(step.saved)
        assert step.progress.finished
        pool.append(Walk(tuple(given), score_answers(questionnaire, step.progress.answers),
                         choices_of(questionnaire, step.progress.answers)))
    return pool


@dataclass(frozen=True)
class Person:
    index: int
    user_id: int
    locale: str
    role: str
    walk: Walk


def people(count: int, pool: list[Walk], seed: int = 5) -> list[Person]:
    rng = random.Random(seed)
    return [Person(i, FIRST_ID + i, LOCALES[i % len(LOCALES)], role_of(i), rng.choice(pool))
            for i in range(count)]


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")  # storage.clock.timestamp's format


def _times(person: Person) -> tuple[datetime, list[str]]:
    started = BASE + timedelta(seconds=person.index * 7)
    return started, [_stamp(started + timedelta(seconds=5 * (j + 1)))
                     for j in range(len(person.walk.answers))]


async def create_consultation(database: Path, questionnaire: Questionnaire) -> int:
    """A fresh database with the consultation (open) and the official who reads summaries."""
    from storage import ConsultationText, Database

    db = await Database.open(database)
    try:
        consultation = await db.consultations.create(
            questionnaire.id, questionnaire.version, {"en": ConsultationText(*TITLE)},
            created_by=MODERATOR, status="open")
        async with db.transaction():
            for user_id, role in ((MODERATOR, None), (OFFICIAL, "official")):
                await db.respondents.ensure(user_id, user_id)
                await db.respondents.set_locale(user_id, "en")
                await db.respondents.record_consent(user_id)
                if role:
                    await db.roles.grant(user_id, role, "Ministry of Finance", MODERATOR)
        return consultation.id
    finally:
        await db.close()


async def through_repositories(database: Path, questionnaire: Questionnaire,
                               consultation_id: int, everyone: list[Person]) -> None:
    """Every row through the repositories, as the bot writes them (one transaction a person)."""
    from storage import Database

    first = Flow(questionnaire).new_progress().cursor
    db = await Database.open(database)
    try:
        for person in everyone:
            async with db.transaction():
                await db.respondents.ensure(person.user_id, person.user_id)
                await db.respondents.set_locale(person.user_id, person.locale)
                await db.respondents.record_consent(person.user_id)
                await db.respondents.set_subscribed(person.user_id, True)
                if person.role != "citizen":
                    await db.roles.grant(person.user_id, person.role, None, MODERATOR)
                session = await db.sessions.start(person.user_id, consultation_id, person.role,
                                                  first)
                await db.respondents.set_consultation(person.user_id, consultation_id)
                for answer in person.walk.answers:
                    await db.sessions.save_answer(session.id, answer, questionnaire.version)
                await db.sessions.move(session.id, None, finished=True)
                given = {a.question_id: a for a in person.walk.answers}
                await db.summaries.add(session.id, score_answers(questionnaire, given),
                                       choices_of(questionnaire, given))
    finally:
        await db.close()


async def bulk(database: Path, questionnaire: Questionnaire, consultation_id: int,
               everyone: list[Person], batch: int = 500) -> None:
    """The same rows with executemany, then the running totals through the repository."""
    from storage import Database

    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        (last_session,) = connection.execute("SELECT coalesce(max(id), 0) FROM sessions").fetchone()
        connection.execute("BEGIN")
        respondents, roles, sessions, answers = [], [], [], []
        for number, person in enumerate(everyone, start=last_session + 1):
            started, times = _times(person)
            begun = _stamp(started)
            respondents.append((person.user_id, person.user_id, person.locale, begun, begun,
                                consultation_id))
            if person.role != "citizen":
                roles.append((person.user_id, person.role, begun))
            sessions.append((number, person.user_id, consultation_id, person.role, begun,
                             times[-1]))
            answers.extend((number, a.question_id, a.option_id, a.text, questionnaire.version, at)
                           for a, at in zip(person.walk.answers, times, strict=True))
        connection.executemany(
            "INSERT INTO respondents (user_id, chat_id, locale, consented_at, created_at,"
            " subscribed, consultation_id) VALUES (?, ?, ?, ?, ?, 1, ?)", respondents)
        connection.executemany(
            "INSERT INTO roles (user_id, role, agency, granted_by, granted_at)"
            f" VALUES (?, ?, NULL, {MODERATOR}, ?)", roles)
        connection.executemany(
            "INSERT INTO sessions (id, user_id, consultation_id, role, cursor, prompt_message_id,"
            " started_at, finished_at) VALUES (?, ?, ?, ?, NULL, NULL, ?, ?)", sessions)
        connection.executemany(
            "INSERT INTO answers (session_id, question_id, option_id, text,"
            " questionnaire_version, answered_at) VALUES (?, ?, ?, ?, ?, ?)", answers)
        connection.execute("COMMIT")
    finally:
        connection.close()
    # The running totals, as SummaryRepository.add does when a session finishes.
    db = await Database.open(database)
    try:
        cards = {last_session + 1 + i: person.walk.card for i, person in enumerate(everyone)}
        choices = {last_session + 1 + i: person.walk.choices for i, person in enumerate(everyone)}
        ids = list(cards)
        for begin in range(0, len(ids), batch):
            chunk = ids[begin:begin + batch]
            await db.summaries.add_many({sid: cards[sid] for sid in chunk},
                                        {sid: choices[sid] for sid in chunk})
    finally:
        await db.close()


def _contents(database: Path) -> tuple[list, list, list]:
    with sqlite3.connect(database) as connection:
        answers = connection.execute(
            "SELECT s.user_id, s.role, s.finished_at IS NOT NULL, s.summarised, s.cursor,"
            " a.question_id, a.option_id, a.text, a.questionnaire_version"
            " FROM answers AS a JOIN sessions AS s ON s.id = a.session_id"
            " ORDER BY s.user_id, a.question_id").fetchall()
        totals = connection.execute(
            "SELECT consultation_id, role, pillar_id, respondents, scored, round(score_sum, 6)"
            " FROM summary_totals ORDER BY 1, 2, 3").fetchall()
        totals += connection.execute(
            "SELECT consultation_id, role, question_id, option_id, answers, NULL"
            " FROM question_totals ORDER BY 1, 2, 3, 4").fetchall()
        respondents = connection.execute(
            "SELECT user_id, chat_id, locale, consented_at IS NOT NULL, subscribed,"
            " consultation_id, blocked_at FROM respondents ORDER BY user_id").fetchall()
        respondents += connection.execute(
            "SELECT user_id, role, NULL, NULL, NULL, NULL, NULL FROM roles ORDER BY user_id"
        ).fetchall()
    return answers, totals, respondents


async def check_bulk_matches(workdir: Path, questionnaire: Questionnaire, count: int) -> str:
    """Write ``count`` people both ways; what the summaries and exports read must be identical."""
    pool = walk_pool(questionnaire)
    everyone = people(count, pool)
    found = []
    for how in ("repositories", "bulk"):
        path = workdir / f"check-{how}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        consultation_id = await create_consultation(path, questionnaire)
        write = through_repositories if how == "repositories" else bulk
        await write(path, questionnaire, consultation_id, everyone)
        found.append(_contents(path))
    (a1, t1, r1), (a2, t2, r2) = found
    problems = [name for name, x, y in (("answers", a1, a2), ("totals", t1, t2),
                                        ("respondents", r1, r2)) if x != y]
    if problems:
        raise AssertionError(f"the bulk generator differs from the repositories in: {problems}")
    return (f"bulk generation = repository path for {count:,} respondents "
            f"({len(a1):,} answers, {len(t1)} total rows identical)")


def cache_dir() -> Path:
    """Keyed by the generator and the schema, so a changed migration regenerates."""
    import storage

    digest = hashlib.sha256(str(GENERATOR_VERSION).encode())
    migrations = Path(next(iter(storage.__path__))) / "migrations"
    for path in sorted(migrations.glob("*.sql")):
        digest.update(path.read_bytes())
    return Path("/tmp") / f"baraza-bench-summary-{digest.hexdigest()[:12]}"


async def database_with(count: int, questionnaire: Questionnaire) -> tuple[Path, float | None]:
    """The cached database with ``count`` finished respondents; (path, seconds if generated now)."""
    import time

    directory = cache_dir()
    directory.mkdir(exist_ok=True)
    path = directory / f"finished-{count}.db"
    if path.exists():
        return path, None
    began = time.perf_counter()
    partial = directory / f"finished-{count}.db.partial"
    for suffix in ("", "-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    consultation_id = await create_consultation(partial, questionnaire)
    await bulk(partial, questionnaire, consultation_id, people(count, walk_pool(questionnaire)))
    partial.rename(path)
    return path, time.perf_counter() - began
