"""The trigger-kept read models of migration 0008 always equal a fresh aggregate over their ledgers, and the
boards that read them answer exactly what a plain aggregate over the ledger answers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import to_db
from bot.db import Database, bundled_migrations
from bot.services.engagement.leaderboard import Leaderboard, leaderboard
from bot.services.engagement.points import period_start
from bot.services.engagement.profile import profile
from tests.unit.test_leaderboard import add_sale
from tests.unit.test_points import GUILD, add_member, give

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # early in the month: local months start on either side of UTC's

POINTS_TRUTH = """SELECT guild_id, substr(created_at, 1, 7), user_id, SUM(points), COUNT(*), MAX(created_at)
    FROM points_ledger GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
SALES_TRUTH = """SELECT guild_id, user_id, SUM(CASE WHEN kind = 'refund' THEN -abs(net_minor) ELSE net_minor END),
    SUM(kind <> 'refund'), MAX(currency), MAX(occurred_at), COUNT(*) FROM sales GROUP BY 1, 2 ORDER BY 1, 2"""
SALES_MONTHLY_TRUTH = """SELECT guild_id, substr(occurred_at, 1, 7), user_id,
    SUM(CASE WHEN kind = 'refund' THEN -abs(net_minor) ELSE net_minor END), SUM(kind <> 'refund'), MAX(currency),
    MAX(occurred_at), COUNT(*) FROM sales GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
CURRENCY_TRUTH = "SELECT guild_id, currency, COUNT(*) FROM sales GROUP BY 1, 2 ORDER BY 1, 2"


async def rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in await db.fetchall(sql)]


async def assert_models_match(db: Database, *, append_only: bool = True) -> None:
    assert await rows(db, "SELECT * FROM points_monthly ORDER BY 1, 2, 3") == await rows(db, POINTS_TRUTH)
    if append_only:  # points_totals (migration 0006) is only ever appended to
        totals = "SELECT guild_id, user_id, SUM(points) FROM points_ledger GROUP BY 1, 2 ORDER BY 1, 2"
        mine = "SELECT guild_id, user_id, points FROM points_totals ORDER BY 1, 2"
        assert await rows(db, mine) == await rows(db, totals)
    sales = "SELECT guild_id, user_id, value, orders, currency, last_at, entries FROM sales_totals ORDER BY 1, 2"
    assert await rows(db, sales) == await rows(db, SALES_TRUTH)
    assert await rows(db, "SELECT * FROM sales_currencies ORDER BY 1, 2") == await rows(db, CURRENCY_TRUTH)
    monthly = "SELECT * FROM sales_monthly ORDER BY 1, 2, 3"
    assert await rows(db, monthly) == await rows(db, SALES_MONTHLY_TRUTH)


async def test_points_buckets_follow_awards_reversals_adjustments_and_corrections(db: Database) -> None:
    await add_member(db, 1, "alice")
    await add_member(db, 2, "bob")
    await give(db, 1, 50, "a", NOW - timedelta(days=40))
    await give(db, 1, 20, "b", NOW)
    await give(db, 1, 20, "b", NOW + timedelta(hours=1))  # same reference: ignored, buckets unchanged
    await give(db, 1, -20, "refund:b", NOW + timedelta(hours=2))
    await give(db, 2, 30, "c", NOW - timedelta(hours=4), guild=GUILD + 1)
    await db.execute(
        "INSERT INTO points_ledger (guild_id, user_id, points, reason, reference, created_at)"
        " VALUES (?, 2, 7, 'adjustment', 'adj', ?)",
        (GUILD, to_db(NOW)),
    )
    await assert_models_match(db)
    # The ledger is append-only, but a correction or a deletion must still leave the buckets true.
    await db.execute("UPDATE points_ledger SET created_at = ? WHERE reference = 'a'", (to_db(NOW),))
    await assert_models_match(db, append_only=False)
    await db.execute("DELETE FROM points_ledger WHERE reference IN ('b', 'c')")
    await assert_models_match(db, append_only=False)
    assert await db.fetchval("SELECT COUNT(*) FROM points_monthly WHERE guild_id = ?", (GUILD + 1,)) == 0


async def test_sales_totals_follow_sales_refunds_currencies_and_corrections(db: Database) -> None:
    await add_sale(db, 1, 5000, NOW)
    await add_sale(db, 1, -2000, NOW + timedelta(hours=1), kind="refund")
    await add_sale(db, 2, 4000, NOW - timedelta(days=3))
    await db.execute("UPDATE sales SET currency = 'USD', net_minor = 3900 WHERE user_id = 2")
    await add_sale(db, 2, 100, NOW)
    await assert_models_match(db)
    await db.execute(
        "UPDATE sales SET occurred_at = ? WHERE user_id = 2 AND net_minor = 100", (to_db(NOW - timedelta(days=40)),)
    )
    await assert_models_match(db)
    await db.execute("DELETE FROM sales WHERE user_id = 1 AND kind = 'refund'")
    await assert_models_match(db)
    await db.execute("DELETE FROM sales WHERE user_id = 1")
    await assert_models_match(db)
    assert await db.fetchval("SELECT COUNT(*) FROM sales_totals WHERE user_id = 1") == 0


async def test_migration_backfills_from_existing_ledgers(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "old.db")
    try:
        await db.migrate([m for m in bundled_migrations() if m.version < 8])
        await add_member(db, 1, "alice")
        await give(db, 1, 10, "a", NOW - timedelta(days=35))
        await give(db, 1, 5, "b", NOW)
        await add_sale(db, 1, 2500, NOW)
        await add_sale(db, 1, -500, NOW, kind="refund")
        await db.migrate()
        await assert_models_match(db)
        assert await db.fetchval("SELECT COUNT(*) FROM points_monthly") == 2
    finally:
        await db.close()


Shown = tuple[int, int, int, str | None]


async def plain_board(db: Database, since: datetime | None, metric: str) -> list[Shown]:
    """(rank, user, value, currency) of everyone ranked, by a plain aggregate over the ledger."""
    if metric == "points":
        agg = ("SELECT user_id, SUM(points) AS value, 0 AS orders, MAX(created_at) AS last_at, NULL AS currency"
               " FROM points_ledger"
               " WHERE guild_id = ? AND created_at >= ? GROUP BY user_id")  # fmt: skip
    else:
        agg = ("SELECT user_id, SUM(CASE WHEN kind = 'refund' THEN -ABS(net_minor) ELSE net_minor END) AS value,"
               " SUM(kind <> 'refund') AS orders, MAX(occurred_at) AS last_at, MAX(currency) AS currency FROM sales"
               " WHERE guild_id = ? AND occurred_at >= ? GROUP BY user_id")  # fmt: skip
    found = await db.fetchall(
        f"""SELECT * FROM (SELECT a.user_id, a.value, a.currency,
                ROW_NUMBER() OVER (ORDER BY a.value DESC, a.orders DESC, a.last_at, a.user_id) AS rank
            FROM ({agg}) a JOIN members m ON m.guild_id = ? AND m.user_id = a.user_id WHERE m.status = 'active')
            AS ranked ORDER BY rank""",
        (GUILD, to_db(since or datetime(2000, 1, 1, tzinfo=UTC)), GUILD),
    )
    return [(int(row["rank"]), int(row["user_id"]), int(row["value"]), row["currency"]) for row in found]


def shown(board: Leaderboard) -> list[Shown]:
    return [(s.rank, s.user_id, s.value, s.currency) for s in board.top]


async def busy_program(db: Database) -> None:
    """31 members (one paused) with points and sales scattered around month boundaries, with ties."""
    rng = random.Random(3)
    for user in range(1, 32):
        await add_member(db, user, f"m{user}", status="paused" if user == 7 else "active")
    async with db.transaction() as tx:
        for n in range(600):
            when = NOW - timedelta(hours=rng.randrange(24 * 70)) + timedelta(hours=rng.choice((0, 30)))
            await tx.execute(
                "INSERT INTO points_ledger (guild_id, user_id, points, reason, reference, created_at)"
                " VALUES (?, ?, ?, 'event', ?, ?)",
                (GUILD, rng.randint(1, 30), rng.choice((5, 10, -5)), f"r{n}", to_db(when.replace(minute=0))),
            )
        # Rows in the hours between UTC's month boundary and the local ones, either side of it; member 31's
        # only November row falls before New York's November starts.
        edges = [datetime(2026, 10, 31, 10, 30, tzinfo=UTC) + timedelta(hours=h) for h in range(0, 28, 2)]
        for n, when in enumerate(edges):
            await tx.execute(
                "INSERT INTO points_ledger (guild_id, user_id, points, reason, reference, created_at)"
                " VALUES (?, ?, 15, 'event', ?, ?)",
                (GUILD, 31 if when.day == 1 and when.hour == 0 else n + 1, f"edge{n}", to_db(when)),
            )
    for n in range(150):
        when = NOW - timedelta(hours=rng.randrange(24 * 70))
        user = rng.randint(1, 30)
        await add_sale(db, user, 1000 + n, when, kind="refund" if n % 9 == 0 else "sale")
    # Sales in the same edge hours, a refund among them, one dated ahead (next month), and a second currency
    # whose only row falls before New York's November: the sales board's edge members are summed afresh.
    for n, when in enumerate(edges):
        user = 31 if when.day == 1 and when.hour == 0 else 30 - n
        await add_sale(db, user, 700 + 10 * n, when, kind="refund" if n == 3 else "sale")
    await add_sale(db, 12, 900, datetime(2026, 12, 1, 1, tzinfo=UTC))
    await add_sale(db, 13, 950, datetime(2026, 11, 1, 1, tzinfo=UTC))
    await add_sale(db, 13, 960, NOW - timedelta(hours=1))
    await db.execute(
        "UPDATE sales SET currency = 'USD' WHERE user_id = 13 AND occurred_at = ?",
        (to_db(datetime(2026, 11, 1, 1, tzinfo=UTC)),),
    )


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
)
async def test_month_and_all_time_boards_equal_the_plain_aggregate(db: Database, zone: str) -> None:
    tz = ZoneInfo(zone)
    await busy_program(db)
    for period in ("week", "month", "all"):
        since = period_start(period, NOW, tz)
        for metric in ("points", "sales"):
            expected = await plain_board(db, since, metric)
            for caller in (1, 7, 29, 31):
                board = await leaderboard(
                    db, GUILD, period=period, metric=metric, now=NOW, zone=tz, caller_id=caller, limit=3
                )
                mine = next((row for row in expected if row[1] == caller), None)
                assert shown(board) == expected[:3] and board.ranked == len(expected), (period, metric)
                me = board.me and (board.me.rank, board.me.user_id, board.me.value, board.me.currency)
                assert me == mine, (period, metric, caller)
            full = await leaderboard(db, GUILD, period=period, metric=metric, now=NOW, zone=tz, limit=100)
            assert shown(full) == expected, (period, metric)


async def test_profile_sales_read_the_totals(db: Database) -> None:
    await add_member(db, 1, "alice")
    await add_member(db, 2, "bob")
    await add_sale(db, 1, 5000, NOW)
    await add_sale(db, 1, -2000, NOW, kind="refund")
    alice = await profile(db, GUILD, 1, now=NOW, zone=ZoneInfo("UTC"))
    bob = await profile(db, GUILD, 2, now=NOW, zone=ZoneInfo("UTC"))
    assert (alice.orders, alice.revenue, alice.currency) == (1, 3000, "EUR")
    assert (bob.orders, bob.revenue, bob.currency) == (0, 0, None)
