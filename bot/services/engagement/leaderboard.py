"""Leaderboards: the top 10 and the caller's own rank, by points or by code sales, for a week, month or all time.

Only active ambassadors are ranked (paused, departed and removed members are left out). Ties are broken
deterministically: the higher value first, then whoever reached it first (earlier latest award or sale),
then the lower user id.

Time-range sums name ``points_by_time_covering`` (migration 0006) or ``sales_by_time_covering`` (0008):
left to itself SQLite walks the per-member index to avoid sorting the groups, which reads every row the
server ever had. All-time boards read the trigger-kept totals (``points_totals``, ``sales_totals``) in rank
order; the month's boards read the monthly buckets (``points_monthly``, ``sales_monthly``) plus the ledger's
edge hours.
Sales come from the codes capability's ledger (``sales``, migration 0004), where refunds carry negative money.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.clock import to_db
from bot.db import Database
from bot.services.engagement.points import Period, period_start
from bot.storage.statements import Row

Metric = Literal["points", "sales"]
METRICS: tuple[Metric, ...] = ("points", "sales")
TOP = 10


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


def _aggregate(metric: Metric, since: datetime) -> str:
    """SQL for (user_id, value, orders, currency, last_at) per member since ``since`` (params: guild, since)."""
    if metric == "points":
        return (
            "SELECT user_id, SUM(points) AS value, 0 AS orders, NULL AS currency, MAX(created_at) AS last_at"
            " FROM points_ledger INDEXED BY points_by_time_covering"
            " WHERE guild_id = ? AND created_at >= ? GROUP BY user_id"
        )
    # A refund subtracts whatever sign it was stored with, and is not an order.
    return (
        "SELECT user_id, SUM(CASE WHEN kind = 'refund' THEN -ABS(net_minor) ELSE net_minor END) AS value,"
        " SUM(CASE WHEN kind = 'refund' THEN 0 ELSE 1 END) AS orders,"
        " MAX(currency) AS currency, MAX(occurred_at) AS last_at FROM sales INDEXED BY sales_by_time_covering"
        " WHERE guild_id = ? AND occurred_at >= ? GROUP BY user_id"
    )


def _standing(row: Row | dict[str, Any]) -> Standing:
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
        return await _all_time(db, guild_id, "points", caller_id, limit)
    if period == "month":
        since = period_start(period, now, zone)
        assert since is not None
        if metric == "points":
            return await _month_points(db, guild_id, since, caller_id, limit)
        return await _month_sales(db, guild_id, since, caller_id, limit)
    if period == "all":
        return await _all_time(db, guild_id, metric, caller_id, limit)
    since = period_start(period, now, zone)
    assert since is not None
    aggregate, params = _aggregate(metric, since), [to_db(since)]
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


_TOTALS: dict[Metric, str] = {
    "points": """SELECT t.user_id, t.points AS value, 0 AS orders, NULL AS currency, t.last_at, m.display_name,
        m.tier FROM points_totals t JOIN members m ON m.guild_id = t.guild_id AND m.user_id = t.user_id
        WHERE t.guild_id = ? AND m.status = 'active'""",
    "sales": """SELECT t.user_id, t.value, t.orders, t.currency, t.last_at, m.display_name, m.tier
        FROM sales_totals t JOIN members m ON m.guild_id = t.guild_id AND m.user_id = t.user_id
        WHERE t.guild_id = ? AND m.status = 'active'""",
}
_RANK_ORDER: dict[Metric, str] = {  # the order of each totals table's rank index
    "points": "t.points DESC, t.last_at, t.user_id",
    "sales": "t.value DESC, t.orders DESC, t.last_at, t.user_id",
}
_AHEAD = """value > ? OR (value = ? AND (orders > ? OR (orders = ? AND (last_at < ?
    OR (last_at = ? AND user_id < ?)))))"""


async def _all_time(db: Database, guild_id: int, metric: Metric, caller_id: int | None, limit: int) -> Leaderboard:
    """All-time boards read the running totals in rank order (``points_totals_rank``, ``sales_totals_rank``),
    and the caller's rank is a count of who is ahead — no sort of every member."""
    totals = _TOTALS[metric]
    rows = await db.fetchall(f"{totals} ORDER BY {_RANK_ORDER[metric]} LIMIT ?", (guild_id, limit))
    top = [_standing({**dict(row), "rank": rank}) for rank, row in enumerate(rows, start=1)]
    row = None if caller_id is None else await db.fetchone(f"{totals} AND t.user_id = ?", (guild_id, caller_id))
    if row is None:
        return Leaderboard(
            "all", metric, top, None, int(await db.fetchval(f"SELECT COUNT(*) FROM ({totals}) AS ranked", (guild_id,)))
        )
    # How many are ranked and how many are ahead of the caller, in one pass over the totals.
    value, orders, last_at = row["value"], row["orders"], row["last_at"]
    counts = await db.fetchone(
        f"SELECT COUNT(*), COALESCE(SUM({_AHEAD}), 0) FROM ({totals}) AS ranked",
        (value, value, orders, orders, last_at, last_at, row["user_id"], guild_id),
    )
    assert counts is not None
    mine = _standing({**dict(row), "rank": int(counts[1]) + 1})
    return Leaderboard("all", metric, top, mine, int(counts[0]))


