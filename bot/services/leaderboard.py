"""Leaderboards: the top 10 and the caller's own rank, by points or by code sales, for a week, month or all time.

Only active ambassadors are ranked (paused, departed and removed members are left out). Ties are broken
deterministically: the higher value first, then whoever reached it first (earlier latest award or sale),
then the lower user id.

Time-range sums name ``points_by_time_covering`` (migration 0006): left to itself SQLite walks the
per-member index to avoid sorting the groups, which reads every row the server ever had.

Sales are read from the ``sales`` table that the codes capability owns. This module does not depend on its
exact shape: ``sales_source`` inspects the table once per call and finds the member, amount, time and kind
columns by their usual names; without a usable table the sales metric reports itself unavailable.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.services.points import Period, period_start

Metric = Literal["points", "sales"]
METRICS: tuple[Metric, ...] = ("points", "sales")
TOP = 10

_MEMBER_COLUMNS = ("user_id", "member_id", "ambassador_id")
_AMOUNT_COLUMNS = ("net_minor", "net_cents", "amount_minor", "net", "gross_minor", "total_minor", "amount")
_TIME_COLUMNS = ("occurred_at", "ordered_at", "created_at", "paid_at", "recorded_at")
_KIND_COLUMNS = ("kind", "type")


@dataclass(frozen=True)
class SalesSource:
    """Where sales live, found by column names (the codes capability owns the table)."""

    member: str
    amount: str
    time: str
    kind: str | None
    currency: str | None

    def revenue_sql(self) -> str:
        if self.kind is None:
            return f"SUM({self.amount})"
        return f"SUM(CASE WHEN {self.kind} = 'refund' THEN -ABS({self.amount}) ELSE {self.amount} END)"

    def orders_sql(self) -> str:
        if self.kind is None:
            return f"SUM(CASE WHEN {self.amount} > 0 THEN 1 ELSE 0 END)"
        return f"SUM(CASE WHEN {self.kind} = 'refund' THEN 0 ELSE 1 END)"


async def sales_source(db: Database | Transaction) -> SalesSource | None:
    rows = await db.fetchall("SELECT name FROM pragma_table_info('sales')")
    columns = {row["name"] for row in rows}

    def first(candidates: tuple[str, ...]) -> str | None:
        return next((name for name in candidates if name in columns), None)

    member, amount, when = first(_MEMBER_COLUMNS), first(_AMOUNT_COLUMNS), first(_TIME_COLUMNS)
    if "guild_id" not in columns or member is None or amount is None or when is None:
        return None
    return SalesSource(member, amount, when, first(_KIND_COLUMNS), "currency" if "currency" in columns else None)


@dataclass(frozen=True)
class Standing:
    rank: int
    user_id: int
    display_name: str
    tier: str | None
    value: int  # points, or net revenue in minor units
    orders: int = 0
    currency: str | None = None


@dataclass(frozen=True)
class Leaderboard:
    period: Period
    metric: Metric
    top: list[Standing]
    me: Standing | None  # the caller's standing, or None when they are not ranked
    ranked: int  # how many ambassadors have a standing
    available: bool = True  # False when the metric has no data source (no sales table yet)


def _aggregate(metric: Metric, source: SalesSource | None, since: datetime | None) -> tuple[str, list[object]]:
    """SQL for (user_id, value, orders, currency, last_at) per member, and its parameters after guild_id."""
    if metric == "points":
        if since is None:
            sql = "SELECT user_id, points AS value, 0 AS orders, NULL AS currency, last_at FROM points_totals"
            return sql + " WHERE guild_id = ?", []
        return (
            "SELECT user_id, SUM(points) AS value, 0 AS orders, NULL AS currency, MAX(created_at) AS last_at"
            " FROM points_ledger INDEXED BY points_by_time_covering"
            " WHERE guild_id = ? AND created_at >= ? GROUP BY user_id",
            [to_db(since)],
        )
    assert source is not None
    currency = f"MAX({source.currency})" if source.currency else "NULL"
    where = f" AND {source.time} >= ?" if since is not None else ""
    sql = (
        f"SELECT {source.member} AS user_id, {source.revenue_sql()} AS value, {source.orders_sql()} AS orders,"
        f" {currency} AS currency, MAX({source.time}) AS last_at FROM sales"
        f" WHERE guild_id = ? AND {source.member} IS NOT NULL{where} GROUP BY {source.member}"
    )
    return sql, ([to_db(since)] if since is not None else [])


def _standing(row: sqlite3.Row | dict[str, Any]) -> Standing:
    return Standing(
        rank=int(row["rank"]),
        user_id=int(row["user_id"]),
        display_name=row["display_name"],
        tier=row["tier"],
        value=int(row["value"] or 0),
        orders=int(row["orders"] or 0),
        currency=row["currency"],
    )


async def leaderboard(
    db: Database,
    guild_id: int,
    *,
    period: Period,
    metric: Metric,
    now: datetime,
    zone: ZoneInfo,
    caller_id: int | None = None,
    limit: int = TOP,
) -> Leaderboard:
    if metric == "points" and period == "all":
        return await _all_time_points(db, guild_id, caller_id, limit)
    source = await sales_source(db) if metric == "sales" else None
    if metric == "sales" and source is None:
        return Leaderboard(period, metric, [], None, 0, available=False)
    aggregate, params = _aggregate(metric, source, period_start(period, now, zone))
    rows = await db.fetchall(
        f"""WITH agg AS ({aggregate}),
           ranked AS (
               SELECT agg.*, m.display_name, m.tier, COUNT(*) OVER () AS ranked,
                      ROW_NUMBER() OVER (ORDER BY agg.value DESC, agg.orders DESC, agg.last_at, agg.user_id) AS rank
               FROM agg JOIN members m ON m.guild_id = ? AND m.user_id = agg.user_id
               WHERE m.status = 'active')
           SELECT * FROM ranked WHERE rank <= ? OR user_id = ? ORDER BY rank""",
        (guild_id, *params, guild_id, limit, caller_id if caller_id is not None else -1),
    )
    top = [_standing(row) for row in rows if row["rank"] <= limit]
    mine = next((_standing(row) for row in rows if caller_id is not None and row["user_id"] == caller_id), None)
    ranked = int(rows[0]["ranked"]) if rows else 0
    return Leaderboard(period, metric, top, mine, ranked)


_TOTALS = """SELECT t.user_id, t.points AS value, 0 AS orders, NULL AS currency, t.last_at, m.display_name, m.tier
    FROM points_totals t JOIN members m ON m.guild_id = t.guild_id AND m.user_id = t.user_id
    WHERE t.guild_id = ? AND m.status = 'active'"""


async def _all_time_points(db: Database, guild_id: int, caller_id: int | None, limit: int) -> Leaderboard:
    """All-time points read the running totals in rank order (index ``points_totals_rank``), and the caller's
    rank is a count of who is ahead — no sort of every member."""
    rows = await db.fetchall(f"{_TOTALS} ORDER BY t.points DESC, t.last_at, t.user_id LIMIT ?", (guild_id, limit))
    top = [_standing({**dict(row), "rank": rank}) for rank, row in enumerate(rows, start=1)]
    ranked = int(await db.fetchval(f"SELECT COUNT(*) FROM ({_TOTALS})", (guild_id,)))
    mine = None
    row = None if caller_id is None else await db.fetchone(f"{_TOTALS} AND t.user_id = ?", (guild_id, caller_id))
    if row is not None:
        ahead = await db.fetchval(
            f"""SELECT COUNT(*) FROM ({_TOTALS} AND (t.points > ? OR (t.points = ? AND t.last_at < ?)
                   OR (t.points = ? AND t.last_at = ? AND t.user_id < ?)))""",
            (guild_id, row["value"], row["value"], row["last_at"], row["value"], row["last_at"], row["user_id"]),
        )
        mine = _standing({**dict(row), "rank": int(ahead) + 1})
    return Leaderboard("all", "points", top, mine, ranked)


def format_value(standing: Standing, metric: Metric) -> str:
    if metric == "points":
        return f"{standing.value:,} pts"
    money = format_minor(standing.value)
    currency = f" {standing.currency}" if standing.currency else ""
    orders = "order" if standing.orders == 1 else "orders"
    return f"{money}{currency} · {standing.orders} {orders}"


def format_minor(amount: int) -> str:
    """Integer minor units as 1,234.56 (no float on the way)."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{cents:02d}"


async def points_between(
    db: Database, guild_id: int, start: datetime, end: datetime, limit: int = TOP
) -> list[Standing]:
    """The top earners of points in [start, end) — the weekly leaderboard post."""
    rows = await db.fetchall(
        """SELECT l.user_id, SUM(l.points) AS value, 0 AS orders, NULL AS currency, m.display_name, m.tier,
                  ROW_NUMBER() OVER (ORDER BY SUM(l.points) DESC, MAX(l.created_at), l.user_id) AS rank
           FROM points_ledger l INDEXED BY points_by_time_covering
           JOIN members m ON m.guild_id = l.guild_id AND m.user_id = l.user_id
           WHERE l.guild_id = ? AND l.created_at >= ? AND l.created_at < ? AND m.status = 'active'
           GROUP BY l.user_id ORDER BY rank LIMIT ?""",
        (guild_id, to_db(start), to_db(end), limit),
    )
    return [_standing(row) for row in rows]
