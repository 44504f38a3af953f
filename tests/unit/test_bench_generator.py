"""bench/generator.py writes a consistent program: read models equal fresh sums, refunds refer to sales."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.generator import POINTS, Sizes, generate
from bot.db import Database

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SIZES = Sizes(members=60, points_rows=3_000, sales_rows=400, timers=25, open_polls=2)


async def test_sizes_and_exact_row_counts(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    async with await Database.open(path) as db:
        await db.migrate()
    summary = generate(path, SIZES, now=NOW)
    async with await Database.open(path) as db:
        assert await db.fetchval("SELECT COUNT(*) FROM points_ledger") == SIZES.points_rows == summary.points_rows
        assert await db.fetchval("SELECT COUNT(*) FROM sales") == SIZES.sales_rows == summary.sales + summary.refunds
        assert summary.refunds == SIZES.sales_rows // 20
        ambassadors = await db.fetchval("SELECT COUNT(*) FROM members WHERE status IN ('active', 'paused')")
        assert ambassadors == SIZES.members
        pending = await db.fetchall("SELECT kind, due_at FROM timers WHERE status = 'pending'")
        assert len(pending) == SIZES.timers and all(row["due_at"] > "2026-11-24T10" for row in pending)
        open_polls = await db.fetchval("SELECT COUNT(*) FROM polls WHERE status = 'open'")
        assert open_polls == SIZES.open_polls == len(summary.open_poll_ids)


async def test_read_models_equal_fresh_sums(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    async with await Database.open(path) as db:
        await db.migrate()
    generate(path, SIZES, now=NOW)
    async with await Database.open(path) as db:
        stale_totals = await db.fetchval(
            """SELECT COUNT(*) FROM (SELECT guild_id, user_id, SUM(points) AS p FROM points_ledger
                   GROUP BY guild_id, user_id) fresh
               LEFT JOIN points_totals t USING (guild_id, user_id) WHERE t.points IS NOT fresh.p"""
        )
        assert stale_totals == 0
        stale_monthly = await db.fetchval(
            """SELECT COUNT(*) FROM (SELECT guild_id, substr(created_at, 1, 7) AS month, user_id,
                   SUM(points) AS p, COUNT(*) AS n FROM points_ledger GROUP BY 1, 2, 3) fresh
               LEFT JOIN points_monthly m USING (guild_id, month, user_id)
               WHERE m.points IS NOT fresh.p OR m.entries IS NOT fresh.n"""
        )
        assert stale_monthly == 0
        stale_sales = await db.fetchval(
            """SELECT COUNT(*) FROM (SELECT guild_id, user_id, SUM(net_minor) AS v, SUM(kind = 'sale') AS o
                   FROM sales GROUP BY guild_id, user_id) fresh
               LEFT JOIN sales_totals t USING (guild_id, user_id)
               WHERE t.value IS NOT fresh.v OR t.orders IS NOT fresh.o"""
        )
        assert stale_sales == 0
        assert await db.fetchval("SELECT SUM(entries) FROM sales_currencies") == SIZES.sales_rows


async def test_refunds_sales_and_points_refer_to_each_other(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    async with await Database.open(path) as db:
        await db.migrate()
    generate(path, SIZES, now=NOW, user_ids=[10_000 + n for n in range(SIZES.members)], guild_id=42)
    async with await Database.open(path) as db:
        orphans = await db.fetchval(
            """SELECT COUNT(*) FROM sales r WHERE r.kind = 'refund' AND NOT EXISTS (
                   SELECT 1 FROM sales s WHERE s.guild_id = r.guild_id AND s.order_id = r.order_id
                   AND s.kind = 'sale' AND s.user_id = r.user_id AND s.code_id = r.code_id
                   AND s.occurred_at <= r.occurred_at AND -r.net_minor BETWEEN 1 AND s.net_minor)"""
        )
        assert orphans == 0
        unowned_codes = await db.fetchval(
            """SELECT COUNT(*) FROM sales s LEFT JOIN codes c ON c.id = s.code_id
               WHERE c.user_id IS NOT s.user_id OR c.code IS NOT s.code"""
        )
        assert unowned_codes == 0
        uncounted = await db.fetchval(
            """SELECT COUNT(*) FROM sales s LEFT JOIN shop_orders o USING (guild_id, shop, order_id)
               WHERE s.kind = 'sale' AND o.counted IS NOT 1"""
        )
        assert uncounted == 0
        sale_points = await db.fetchval(
            """SELECT COUNT(*) FROM sales s JOIN points_ledger p
                   ON p.guild_id = s.guild_id AND p.reference = 'sale:shopify:' || s.order_id
               WHERE s.kind = 'sale' AND p.points = ? AND p.user_id = s.user_id""",
            (POINTS["sale"],),
        )
        assert sale_points == await db.fetchval("SELECT COUNT(*) FROM sales WHERE kind = 'sale'")
        votes = await db.fetchval("SELECT COUNT(*) FROM poll_votes")
        assert votes == await db.fetchval("SELECT COUNT(*) FROM points_ledger WHERE reason = 'poll'")
        approved = await db.fetchval("SELECT COUNT(*) FROM submissions WHERE status = 'approved'")
        assert approved == await db.fetchval("SELECT COUNT(*) FROM points_ledger WHERE reason = 'submission'")
        guilds = await db.fetchall("SELECT DISTINCT guild_id FROM points_ledger UNION SELECT guild_id FROM sales")
        assert [row["guild_id"] for row in guilds] == [42]
        strangers = await db.fetchval(
            "SELECT COUNT(*) FROM points_ledger p LEFT JOIN members m USING (guild_id, user_id) WHERE m.status IS NULL"
        )
        assert strangers == 0
