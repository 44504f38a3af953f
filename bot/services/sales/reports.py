"""Numbers from the attribution ledger: an ambassador's own stats, the per-ambassador report, payouts CSV.

Every figure is a SUM over ``sales`` rows (sales positive, refunds negative), grouped by currency — a
program selling in two currencies gets two lines, never a meaningless total. Periods are calendar weeks
(Monday) and months in the server's timezone. Commission is what the affiliates rules say each ledger row of the
period earns or takes back (``bot/services/affiliates/commission.py``): the same numbers as the payout runs.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.clock import to_db
from bot.db import Database
from bot.errors import InvalidInput
from bot.services.affiliates.commission import commission_in
from bot.services.sales.payloads import exponent
from bot.storage.dialect import string_agg
from bot.storage.statements import Row

PeriodKind = Literal["week", "last_week", "month", "last_month", "all"]
PERIOD_LABELS: dict[PeriodKind, str] = {
    "week": "This week",
    "last_week": "Last week",
    "month": "This month",
    "last_month": "Last month",
    "all": "All time",
}
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    kind: PeriodKind | Literal["custom"]
    label: str
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


@dataclass(frozen=True)
class Totals:
    currency: str
    orders: int
    revenue_minor: int  # net of discounts, before refunds
    refunds_minor: int  # positive: given back
    refund_count: int

    @property
    def net_minor(self) -> int:
        return self.revenue_minor - self.refunds_minor


@dataclass(frozen=True)
class MemberLine:
    user_id: int
    display_name: str
    codes: str
    tier: str | None
    commission_bp: int
    totals: Totals
    commission_minor: int = 0  # from the commission rules (rate, first-order rate, bonus), refunds taken back


def commission(net_minor: int, bp: int) -> int:
    """Basis points of a positive net, rounded half up; never negative."""
    if net_minor <= 0 or bp <= 0:
        return 0
    return (net_minor * bp + 5000) // 10000


def period(kind: PeriodKind, now: datetime, zone: ZoneInfo) -> Period:
    local = now.astimezone(zone)
    week_start = datetime.combine(local.date() - timedelta(days=local.weekday()), time(0), zone)
    month_start = datetime.combine(local.date().replace(day=1), time(0), zone)
    if kind == "week":
        start, end = week_start, week_start + timedelta(days=7)
    elif kind == "last_week":
        start, end = week_start - timedelta(days=7), week_start
    elif kind == "month":
        start, end = month_start, _next_month(month_start)
    elif kind == "last_month":
        start, end = _previous_month(month_start), month_start
    else:
        start, end = EPOCH, datetime(9999, 1, 1, tzinfo=UTC)
    return Period(kind, PERIOD_LABELS[kind], start.astimezone(UTC), end.astimezone(UTC))


def month_period(text: str, zone: ZoneInfo) -> Period:
    """'2026-11' → that calendar month in the server's timezone."""
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        if not 2000 <= year <= 2999 or not 1 <= month <= 12:  # far years overflow datetime at the month's edges
            raise ValueError(year, month)
        start = datetime(year, month, 1, tzinfo=zone)
    except (ValueError, OverflowError):
        raise InvalidInput("Give the month as YYYY-MM, e.g. 2026-11.") from None
    return Period("custom", start.strftime("%B %Y"), start.astimezone(UTC), _next_month(start).astimezone(UTC))


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def _previous_month(start: datetime) -> datetime:
    return start.replace(year=start.year - (start.month == 1), month=(start.month - 2) % 12 + 1)


_TOTALS_SQL = """SELECT currency,
       SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS orders,
       COALESCE(SUM(CASE WHEN kind = 'sale' THEN net_minor END), 0) AS revenue,
       COALESCE(-SUM(CASE WHEN kind = 'refund' THEN net_minor END), 0) AS refunds,
       SUM(CASE WHEN kind = 'refund' THEN 1 ELSE 0 END) AS refund_count"""


def _totals(row: Row) -> Totals:
    return Totals(
        row["currency"], int(row["orders"]), int(row["revenue"]), int(row["refunds"]), int(row["refund_count"])
    )


async def member_totals(db: Database, guild_id: int, user_id: int, span: Period) -> list[Totals]:
    rows = await db.fetchall(
        f"""{_TOTALS_SQL} FROM sales WHERE guild_id = ? AND user_id = ? AND occurred_at >= ? AND occurred_at < ?
            GROUP BY currency ORDER BY orders DESC, currency""",
        (guild_id, user_id, to_db(span.start), to_db(span.end)),
    )
    return [_totals(row) for row in rows]


