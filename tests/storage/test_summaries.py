"""Summary storage: running totals, comments, the paged export, digests and stored keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from conversations.model import Answer
from conversations.scoring import PillarScore, ScoreCard
from conversations.summaries import OVERALL, Tally
from storage import Comment, Database, Session, Subscriber
from storage.summaries import DueDigest, OwedDigest
from tests.storage.conftest import METEP, PILOT, TickingClock


def card(first: float | None, second: float | None) -> ScoreCard:
    pillars = (PillarScore("first", first, int(first is not None)),
               PillarScore("second", second, int(second is not None)))
    scored = [s for s in (first, second) if s is not None]
    return ScoreCard(pillars, sum(scored) / len(scored) if scored else None)


async def finished(db: Database, user_id: int, consultation: int = METEP, role: str = "citizen",
                   answers: Sequence[Answer] = ()) -> Session:
    """A respondent who answered and finished (without adding anything to the totals)."""
    await db.respondents.ensure(user_id, chat_id=user_id + 1000)
    session = await db.sessions.start(user_id, consultation, role, cursor=None)
    for answer in answers:
        await db.sessions.save_answer(session.id, answer, 1)
    await db.sessions.move(session.id, None, finished=True)
    return session


def by_key(tallies: Sequence[Tally]) -> dict[tuple[str, str], Tally]:
    return {(t.role, t.pillar_id): t for t in tallies}


async def test_a_finished_session_is_added_to_its_roles_totals_once(db: Database) -> None:
    session = await finished(db, 1)

    assert await db.summaries.add(session.id, card(50, 100)) is True
    assert await db.summaries.add(session.id, card(50, 100)) is False  # not counted twice

    assert by_key(await db.summaries.tallies(METEP)) == {
        ("citizen", "first"): Tally("citizen", "first", 1, 1, 50.0),
        ("citizen", "second"): Tally("citizen", "second", 1, 1, 100.0),
        ("citizen", OVERALL): Tally("citizen", OVERALL, 1, 1, 75.0),
    }


async def test_totals_sum_scores_and_count_respondents_without_a_score(db: Database) -> None:
    for user_id, scores in ((1, card(50, 100)), (2, card(None, 0)), (3, card(None, None))):
        await db.summaries.add((await finished(db, user_id)).id, scores)

    totals = by_key(await db.summaries.tallies(METEP))

    assert totals[("citizen", "first")] == Tally("citizen", "first", 3, 1, 50.0)
    assert totals[("citizen", "second")] == Tally("citizen", "second", 3, 2, 100.0)
    assert totals[("citizen", OVERALL)] == Tally("citizen", OVERALL, 3, 2, 75.0)


async def test_totals_keep_roles_and_consultations_apart(db: Database) -> None:
    await db.summaries.add((await finished(db, 1, role="citizen")).id, card(10, 10))
    await db.summaries.add((await finished(db, 2, role="official")).id, card(90, 90))
    await db.summaries.add((await finished(db, 3, PILOT, role="official")).id, card(40, 40))

    metep = by_key(await db.summaries.tallies(METEP))
    assert (metep[("citizen", OVERALL)].score_sum, metep[("official", OVERALL)].score_sum) == (10, 90)
    assert [t.score_sum for t in await db.summaries.tallies(PILOT) if t.pillar_id == OVERALL] == [40]


async def test_an_unfinished_session_is_never_added(db: Database) -> None:
    await db.respondents.ensure(1, chat_id=1)
    session = await db.sessions.start(1, METEP, "citizen", cursor="first.law")

    assert await db.summaries.add(session.id, card(50, 50)) is False
    assert await db.summaries.tallies(METEP) == []


async def test_sessions_finished_but_not_yet_added_are_listed_with_their_answers(db: Database) -> None:
    old = await finished(db, 1, answers=[Answer("first.law", option_id="yes"),
                                         Answer("first.comment", text="More hearings")])
    added = await finished(db, 2, answers=[Answer("first.law", option_id="no")])
    await db.summaries.add(added.id, card(0, None))

    (due,) = await db.summaries.unsummarised(METEP)

    assert (due.id, due.role, due.finished) == (old.id, "citizen", True)
    assert dict(due.answers) == {"first.law": Answer("first.law", option_id="yes"),
                                 "first.comment": Answer("first.comment", text="More hearings")}
    await db.summaries.add(due.id, card(100, None))
    assert await db.summaries.unsummarised(METEP) == []


async def test_answered_lists_consultations_someone_finished_newest_first(db: Database) -> None:
    assert await db.summaries.answered() == []
    await db.summaries.add((await finished(db, 1)).id, card(1, 1))
    await finished(db, 2, PILOT)  # finished, not yet in the totals

    assert await db.summaries.answered() == [PILOT, METEP]


async def test_comments_are_the_newest_of_finished_sessions(db: Database) -> None:
    await finished(db, 1, answers=[Answer("first.comment", text="first words"),
                                   Answer("second.comment", text="later words"),
                                   Answer("third.comment")])  # skipped: no comment
    await finished(db, 2, role="official", answers=[Answer("first.comment", text="newest")])
    await finished(db, 3, PILOT, answers=[Answer("first.comment", text="another consultation")])
    await db.respondents.ensure(4, chat_id=4)
    unfinished = await db.sessions.start(4, METEP, "citizen", cursor=None)
    await db.sessions.save_answer(unfinished.id, Answer("first.comment", text="not finished"), 1)

    assert await db.summaries.comments(METEP, limit=2) == [
        Comment("first.comment", "official", "newest"),
        Comment("second.comment", "citizen", "later words"),
    ]
    assert len(await db.summaries.comments(METEP, limit=10)) == 3


async def test_the_export_reads_every_answer_of_finished_sessions_page_by_page(db: Database) -> None:
    for user_id in range(1, 6):
        await finished(db, user_id, answers=[Answer("first.law", option_id="yes"),
                                             Answer("first.comment", text=f"from {user_id}")])
    await finished(db, 9, PILOT, answers=[Answer("first.law", option_id="no")])
    await db.respondents.ensure(10, chat_id=10)
    unfinished = await db.sessions.start(10, METEP, "citizen", cursor=None)
    await db.sessions.save_answer(unfinished.id, Answer("first.law", option_id="no"), 1)

    rows = [row async for row in db.exports.answers(METEP, sessions_per_page=2)]

    assert [(r.user_id, r.question_id) for r in rows] == [
        (user_id, question) for user_id in range(1, 6) for question in ("first.law", "first.comment")]
    first = rows[0]
    assert (first.role, first.option_id, first.text, first.questionnaire_version) == (
        "citizen", "yes", None, 1)
    assert first.answered_at.startswith("2025-01-01T")
    assert rows[1].text == "from 1"


async def test_digest_subscription_toggles_and_skips_those_who_blocked_the_bot(db: Database) -> None:
    for user_id in (1, 2):
        await db.respondents.ensure(user_id, chat_id=user_id * 10)
        await db.respondents.set_locale(user_id, "fr")

    assert await db.digests.toggle(1) is True
    assert await db.digests.toggle(2) is True
    assert await db.digests.subscribers() == [Subscriber(1, 10, "fr"), Subscriber(2, 20, "fr")]

    assert await db.digests.toggle(1) is False
    await db.respondents.mark_blocked(2)
    assert await db.digests.subscribers() == []


async def test_a_weekly_digest_is_claimed_once_a_week(db: Database, clock: TickingClock) -> None:
    week = timedelta(days=7)

    assert await db.digests.claim_weekly(METEP, week) is False  # the first week begins
    clock.advance(days=6)
    assert await db.digests.claim_weekly(METEP, week) is False
    clock.advance(days=1)
    assert await db.digests.claim_weekly(METEP, week) is True
    assert await db.digests.claim_weekly(METEP, week) is False  # a restart does not send it again
    assert await db.digests.claim_weekly(PILOT, week) is False
    # The claimed week's digest is due from the claim's own commit: a crash cannot lose it.
    assert await db.digests.due() == [DueDigest(1, METEP, "weekly")]


async def test_the_next_weekly_digest_is_a_week_after_the_oldest_open_week(
        db: Database, clock: TickingClock) -> None:
    week = timedelta(days=7)
    assert await db.digests.next_weekly(week) is None  # nothing open, nothing due
    await db.consultations.set_status(METEP, "open")
    await db.digests.claim_weekly(METEP, week)  # its first week begins now
    began = clock.now
    clock.advance(days=2)
    await db.consultations.set_status(PILOT, "open")  # no week yet: due a week from now
    assert await db.digests.next_weekly(week) == began + week


async def test_closing_a_consultation_makes_its_final_digest_due_in_the_same_commit(
        db: Database) -> None:
    assert await db.digests.due() == []
    await db.consultations.set_status(METEP, "open")
    assert await db.digests.due() == []

    await db.consultations.set_status(METEP, "closed")
    await db.consultations.set_status(METEP, "closed")  # no second final digest

    assert await db.digests.due() == [DueDigest(1, METEP, "final")]


async def test_a_closing_rolled_back_leaves_no_final_digest(db: Database) -> None:
    try:
        async with db.transaction():
            await db.consultations.set_status(PILOT, "closed")
            raise RuntimeError("crash before the commit")
    except RuntimeError:
        pass

    assert await db.digests.due() == []


async def subscribe(db: Database, *user_ids: int) -> None:
    for user_id in user_ids:
        await db.respondents.ensure(user_id, chat_id=user_id * 10)
        await db.digests.toggle(user_id)


async def test_a_due_digest_is_owed_to_each_subscriber_until_sent_or_given_up(
        db: Database) -> None:
    await subscribe(db, 1, 2, 3, 4)
    await db.consultations.set_status(METEP, "closed")
    (digest,) = await db.digests.due()

    await db.digests.record_sent(digest.id, 1)
    await db.digests.record_failure(digest.id, 2, "Timed out", give_up=False)
    await db.digests.record_failure(digest.id, 3, "Chat not found", give_up=True)

    assert await db.digests.owed(digest.id) == [OwedDigest(Subscriber(2, 20, None), 1),
                                                OwedDigest(Subscriber(4, 40, None), 0)]
    await db.digests.record_failure(digest.id, 2, "Timed out", give_up=False)
    await db.digests.record_sent(digest.id, 4)
    assert await db.digests.owed(digest.id) == [OwedDigest(Subscriber(2, 20, None), 2)]
    assert await db.digests.due() == [digest]  # still owed to someone

    await db.digests.record_sent(digest.id, 2)
    await db.digests.finish(digest.id)

    assert await db.digests.owed(digest.id) == []
    assert await db.digests.sent_to(digest.id) == [1, 2, 4]
    assert await db.digests.due() == []


async def test_digests_are_owed_to_new_subscribers_but_not_to_those_who_left_or_blocked(
        db: Database) -> None:
    await subscribe(db, 1, 2)
    await db.consultations.set_status(METEP, "closed")
    (digest,) = await db.digests.due()

    await db.digests.toggle(1)  # unsubscribed
    await db.respondents.mark_blocked(2)
    await subscribe(db, 3)

    assert [o.subscriber.user_id for o in await db.digests.owed(digest.id)] == [3]


async def test_a_stored_key_is_created_once_and_kept(db: Database) -> None:
    first = await db.secrets.get_or_create("pseudonyms", b"k" * 32)

    assert first == b"k" * 32
    assert await db.secrets.get_or_create("pseudonyms", b"other") == first
