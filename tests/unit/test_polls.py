"""Polls: create, vote, change the vote, eligibility, close, results by tier, CSV, points once."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta

import pytest

from bot.clock import FixedClock, to_db
from bot.db import Database
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.services.engagement import points
from bot.services.polls import polls
from tests.unit.test_points import GUILD, add_member


async def make_poll(db: Database, clock: FixedClock, **kwargs: object) -> int:
    options = {
        "question": "Which scent next?",
        "options": ["Rose", "Vanilla", "Citrus"],
        "closes_at": clock.now() + timedelta(days=2),
        "created_by": 9,
        "now": clock.now(),
        **kwargs,
    }
    async with db.transaction() as tx:
        return await polls.create_poll(tx, GUILD, **options)  # type: ignore[arg-type]


async def cast(
    db: Database, clock: FixedClock, poll_id: int, user: int, choices: list[int], comment: str | None = None
) -> polls.VoteOutcome:
    return await polls.vote(db, poll_id, user, choices, now=clock.now(), points_per_vote=5, comment=comment)


async def add_tiers(db: Database) -> None:
    for key in ("creator", "affiliate"):
        await db.execute("INSERT INTO tiers (guild_id, key, name) VALUES (?, ?, ?)", (GUILD, key, key.title()))


async def test_vote_change_and_points_once(db: Database, clock: FixedClock) -> None:
    await add_member(db, 1, "alice")
    poll_id = await make_poll(db, clock, comment_prompt="Why?")
    first = await cast(db, clock, poll_id, 1, [0], "love roses")
    assert first.choices == ["Rose"] and not first.changed and first.points_awarded == 5
    second = await cast(db, clock, poll_id, 1, [1])
    assert second.choices == ["Vanilla"] and second.changed and second.points_awarded == 0
    assert await db.fetchval("SELECT COUNT(*) FROM poll_votes WHERE poll_id = ?", (poll_id,)) == 1
    assert await points.balance(db, GUILD, 1) == 5
    outcome = await polls.results(db, poll_id)
    assert [o.votes for o in outcome.options] == [0, 1, 0]


async def test_non_ambassadors_other_tiers_and_uninvited_are_refused(db: Database, clock: FixedClock) -> None:
    await add_tiers(db)
    await add_member(db, 1, "alice", tier="creator")
    await add_member(db, 2, "bob", status="applicant")
    await add_member(db, 3, "chen", tier="affiliate")
    await add_member(db, 4, "dana", status="paused")
    open_poll = await make_poll(db, clock)
    for user in (2, 4, 404):
        with pytest.raises(NotAllowed):
            await cast(db, clock, open_poll, user, [0])
    tier_poll = await make_poll(db, clock, tier="creator")
    with pytest.raises(NotAllowed, match="creator"):
        await cast(db, clock, tier_poll, 3, [0])
    await cast(db, clock, tier_poll, 1, [0])
    invited = await make_poll(db, clock, voter_ids=[3])
    with pytest.raises(NotAllowed):
        await cast(db, clock, invited, 1, [0])
    await cast(db, clock, invited, 3, [2])
    assert await db.fetchval("SELECT COUNT(*) FROM poll_votes") == 2


async def test_choices_are_validated(db: Database, clock: FixedClock) -> None:
    await add_member(db, 1, "alice")
    single = await make_poll(db, clock)
    for bad in ([], [3], [-1], [0, 1]):
        with pytest.raises(InvalidInput):
            await cast(db, clock, single, 1, bad)
    multiple = await make_poll(db, clock, multiple=True)
    assert (await cast(db, clock, multiple, 1, [2, 0, 2])).choices == ["Rose", "Citrus"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("options", ["only one"]),
        ("options", [str(i) for i in range(11)]),
        ("options", ["Rose", "rose "]),
        ("options", ["x" * 81, "y"]),
        ("question", "   "),
        ("question", "q" * 301),
        ("comment_prompt", "p" * 46),
        ("tier", "nope"),
        ("voter_ids", []),
    ],
)
async def test_create_rejects_bad_input(db: Database, clock: FixedClock, field: str, value: object) -> None:
    with pytest.raises(InvalidInput):
        await make_poll(db, clock, **{field: value})
    assert await db.fetchval("SELECT COUNT(*) FROM polls") == 0


async def test_create_rejects_bad_close_times(db: Database, clock: FixedClock) -> None:
    for closes in (clock.now(), clock.now() + timedelta(days=91)):
        with pytest.raises(InvalidInput):
            await make_poll(db, clock, closes_at=closes)


def test_parse_duration() -> None:
    assert polls.parse_duration("1d12h") == timedelta(days=1, hours=12)
    assert polls.parse_duration(" 30m ") == timedelta(minutes=30)
    assert polls.parse_duration("1w") == timedelta(weeks=1)
    for bad in ("", "soon", "3x", "0m", "13w", "1d-2h"):
        with pytest.raises(InvalidInput):
            polls.parse_duration(bad)


async def test_close_refuses_late_votes_and_closes_once(db: Database, clock: FixedClock) -> None:
    await add_member(db, 1, "alice")
    poll_id = await make_poll(db, clock)
    async with db.transaction() as tx:
        assert await polls.close_poll(tx, poll_id, now=clock.now(), closed_by=None)
    async with db.transaction() as tx:
        assert not await polls.close_poll(tx, poll_id, now=clock.now(), closed_by=None)
    with pytest.raises(Conflict):
        await cast(db, clock, poll_id, 1, [0])
    late = await make_poll(db, clock, closes_at=clock.now() + timedelta(minutes=5))
    clock.advance(timedelta(minutes=5))
    with pytest.raises(Conflict):
        await cast(db, clock, late, 1, [0])


async def test_results_by_tier_and_csv(db: Database, clock: FixedClock) -> None:
    await add_tiers(db)
    await add_member(db, 1, "alice", tier="creator")
    await add_member(db, 2, "bob", tier="affiliate")
    await add_member(db, 3, "=chen", tier="creator")
    await add_member(db, 4, "dana")
    anonymous = await make_poll(db, clock, comment_prompt="Why?", multiple=True)
    named = await make_poll(db, clock, anonymous=False, comment_prompt="Why?")
    for poll_id in (anonymous, named):
        await cast(db, clock, poll_id, 1, [0], "smells great")
        await cast(db, clock, poll_id, 2, [1])
        await cast(db, clock, poll_id, 3, [0], "+1 to that")
    await cast(db, clock, anonymous, 4, [1, 2], "   ")  # several choices, no tier, a blank comment
    outcome = await polls.results(db, anonymous)
    assert outcome.voters == 4 and outcome.comments == 2 and outcome.winners == ["Rose", "Vanilla"]
    assert [(o.votes, o.percent) for o in outcome.options] == [(2, 50), (2, 50), (1, 25)]
    assert outcome.by_tier == {"affiliate": [0, 1, 0], "creator": [2, 0, 0], "no tier": [0, 1, 1]}

    rows = list(csv.reader(io.StringIO(await polls.votes_csv(db, anonymous))))
    assert rows[0] == ["voter", "tier", "choices", "comment"]
    flat = "\n".join(",".join(r) for r in rows)
    assert "alice" not in flat and "chen" not in flat and "smells great" in flat
    assert "'+1 to that" in flat  # formula-looking cells are defused

    rows = list(csv.reader(io.StringIO(await polls.votes_csv(db, named))))
    assert rows[0][:5] == ["user_id", "name", "tier", "choices", "comment"]
    assert {r[1] for r in rows[1:]} == {"alice", "bob", "'=chen"}


async def test_polls_of_another_server_are_not_found(db: Database, clock: FixedClock) -> None:
    poll_id = await make_poll(db, clock)
    with pytest.raises(Exception, match="doesn't exist"):
        await polls.get_poll(db, poll_id, GUILD + 1)
    assert to_db(clock.now())  # the clock fixture is aware UTC


async def test_a_burst_of_votes_at_once_counts_each_member_once(db: Database, clock: FixedClock) -> None:
    """On PostgreSQL the ballots run side by side (``alongside``): the totals must still be exact."""
    members = range(100, 160)
    for user in members:
        await add_member(db, user, f"m{user}")
    poll_id = await make_poll(db, clock)
    # Every member votes, and every fourth votes twice at once (a double click): one vote and 5 points each.
    ballots = [cast(db, clock, poll_id, user, [user % 3]) for user in members]
    ballots += [cast(db, clock, poll_id, user, [user % 3]) for user in members if user % 4 == 0]
    outcomes = await asyncio.gather(*ballots)
    assert sum(outcome.points_awarded for outcome in outcomes) == 5 * len(members)
    assert await db.fetchval("SELECT COUNT(*) FROM poll_votes WHERE poll_id = ?", (poll_id,)) == len(members)
    totals = await db.fetchall("SELECT user_id, points FROM points_totals WHERE guild_id = ?", (GUILD,))
    assert {row[0]: row[1] for row in totals if row[0] in members} == dict.fromkeys(members, 5)
    outcome = await polls.results(db, poll_id)
    assert [o.votes for o in outcome.options] == [sum(1 for u in members if u % 3 == i) for i in range(3)]
