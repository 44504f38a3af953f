"""The points ledger: append-only rows, each with a unique reference so an award happens exactly once.

Every capability awards through ``award`` inside its own transaction (the approval, the sale, the vote),
so the points and the thing they reward commit together or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.errors import InvalidInput, NotFound
from bot.services.program import audit

Reason = Literal["submission", "sale", "refund", "poll", "event", "adjustment"]


# An award, exactly once per reference (params: guild, user, points, reason, reference, note, at, by). Hot
# paths that run as one synchronous pass in the writer's thread (a poll vote) execute it directly.
AWARD_SQL = """INSERT INTO points_ledger (guild_id, user_id, points, reason, reference, note, created_at, created_by)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, reference) DO NOTHING"""


async def award(
    tx: Transaction,
    guild_id: int,
    user_id: int,
    points: int,
    reason: Reason,
    reference: str,
    now: datetime,
    *,
    actor_id: int | None = None,
    note: str | None = None,
) -> bool:
    """Record ``points`` (negative to reverse). Returns False when ``reference`` was already awarded."""
    changed = await tx.execute(AWARD_SQL, (guild_id, user_id, points, reason, reference, note, to_db(now), actor_id))
    return changed == 1


async def balance(db: Database, guild_id: int, user_id: int, since: datetime | None = None) -> int:
    if since is None:
        value = await db.fetchval(
            "SELECT COALESCE(SUM(points), 0) FROM points_ledger WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
    else:
        value = await db.fetchval(
            "SELECT COALESCE(SUM(points), 0) FROM points_ledger WHERE guild_id = ? AND user_id = ? AND created_at >= ?",
            (guild_id, user_id, to_db(since)),
        )
    return int(value)


# -- periods, totals and manual adjustments ------------------------------------------------------------

Period = Literal["week", "month", "all"]
PERIODS: tuple[Period, ...] = ("week", "month", "all")
MAX_ADJUSTMENT = 100_000
MAX_REASON = 200


def period_start(period: Period, now: datetime, zone: ZoneInfo) -> datetime | None:
    """Start (UTC) of the local calendar week (Monday 00:00) or month containing ``now``; None for all time."""
    if period == "all":
        return None
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=local.weekday()) if period == "week" else local.date().replace(day=1)
    return datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class PointTotals:
    week: int
    month: int
    all_time: int


async def totals(db: Database, guild_id: int, user_id: int, now: datetime, zone: ZoneInfo) -> PointTotals:
    week_start, month_start = period_start("week", now, zone), period_start("month", now, zone)
    assert week_start is not None and month_start is not None
    row = await db.fetchone(
        """SELECT COALESCE(SUM(CASE WHEN created_at >= ? THEN points END), 0),
                  COALESCE(SUM(CASE WHEN created_at >= ? THEN points END), 0)
           FROM points_ledger WHERE guild_id = ? AND user_id = ? AND created_at >= ?""",
        (to_db(week_start), to_db(month_start), guild_id, user_id, to_db(min(week_start, month_start))),
    )
    all_time = await db.fetchval(
        "SELECT points FROM points_totals WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    assert row is not None
    return PointTotals(week=int(row[0]), month=int(row[1]), all_time=int(all_time or 0))


@dataclass(frozen=True)
class Adjustment:
    total: int  # the member's all-time total afterwards
    entry: audit.AuditEntry  # dispatched as "audit_recorded" after commit


async def adjust(
    tx: Transaction, guild_id: int, user_id: int, amount: int, reason: str, *, actor_id: int, now: datetime
) -> Adjustment:
    """A moderator's manual award or deduction, audited."""
    reason = reason.strip()
    if amount == 0 or abs(amount) > MAX_ADJUSTMENT:
        raise InvalidInput(f"The amount must be between -{MAX_ADJUSTMENT:,} and {MAX_ADJUSTMENT:,}, and not 0.")
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"Give a reason of 1–{MAX_REASON} characters; it goes in the audit log.")
    member = await tx.fetchone("SELECT status FROM members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    if member is None:
        raise NotFound("That person isn't part of the program.")
    reference = f"adjustment:{uuid.uuid4().hex}"
    await award(tx, guild_id, user_id, amount, "adjustment", reference, now, actor_id=actor_id, note=reason)
    entry = await audit.record(tx, guild_id, actor_id, "points.adjust", user_id, now, amount=amount, reason=reason)
    total = await tx.fetchval(
        "SELECT points FROM points_totals WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return Adjustment(int(total), entry)
