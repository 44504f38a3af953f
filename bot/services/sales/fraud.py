"""Fraud flags for moderators: self-referral, unknown codes, and a code's weekly orders spiking.

Flags are hints, not verdicts: the report and the digest show them to moderators, who decide.
- self-referral: the buyer's email (hashed) equals the ambassador's own email on file (members.email);
- unknown codes: codes customers used that no ambassador holds (a typo, an old promotion, or a leak);
- spike: a code's orders in the last 7 days at least ``SPIKE_FACTOR`` × its weekly average over the 8 weeks
  before, and at least ``SPIKE_MIN_ORDERS`` — the pattern of a code posted to a coupon site.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.clock import from_db, to_db
from bot.db import Database
from bot.storage.dialect import string_agg
from bot.text import plural

SPIKE_FACTOR = 3
SPIKE_MIN_ORDERS = 10
BASELINE_WEEKS = 8


@dataclass(frozen=True)
class FraudFlag:
    kind: Literal["self_referral", "unknown_code", "spike"]
    user_id: int | None
    code: str
    detail: str


async def self_referrals(db: Database, guild_id: int, start: datetime, end: datetime) -> list[FraudFlag]:
    orders = string_agg(db, "COALESCE(order_name, order_id)", ", ")
    rows = await db.fetchall(
        f"""SELECT user_id, code, COUNT(*) AS n, {orders} AS orders
           FROM sales INDEXED BY sales_self_referrals
           WHERE guild_id = ? AND kind = 'sale' AND self_referral = 1
             AND occurred_at >= ? AND occurred_at < ?
           GROUP BY user_id, code ORDER BY n DESC""",
        (guild_id, to_db(start), to_db(end)),
    )
    return [
        FraudFlag(
            "self_referral",
            int(row["user_id"]),
            row["code"],
            f"{plural(row['n'], 'order')} paid with the ambassador's own email: {str(row['orders'])[:200]}",
        )
        for row in rows
    ]


async def unknown_codes(db: Database, guild_id: int, since: datetime, limit: int = 10) -> list[FraudFlag]:
    rows = await db.fetchall(
        "SELECT * FROM unknown_codes WHERE guild_id = ? AND last_seen_at >= ? ORDER BY orders DESC, code LIMIT ?",
        (guild_id, to_db(since), limit),
    )
    return [
        FraudFlag(
            "unknown_code",
            None,
            row["code"],
            f"used in {plural(row['orders'], 'order')} but no ambassador holds it"
            f" (last {from_db(row['last_seen_at']):%d %b})",
        )
        for row in rows
    ]


async def spikes(db: Database, guild_id: int, now: datetime) -> list[FraudFlag]:
    week_start = now - timedelta(days=7)
    base_start = week_start - timedelta(weeks=BASELINE_WEEKS)
    # Counts per code from the covering index alone; only the (rare) flagged codes are then looked up.
    rows = await db.fetchall(
        """SELECT code_id, SUM(CASE WHEN occurred_at >= ? THEN 1 ELSE 0 END) AS recent,
               SUM(CASE WHEN occurred_at < ? THEN 1 ELSE 0 END) AS before
           FROM sales INDEXED BY sales_by_time_covering
           WHERE guild_id = ? AND occurred_at >= ? AND occurred_at < ? AND kind = 'sale'
           GROUP BY code_id""",
        (to_db(week_start), to_db(week_start), guild_id, to_db(base_start), to_db(now)),
    )
    flags = []
    for row in rows:
        recent, usual = int(row["recent"]), int(row["before"]) / BASELINE_WEEKS
        if recent >= SPIKE_MIN_ORDERS and recent >= SPIKE_FACTOR * max(usual, 1.0):
            holder = await db.fetchone(
                """SELECT user_id, code FROM sales WHERE guild_id = ? AND code_id = ? AND kind = 'sale'
                   AND occurred_at < ? ORDER BY occurred_at DESC, id DESC LIMIT 1""",
                (guild_id, row["code_id"], to_db(now)),
            )
            assert holder is not None
            flags.append(
                FraudFlag(
                    "spike",
                    int(holder["user_id"]),
                    holder["code"],
                    f"{recent} orders in 7 days; usually {usual:.1f}/week",
                )
            )
    flags.sort(key=lambda flag: flag.detail, reverse=True)
    return flags


async def all_flags(db: Database, guild_id: int, now: datetime, since: datetime) -> list[FraudFlag]:
    return [
        *await spikes(db, guild_id, now),
        *await self_referrals(db, guild_id, since, now + timedelta(seconds=1)),
        *await unknown_codes(db, guild_id, since),
    ]