# -- the month's points: UTC monthly buckets, corrected by the ledger's edge hours ------------------------
#
# A month in the server's timezone starts a few hours either side of a UTC month boundary. Its points are
# the bucket of the nearest UTC month, plus (or minus) the ledger rows between that boundary and the local
# start, plus any later buckets (rows dated ahead). Only the members touched by those corrections — a few
# hundred at most — need their bucket value corrected; everyone else's bucket value is exact, so the top is
# read from the buckets' rank index and the caller's rank is a count of who is ahead.

_CORRECTIONS = """SELECT user_id, SUM(points) AS p, SUM(entries) AS e, MAX(last_at) AS l FROM (
        SELECT user_id, points, entries, last_at FROM points_monthly WHERE guild_id = :g AND month > :month
        UNION ALL
        SELECT user_id, {sign} * points, {sign}, {last_at} FROM points_ledger INDEXED BY points_by_time_covering
        WHERE guild_id = :g AND created_at >= :edge_from AND created_at < :edge_to) AS edges
    GROUP BY user_id"""

# Exact standings of the members in ``who``: bucket + correction, active and with rows in the period.
_EXACT = """exact AS (
        SELECT c.user_id, COALESCE(b.points, 0) + COALESCE(s.p, 0) AS value, 0 AS orders, NULL AS currency,
               COALESCE(max(b.last_at, s.l), b.last_at, s.l) AS last_at, m.display_name, m.tier
        FROM who c JOIN members m ON m.guild_id = :g AND m.user_id = c.user_id
        LEFT JOIN points_monthly b ON b.guild_id = :g AND b.month = :month AND b.user_id = c.user_id
        LEFT JOIN touched s ON s.user_id = c.user_id
        WHERE m.status = 'active' AND COALESCE(b.entries, 0) + COALESCE(s.e, 0) > 0)"""

_BUCKETS = """FROM points_monthly b INDEXED BY points_monthly_rank
    JOIN members m ON m.guild_id = b.guild_id AND m.user_id = b.user_id
    WHERE b.guild_id = :g AND b.month = :month AND m.status = 'active'"""

_MONTH_TOP = f"""WITH touched AS MATERIALIZED ({_CORRECTIONS}),
    head AS (SELECT b.user_id {_BUCKETS} ORDER BY b.points DESC, b.last_at, b.user_id LIMIT :head),
    who AS (SELECT user_id FROM head UNION SELECT user_id FROM touched),
    {_EXACT}
    SELECT * FROM exact ORDER BY value DESC, last_at, user_id LIMIT :limit"""

_AHEAD_OF_ME = """(o.value > me.value OR (o.value = me.value AND (o.orders > me.orders
    OR (o.orders = me.orders AND (o.last_at < me.last_at OR (o.last_at = me.last_at AND o.user_id < me.user_id))))))"""


def _month_me(touched: str, exact: str, buckets: str) -> str:
    """SQL for the caller's standing, how many are ranked and how many are ahead of the caller: one pass over
    the untouched buckets (``buckets`` selects user_id, value, orders, last_at), the touched ones from ``exact``.
    """
    return f"""WITH touched AS MATERIALIZED ({touched}),
    who AS (SELECT user_id FROM touched UNION SELECT :caller),
    {exact},
    me AS (SELECT * FROM exact WHERE user_id = :caller),
    plain AS (
        SELECT COUNT(*) AS n, COALESCE(SUM({_AHEAD_OF_ME}), 0) AS ahead FROM (
            {buckets} AND b.user_id NOT IN (SELECT user_id FROM touched)) o LEFT JOIN me ON 1 = 1),
    fixed AS (
        SELECT COUNT(*) AS n, COALESCE(SUM({_AHEAD_OF_ME}), 0) AS ahead FROM (
            SELECT user_id, value, orders, last_at FROM exact WHERE user_id IN (SELECT user_id FROM touched)) o
        LEFT JOIN me ON 1 = 1)
    SELECT me.*, plain.n + fixed.n AS ranked, plain.ahead + fixed.ahead AS ahead
    FROM plain CROSS JOIN fixed LEFT JOIN me ON 1 = 1"""


def _nearest_utc_month(since: datetime) -> tuple[datetime, int, tuple[datetime, datetime]]:
    """The UTC month whose buckets stand in for the local month starting at ``since``; whether the rows
    between the two boundaries are to be taken out of it (-1) or added to it (+1); and those edge hours."""
    first = since.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first + timedelta(days=32)).replace(day=1)
    if since - first <= following - since:
        return first, -1, (first, since)
    return following, 1, (since, following)