async def commission_bp(db: Database, guild_id: int, user_id: int) -> int:
    value = await db.fetchval(
        """SELECT t.commission_bp FROM members m JOIN tiers t ON t.guild_id = m.guild_id AND t.key = m.tier
           WHERE m.guild_id = ? AND m.user_id = ?""",
        (guild_id, user_id),
    )
    return int(value or 0)


async def sales_rank(db: Database, guild_id: int, user_id: int) -> tuple[int, int] | None:
    """(rank, of how many) by all-time sales (refunded ones included), then net revenue; None without sales."""
    # sales_totals (migration 0008, kept by triggers) holds each member's sale count and net with refunds
    # negative: counting who is ahead there reads 10,000 rows instead of grouping 200,000 sales.
    mine = await db.fetchone(
        "SELECT orders, value FROM sales_totals WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    if mine is None:
        return None
    orders, net = mine["orders"], mine["value"]
    row = await db.fetchone(
        """SELECT COUNT(*) AS members,
                  SUM(CASE WHEN orders > ? OR (orders = ? AND value > ?)
                           OR (orders = ? AND value = ? AND user_id < ?) THEN 1 ELSE 0 END) AS ahead
           FROM sales_totals WHERE guild_id = ?""",
        (orders, orders, net, orders, net, user_id, guild_id),
    )
    assert row is not None
    return int(row["ahead"]) + 1, int(row["members"])


@dataclass(frozen=True)
class MyNumbers:
    periods: list[tuple[Period, list[Totals]]]
    commission_bp: int
    rank: tuple[int, int] | None


async def my_numbers(db: Database, guild_id: int, user_id: int, now: datetime, zone: ZoneInfo) -> MyNumbers:
    spans = [period(kind, now, zone) for kind in ("week", "month", "all")]
    return MyNumbers(
        [(span, await member_totals(db, guild_id, user_id, span)) for span in spans],
        await commission_bp(db, guild_id, user_id),
        await sales_rank(db, guild_id, user_id),
    )


async def report(db: Database, guild_id: int, span: Period) -> list[MemberLine]:
    """Per ambassador and currency, best first (by orders, then net)."""
    codes = string_agg(db, "s.code", distinct=True)
    rows = await db.fetchall(
        f"""{_TOTALS_SQL}, s.user_id AS user_id, COALESCE(m.display_name, CAST(s.user_id AS TEXT)) AS display_name,
               m.tier AS tier, COALESCE(t.commission_bp, 0) AS bp, {codes} AS codes
            FROM sales s
            LEFT JOIN members m ON m.guild_id = s.guild_id AND m.user_id = s.user_id
            LEFT JOIN tiers t ON t.guild_id = m.guild_id AND t.key = m.tier
            WHERE s.guild_id = ? AND s.occurred_at >= ? AND s.occurred_at < ?
            GROUP BY s.user_id, s.currency, m.display_name, m.tier, t.commission_bp
            ORDER BY orders DESC, SUM(s.net_minor) DESC, s.user_id""",
        (guild_id, to_db(span.start), to_db(span.end)),
    )
    earned = await commission_in(db, guild_id, span.start, span.end)
    return [
        MemberLine(int(row["user_id"]), str(row["display_name"]), row["codes"] or "", row["tier"], int(row["bp"]),
                   _totals(row), earned.get((int(row["user_id"]), row["currency"]), 0))
        for row in rows
    ]  # fmt: skip


def plain_amount(minor: int, currency: str) -> str:
    """Minor units → a plain decimal string for spreadsheets ('1234.50')."""
    places = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**places)
    return f"{sign}{whole}" if places == 0 else f"{sign}{whole}.{frac:0{places}d}"


def _cell(value: str) -> str:
    # A name starting with = + - @ would run as a formula when the CSV is opened in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


PAYOUT_HEADER = ["user_id", "name", "codes", "tier", "commission_bp", "currency", "orders", "revenue", "refunds",
                 "net", "commission"]  # fmt: skip


def payouts_csv(lines: list[MemberLine]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAYOUT_HEADER)
    for line in lines:
        t = line.totals
        writer.writerow(
            [str(line.user_id), _cell(line.display_name), _cell(line.codes), line.tier or "", line.commission_bp,
             t.currency, t.orders, plain_amount(t.revenue_minor, t.currency),
             plain_amount(t.refunds_minor, t.currency), plain_amount(t.net_minor, t.currency),
             plain_amount(line.commission_minor, t.currency)]
        )  # fmt: skip
    return out.getvalue().encode("utf-8")
