"""Points: exactly-once awards, week/month/all totals in the server's timezone, audited adjustments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock, to_db
from bot.db import Database
from bot.errors import InvalidInput, NotFound
from bot.services.engagement import points
from bot.services.program import audit

GUILD = 1000
UTCZ = ZoneInfo("UTC")


async def add_member(
    db: Database, user_id: int, name: str, *, status: str = "active", tier: str | None = None, guild: int = GUILD
) -> None:
    now = to_db(datetime(2026, 1, 1, tzinfo=UTC))
    await db.execute(
        "INSERT INTO members (guild_id, user_id, display_name, status, tier, status_changed_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (guild, user_id, name, status, tier, now, now),
    )


async def give(db: Database, user_id: int, amount: int, ref: str, when: datetime, guild: int = GUILD) -> bool:
    async with db.transaction() as tx:
        return await points.award(tx, guild, user_id, amount, "submission", ref, when)


async def test_award_is_exactly_once_and_totals_follow(db: Database, clock: FixedClock) -> None:
    await add_member(db, 1, "alice")
    assert await give(db, 1, 50, "submission:1", clock.now())
    assert not await give(db, 1, 50, "submission:1", clock.now())
    await give(db, 1, -20, "refund:1", clock.now())
    assert await points.balance(db, GUILD, 1) == 30
    assert await db.fetchval("SELECT points FROM points_totals WHERE guild_id = ? AND user_id = 1", (GUILD,)) == 30


async def test_week_month_and_all_time_in_local_time(db: Database) -> None:
    await add_member(db, 1, "alice")
    zone = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # Wednesday
    await give(db, 1, 5, "a", datetime(2026, 11, 30, 0, 30, tzinfo=UTC))  # Monday 01:30 Berlin: this week
    await give(db, 1, 7, "b", datetime(2026, 11, 29, 22, 30, tzinfo=UTC))  # Sunday 23:30 Berlin: last week
    await give(db, 1, 11, "c", datetime(2026, 11, 30, 23, 30, tzinfo=UTC))  # Dec 1st 00:30 Berlin: this month
    await give(db, 1, 13, "d", datetime(2026, 10, 1, tzinfo=UTC))
    totals = await points.totals(db, GUILD, 1, now, zone)
    assert (totals.week, totals.month, totals.all_time) == (16, 11, 36)


def test_period_start() -> None:
    now = datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert points.period_start("week", now, UTCZ) == datetime(2026, 11, 23, tzinfo=UTC)
    assert points.period_start("month", now, UTCZ) == datetime(2026, 11, 1, tzinfo=UTC)
    assert points.period_start("all", now, UTCZ) is None


async def test_adjust_is_audited(db: Database, clock: FixedClock) -> None:
    await add_member(db, 1, "alice")
    async with db.transaction() as tx:
        result = await points.adjust(tx, GUILD, 1, 25, "great event help", actor_id=99, now=clock.now())
    assert result.total == 25 and result.entry.action == "points.adjust"
    entries = await audit.recent(db, GUILD)
    assert entries[0].actor_id == 99 and entries[0].details == {"amount": 25, "reason": "great event help"}
    async with db.transaction() as tx:
        again = await points.adjust(tx, GUILD, 1, -5, "typo", actor_id=99, now=clock.now() + timedelta(seconds=1))
    assert again.total == 20


@pytest.mark.parametrize(("amount", "reason"), [(0, "x"), (10**6, "x"), (5, "   "), (5, "x" * 201)])
async def test_adjust_rejects_bad_input(db: Database, clock: FixedClock, amount: int, reason: str) -> None:
    await add_member(db, 1, "alice")
    with pytest.raises(InvalidInput):
        async with db.transaction() as tx:
            await points.adjust(tx, GUILD, 1, amount, reason, actor_id=99, now=clock.now())
    assert await points.balance(db, GUILD, 1) == 0


async def test_adjust_unknown_member(db: Database, clock: FixedClock) -> None:
    with pytest.raises(NotFound):
        async with db.transaction() as tx:
            await points.adjust(tx, GUILD, 404, 5, "who?", actor_id=99, now=clock.now())