async def _month_points(db: Database, guild_id: int, since: datetime, caller_id: int | None, limit: int) -> Leaderboard:
    # Subtracting the rows before ``since`` stays exact: a member left with 0 entries drops out, and every
    # row at or after ``since`` is later than the subtracted ones, so the bucket's MAX(last_at) still holds.
    month, sign, edge = _nearest_utc_month(since)
    fix = _CORRECTIONS.format(sign=sign, last_at="created_at" if sign > 0 else "NULL")
    params: dict[str, object] = {
        "g": guild_id, "month": month.strftime("%Y-%m"), "edge_from": to_db(edge[0]), "edge_to": to_db(edge[1]),
        "limit": limit, "caller": caller_id if caller_id is not None else -1,
    }  # fmt: skip
    corrected = int(await db.fetchval(f"SELECT COUNT(*) FROM ({fix}) AS fixed", params))
    # Any member outside the first limit + corrected of the buckets' order has ``limit`` uncorrected (so
    # exact) members ahead: the top is among those and the corrected ones.
    rows = await db.fetchall(_MONTH_TOP.replace(_CORRECTIONS, fix), {**params, "head": limit + corrected})
    top = [_standing({**dict(row), "rank": rank}) for rank, row in enumerate(rows, start=1)]
    buckets = f"SELECT b.user_id, b.points AS value, 0 AS orders, b.last_at {_BUCKETS}"
    row = await db.fetchone(_month_me(fix, _EXACT, buckets), params)
    assert row is not None
    mine = None if row["user_id"] is None else _standing({**dict(row), "rank": int(row["ahead"]) + 1})
    return Leaderboard("month", "points", top, mine, int(row["ranked"]))


# -- the month's sales: UTC monthly buckets (migration 0009), the edge members summed from the ledger ------
#
# As for points, but a member touched by the edge hours (or with sales dated in a later month) is summed
# from their own ledger rows since the local start instead of corrected arithmetically: MAX(currency)
# cannot be un-maxed, and such a member has a handful of rows, read through ``sales_by_member_time``.

_TOUCHED = """SELECT user_id FROM sales_monthly WHERE guild_id = :g AND month > :month
    UNION
    SELECT user_id FROM sales INDEXED BY sales_by_time_covering
    WHERE guild_id = :g AND occurred_at >= :edge_from AND occurred_at < :edge_to"""

_SALES_EXACT = """exact AS (
        SELECT s.user_id, SUM(CASE WHEN s.kind = 'refund' THEN -ABS(s.net_minor) ELSE s.net_minor END) AS value,
               SUM(CASE WHEN s.kind <> 'refund' THEN 1 ELSE 0 END) AS orders,
               MAX(s.currency) AS currency, MAX(s.occurred_at) AS last_at,
               m.display_name, m.tier
        FROM who w JOIN members m ON m.guild_id = :g AND m.user_id = w.user_id
        JOIN sales s INDEXED BY sales_by_member_time
            ON s.guild_id = :g AND s.user_id = w.user_id AND s.occurred_at >= :since
        WHERE m.status = 'active' GROUP BY s.user_id, m.display_name, m.tier)"""

_SALES_BUCKETS = """FROM sales_monthly b INDEXED BY sales_monthly_rank
    JOIN members m ON m.guild_id = b.guild_id AND m.user_id = b.user_id
    WHERE b.guild_id = :g AND b.month = :month AND m.status = 'active'"""

_SALES_MONTH_TOP = f"""WITH touched AS MATERIALIZED ({_TOUCHED}),
    head AS (SELECT b.user_id {_SALES_BUCKETS} ORDER BY b.value DESC, b.orders DESC, b.last_at, b.user_id
             LIMIT :head),
    who AS (SELECT user_id FROM head UNION SELECT user_id FROM touched),
    {_SALES_EXACT}
    SELECT * FROM exact ORDER BY value DESC, orders DESC, last_at, user_id LIMIT :limit"""


async def _month_sales(db: Database, guild_id: int, since: datetime, caller_id: int | None, limit: int) -> Leaderboard:
    month, _, edge = _nearest_utc_month(since)
    params: dict[str, object] = {
        "g": guild_id, "month": month.strftime("%Y-%m"), "since": to_db(since), "edge_from": to_db(edge[0]),
        "edge_to": to_db(edge[1]), "limit": limit, "caller": caller_id if caller_id is not None else -1,
    }  # fmt: skip
    touched = int(await db.fetchval(f"SELECT COUNT(*) FROM ({_TOUCHED}) AS touched", params))
    # Everyone untouched has their exact month in the bucket: the top is among the first limit + touched of
    # the buckets' order and the touched members, as for points.
    rows = await db.fetchall(_SALES_MONTH_TOP, {**params, "head": limit + touched})
    top = [_standing({**dict(row), "rank": rank}) for rank, row in enumerate(rows, start=1)]
    buckets = f"SELECT b.user_id, b.value, b.orders, b.last_at {_SALES_BUCKETS}"
    row = await db.fetchone(_month_me(_TOUCHED, _SALES_EXACT, buckets), params)
    assert row is not None
    mine = None if row["user_id"] is None else _standing({**dict(row), "rank": int(row["ahead"]) + 1})
    return Leaderboard("month", "sales", top, mine, int(row["ranked"]))


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
           GROUP BY l.user_id, m.display_name, m.tier ORDER BY rank LIMIT ?""",
        (guild_id, to_db(start), to_db(end), limit),
    )
    return [_standing(row) for row in rows]
