"""The points ledger: append-only rows, each with a unique reference so an award happens exactly once.

Every capability awards through ``award`` inside its own transaction (the approval, the sale, the vote),
so the points and the thing they reward commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from bot.clock import to_db
from bot.db import Database, Transaction

Reason = Literal["submission", "sale", "refund", "poll", "event", "adjustment"]


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
    cur = await tx.execute(
        """INSERT INTO points_ledger (guild_id, user_id, points, reason, reference, note, created_at, created_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, reference) DO NOTHING""",
        (guild_id, user_id, points, reason, reference, note, to_db(now), actor_id),
    )
    return cur.rowcount == 1


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
