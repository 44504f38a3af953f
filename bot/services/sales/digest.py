"""What sales bring to the weekly digest: sales vs last week (public), fraud flags (moderators), and the
weekly metrics "orders" and "revenue" for the digest's chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import references as ref
from bot.clock import to_db
from bot.db import Database
from bot.services.digest.sections import DigestSection, DigestWindow, section_provider, weekly_metric
from bot.services.sales import fraud
from bot.services.sales.payloads import exponent, format_minor
from bot.text import plural


def _change(now: int, before: int) -> str:
    if before == 0:
        return "new" if now else "—"
    delta = (now - before) * 100 // before
    return f"{'+' if delta >= 0 else ''}{delta}%"


@dataclass(frozen=True)
class _Line:
    user_id: int
    currency: str
    orders: int
    net: int


async def _week(db: Database, guild_id: int, start: datetime, end: datetime) -> list[_Line]:
    """Per ambassador and currency, best first: the figures of ``sales_reports.report`` this section shows,
    read from the covering index alone (no row lookups, no joins)."""
    rows = await db.fetchall(
        """SELECT user_id, currency, SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS orders, SUM(net_minor) AS net
           FROM sales INDEXED BY sales_by_time_covering
           WHERE guild_id = ? AND occurred_at >= ? AND occurred_at < ?
           GROUP BY user_id, currency ORDER BY orders DESC, net DESC, user_id, currency""",
        (guild_id, to_db(start), to_db(end)),
    )
    return [_Line(int(row["user_id"]), row["currency"], int(row["orders"]), int(row["net"])) for row in rows]


@section_provider("sales")
async def sales_section(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
    span = window.end - window.start
    this_week = await _week(db, guild_id, window.start, window.end)
    last_week = await _week(db, guild_id, window.start - span, window.start)
    if not this_week and not last_week:
        return []
    lines = []
    currencies = sorted({line.currency for line in this_week + last_week})
    for currency in currencies:
        now_lines = [line for line in this_week if line.currency == currency]
        old_lines = [line for line in last_week if line.currency == currency]
        orders, before = sum(t.orders for t in now_lines), sum(t.orders for t in old_lines)
        net, net_before = sum(t.net for t in now_lines), sum(t.net for t in old_lines)
        lines.append(
            f"🛍️ {plural(orders, 'order')} through codes ({_change(orders, before)} vs last week), "
            f"{format_minor(net, currency)} net ({_change(net, net_before)})"
        )
    for place, line in enumerate(this_week[:3], start=1):
        lines.append(f"{place}. {ref.member(line.user_id)} — {plural(line.orders, 'order')}")
    return [DigestSection("sales", "Sales through codes", lines, order=30)]


@section_provider("sales_flags")
async def flags_section(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
    flags = await fraud.all_flags(db, guild_id, window.end, window.start)
    if not flags:
        return []
    icons = {"spike": "📈", "self_referral": "🪞", "unknown_code": "❓"}
    lines = [f"{icons[flag.kind]} `{flag.code}` — {flag.detail}" for flag in flags[:10]]
    return [DigestSection("sales_flags", "Code flags to check", lines, audience="moderators", order=90)]


async def _weekly(db: Database, guild_id: int, windows: list[DigestWindow], column: str) -> list[int]:
    values = []
    for window in windows:
        value = await db.fetchval(
            f"SELECT COALESCE(SUM({column}), 0) FROM sales WHERE guild_id = ? AND occurred_at >= ? AND occurred_at < ?",
            (guild_id, to_db(window.start), to_db(window.end)),
        )
        values.append(int(value))
    return values


@weekly_metric("orders", "Orders through codes")
async def orders_metric(db: Database, guild_id: int, windows: list[DigestWindow]) -> list[int]:
    return await _weekly(db, guild_id, windows, "CASE WHEN kind = 'sale' THEN 1 ELSE 0 END")


@weekly_metric("revenue", "Net revenue through codes (whole units)")
async def revenue_metric(db: Database, guild_id: int, windows: list[DigestWindow]) -> list[int]:
    # Whole units of the program's most used currency; other currencies would make the sum meaningless.
    currency = await db.fetchval(  # counts kept by triggers on sales (migration 0008)
        "SELECT currency FROM sales_currencies WHERE guild_id = ? AND entries > 0 ORDER BY entries DESC, currency"
        " LIMIT 1",
        (guild_id,),
    )
    if currency is None:
        return [0 for _ in windows]
    minor = await _weekly(db, guild_id, windows, f"CASE WHEN currency = '{_safe(currency)}' THEN net_minor END")
    scale = 10 ** exponent(currency)
    return [value // scale for value in minor]


def _safe(currency: str) -> str:
    return currency if currency.isalpha() and len(currency) == 3 else "XXX"
