"""What sales bring to the weekly digest: sales vs last week (public), fraud flags (moderators), and the
weekly metrics "orders" and "revenue" for the digest's chart."""

from __future__ import annotations

from bot.clock import to_db
from bot.db import Database
from bot.services import fraud
from bot.services.digest_sections import DigestSection, DigestWindow, section_provider, weekly_metric
from bot.services.sales_reports import Period, report
from bot.services.shop_payloads import exponent, format_minor


def _change(now: int, before: int) -> str:
    if before == 0:
        return "new" if now else "—"
    delta = (now - before) * 100 // before
    return f"{'+' if delta >= 0 else ''}{delta}%"


@section_provider("sales")
async def sales_section(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
    span = window.end - window.start
    this_week = await report(db, guild_id, Period("custom", "week", window.start, window.end))
    last_week = await report(db, guild_id, Period("custom", "previous", window.start - span, window.start))
    if not this_week and not last_week:
        return []
    lines = []
    currencies = sorted({line.totals.currency for line in this_week + last_week})
    for currency in currencies:
        now_lines = [line.totals for line in this_week if line.totals.currency == currency]
        old_lines = [line.totals for line in last_week if line.totals.currency == currency]
        orders, before = sum(t.orders for t in now_lines), sum(t.orders for t in old_lines)
        net, net_before = sum(t.net_minor for t in now_lines), sum(t.net_minor for t in old_lines)
        lines.append(
            f"🛍️ {orders} order(s) through codes ({_change(orders, before)} vs last week), "
            f"{format_minor(net, currency)} net ({_change(net, net_before)})"
        )
    for place, line in enumerate(this_week[:3], start=1):
        lines.append(f"{place}. <@{line.user_id}> — {line.totals.orders} order(s)")
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
    currency = await db.fetchval(
        "SELECT currency FROM sales WHERE guild_id = ? GROUP BY currency ORDER BY COUNT(*) DESC LIMIT 1", (guild_id,)
    )
    if currency is None:
        return [0 for _ in windows]
    minor = await _weekly(db, guild_id, windows, f"CASE WHEN currency = '{_safe(currency)}' THEN net_minor END")
    scale = 10 ** exponent(currency)
    return [value // scale for value in minor]


def _safe(currency: str) -> str:
    return currency if currency.isalpha() and len(currency) == 3 else "XXX"
