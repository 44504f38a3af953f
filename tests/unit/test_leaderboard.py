"""Leaderboards and profiles: deterministic ties, who is ranked, the caller's rank, sales, streaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import FixedClock, to_db
from bot.db import Database
from bot.services.engagement.leaderboard import Leaderboard, format_minor, leaderboard, points_between
from bot.services.engagement.profile import profile, streak
from tests.unit.test_points import GUILD, add_member, give

UTCZ = ZoneInfo("UTC")


async def board(db: Database, now: datetime, **kwargs: object) -> Leaderboard:
    options = {"period": "all", "metric": "points", "now": now, "zone": UTCZ, **kwargs}
    return await leaderboard(db, GUILD, **options)  # type: ignore[arg-type]


async def test_ties_are_broken_by_who_got_there_first_then_user_id(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    for user, name in ((1, "alice"), (2, "bob"), (3, "chen"), (4, "dana")):
        await add_member(db, user, name)
    await give(db, 2, 50, "b", now - timedelta(hours=3))
    await give(db, 1, 50, "a", now - timedelta(hours=2))  # same total, reached later than bob
    await give(db, 4, 50, "d1", now - timedelta(hours=3))  # same total and time as bob; higher id
    await give(db, 3, 80, "c", now - timedelta(hours=1))
    for _ in range(3):  # the same answer every time
        result = await board(db, now, caller_id=1)
        assert [s.user_id for s in result.top] == [3, 2, 4, 1]
        assert [s.rank for s in result.top] == [1, 2, 3, 4]
    assert result.me is not None and result.me.rank == 4 and result.ranked == 4


async def test_paused_left_and_removed_members_are_left_out(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    await add_member(db, 1, "alice")
    for user, status in ((2, "paused"), (3, "left"), (4, "removed")):
        await add_member(db, user, f"m{user}", status=status)
        await give(db, user, 500, f"r{user}", now)
    await give(db, 1, 10, "a", now)
    result = await board(db, now, caller_id=2)
    assert [s.user_id for s in result.top] == [1]
    assert result.me is None


async def test_top_ten_and_the_callers_rank_outside_it(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    for user in range(1, 16):
        await add_member(db, user, f"member{user}")
        await give(db, user, user * 10, f"r{user}", now)
    result = await board(db, now, caller_id=2)
    assert len(result.top) == 10 and result.top[0].user_id == 15
    assert result.me is not None and result.me.rank == 14 and result.me.value == 20


async def test_periods_count_only_their_window(db: Database, clock: FixedClock) -> None:
    now = clock.now()  # Tuesday 24 Nov
    await add_member(db, 1, "alice")
    await add_member(db, 2, "bob")
    await give(db, 1, 100, "old", now - timedelta(days=40))
    await give(db, 2, 30, "month", now - timedelta(days=10))
    await give(db, 1, 5, "week", now - timedelta(hours=1))
    week = await board(db, now, period="week")
    month = await board(db, now, period="month")
    assert [(s.user_id, s.value) for s in week.top] == [(1, 5)]
    assert [(s.user_id, s.value) for s in month.top] == [(2, 30), (1, 5)]
    between = await points_between(db, GUILD, now - timedelta(days=11), now)
    assert [(s.user_id, s.value) for s in between] == [(2, 30), (1, 5)]


async def add_sale(db: Database, user: int, net: int, when: datetime, kind: str = "sale") -> None:
    values = {
        "guild_id": GUILD, "kind": kind, "user_id": user, "net_minor": net, "currency": "EUR",
        "occurred_at": to_db(when), "recorded_at": to_db(when), "shop": "manual", "order_id": f"o{user}{net}{kind}",
        "entry_ref": kind, "code_id": 1, "code": "X", "gross_minor": abs(net), "discount_minor": 0, "source": "manual",
    }  # fmt: skip
    await db.execute(
        f"INSERT INTO sales ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})", list(values.values())
    )


async def test_sales_leaderboard_nets_refunds(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    await add_member(db, 1, "alice")
    await add_member(db, 2, "bob")
    await add_sale(db, 1, 5000, now)
    await add_sale(db, 1, -2000, now, kind="refund")
    await add_sale(db, 2, 4000, now)
    result = await board(db, now, metric="sales", caller_id=1)
    assert [(s.user_id, s.value, s.orders) for s in result.top] == [(2, 4000, 1), (1, 3000, 1)]
    assert result.top[0].currency == "EUR" and format_minor(-123456) == "-1,234.56"


def test_streak_counts_consecutive_active_weeks() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)  # Wednesday, week of 23 Nov
    weeks = [now - timedelta(days=7 * n) for n in (1, 2, 3, 5)]
    assert streak(weeks, now, UTCZ) == 3  # this week not yet active: the streak still stands
    assert streak([now, *weeks], now, UTCZ) == 4
    assert streak([now - timedelta(days=21)], now, UTCZ) == 0


async def test_profile(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    await add_member(db, 1, "alice", tier="creator")
    await add_member(db, 2, "bob")
    await give(db, 1, 20, "a1", now - timedelta(days=7))
    await give(db, 1, 5, "a2", now)
    await give(db, 2, 100, "b1", now)
    data = await profile(db, GUILD, 1, now=now, zone=UTCZ)
    assert (data.tier, data.points_week, data.points_all, data.rank, data.streak_weeks) == ("creator", 5, 25, 2, 2)
