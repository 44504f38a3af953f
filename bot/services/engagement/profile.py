"""A member's profile: tier, points (lifetime, and what is left to spend on rewards), rank, submissions, code sales
and their streak of active weeks.

An *active week* is a local calendar week (Monday to Sunday) in which the member earned points — points
reward everything the program values (approved content, sales, polls, events). The streak counts
consecutive active weeks up to this week; a week still in progress does not break it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import from_db
from bot.db import Database
from bot.services.engagement.leaderboard import leaderboard
from bot.services.engagement.points import totals
from bot.services.program.members import get_member
from bot.services.rewards.balance import balance

STREAK_LOOKBACK_ROWS = 5000  # enough for years of weekly activity; bounds the read for heavy earners


@dataclass(frozen=True)
class Profile:
    user_id: int
    display_name: str
    status: str
    tier: str | None
    points_week: int
    points_all: int  # lifetime: spending never lowers it
    points_spendable: int  # lifetime minus what was spent on rewards (bot/services/rewards/balance.py)
    rank: int | None  # all-time points rank among active ambassadors
    ranked: int
    approved_submissions: int
    pending_submissions: int
    orders: int
    revenue: int  # net, minor units
    currency: str | None
    streak_weeks: int


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def streak(activity: list[datetime], now: datetime, zone: ZoneInfo) -> int:
    """Consecutive active local weeks ending this week (or last week, while this one is young)."""
    weeks = {_monday(moment.astimezone(zone).date()) for moment in activity}
    week = _monday(now.astimezone(zone).date())
    if week not in weeks:
        week -= timedelta(days=7)
    count = 0
    while week in weeks:
        count += 1
        week -= timedelta(days=7)
    return count


async def _submission_counts(db: Database, guild_id: int, user_id: int) -> tuple[int, int]:
    row = await db.fetchone(
        """SELECT COALESCE(SUM(CASE WHEN status = 'approved' THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0)
           FROM submissions WHERE guild_id = ? AND user_id = ?""",
        (guild_id, user_id),
    )
    assert row is not None
    return int(row[0]), int(row[1])


async def _sales(db: Database, guild_id: int, user_id: int) -> tuple[int, int, str | None]:
    """Orders, net revenue and currency, from the totals triggers keep beside the sales ledger (0008)."""
    row = await db.fetchone(
        "SELECT orders, value, currency FROM sales_totals WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return (0, 0, None) if row is None else (int(row[0]), int(row[1]), row[2])


async def profile(db: Database, guild_id: int, user_id: int, *, now: datetime, zone: ZoneInfo) -> Profile:
    member = await get_member(db, guild_id, user_id)
    points = await totals(db, guild_id, user_id, now, zone)
    spendable = (await balance(db, guild_id, user_id)).spendable
    board = await leaderboard(
        db, guild_id, period="all", metric="points", now=now, zone=zone, caller_id=user_id, limit=0
    )
    approved, pending = await _submission_counts(db, guild_id, user_id)
    orders, revenue, currency = await _sales(db, guild_id, user_id)
    rows = await db.fetchall(
        "SELECT created_at FROM points_ledger WHERE guild_id = ? AND user_id = ? ORDER BY created_at DESC LIMIT ?",
        (guild_id, user_id, STREAK_LOOKBACK_ROWS),
    )
    return Profile(
        user_id=user_id,
        display_name=member.display_name,
        status=member.status,
        tier=member.tier,
        points_week=points.week,
        points_all=points.all_time,
        points_spendable=spendable,
        rank=board.me.rank if board.me else None,
        ranked=board.ranked,
        approved_submissions=approved,
        pending_submissions=pending,
        orders=orders,
        revenue=revenue,
        currency=currency,
        streak_weeks=streak([from_db(row["created_at"]) for row in rows], now, zone),
    )
