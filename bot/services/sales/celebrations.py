"""Bookkeeping for "your code was just used": a burst of sales becomes one DM.

The first sale after a quiet spell names a durable timer (``code-celebration``, key ``<user>:<sale id>``)
due a short while later; further sales in the meantime find that timer pending and add nothing. When it
fires, every sale since the last celebration is announced at once. The row (``sale_celebrations``) is the
truth: the scheduler only triggers, so a restart loses nothing and a burst of 50 orders is one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.storage.dialect import string_agg
from bot.unit_of_work import TimerKind

KIND = TimerKind("code-celebration", "a sale shout-out")  # payload: {"user_id": …}
DEBOUNCE = timedelta(minutes=2)
# A sale older than this when it reaches the ledger (the catch-up after downtime, a new shop's 60-day backfill)
# is counted but not celebrated: "your code was just used" about an order from last month would be wrong.
FRESH = timedelta(hours=24)


@dataclass(frozen=True)
class Burst:
    user_id: int
    sales: int
    upto_sale_id: int
    codes: tuple[str, ...]


async def note_sale(tx: Transaction, guild_id: int, user_id: int, sale_id: int, now: datetime) -> str | None:
    """Make sure a celebration timer covers this sale: the one already pending, or a new one due after the
    debounce (fifty sales in a burst share one timer). Returns its key; None for a sale too old to celebrate."""
    fresh = await tx.fetchval("SELECT 1 FROM sales WHERE id = ? AND occurred_at >= ?", (sale_id, to_db(now - FRESH)))
    if not fresh:
        return None
    pending = await tx.fetchval(
        "SELECT pending_key FROM sale_celebrations WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    if pending:
        return str(pending)
    key = f"{user_id}:{sale_id}"
    await tx.execute(
        """INSERT INTO sale_celebrations (guild_id, user_id, pending_key, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (guild_id, user_id) DO UPDATE SET pending_key = excluded.pending_key,
               updated_at = excluded.updated_at""",
        (guild_id, user_id, key, to_db(now)),
    )
    await tx.schedule(guild_id, KIND, key, now + DEBOUNCE, now, {"user_id": user_id})
    return key


async def pending_burst(db: Database, guild_id: int, user_id: int, key: str, now: datetime) -> Burst | None:
    """The fresh sales this timer should announce; None when there are none or the timer is stale."""
    state = await db.fetchone(
        "SELECT last_sale_id, pending_key FROM sale_celebrations WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
    if state is None or state["pending_key"] != key:
        return None
    last = state["last_sale_id"]
    codes = string_agg(db, "code", distinct=True)
    row = await db.fetchone(
        f"""SELECT COUNT(*) AS n, MAX(id) AS upto, {codes} AS codes FROM sales
           WHERE guild_id = ? AND user_id = ? AND kind = 'sale' AND source != 'csv' AND id > ?
             AND occurred_at >= ?""",
        (guild_id, user_id, int(last or 0), to_db(now - FRESH)),
    )
    if row is None or not row["n"]:
        return None
    return Burst(user_id, int(row["n"]), int(row["upto"]), tuple(str(row["codes"] or "").split(",")))


async def finish_burst(tx: Transaction, guild_id: int, user_id: int, key: str, upto: int, now: datetime) -> str | None:
    """Mark sales up to ``upto`` celebrated. Returns a new timer key if more sales arrived meanwhile."""
    changed = await tx.execute(
        """UPDATE sale_celebrations SET last_sale_id = MAX(last_sale_id, ?), pending_key = NULL, updated_at = ?
           WHERE guild_id = ? AND user_id = ? AND pending_key = ?""",
        (upto, to_db(now), guild_id, user_id, key),
    )
    if changed != 1:
        return None  # a stale timer: another one owns this member's celebrations now
    newer = await tx.fetchval(
        """SELECT MIN(id) FROM sales WHERE guild_id = ? AND user_id = ? AND kind = 'sale' AND source != 'csv'
           AND id > (SELECT last_sale_id FROM sale_celebrations WHERE guild_id = ? AND user_id = ?)""",
        (guild_id, user_id, guild_id, user_id),
    )
    if newer is None:
        return None
    next_key = f"{user_id}:{newer}"
    await tx.execute(
        "UPDATE sale_celebrations SET pending_key = ? WHERE guild_id = ? AND user_id = ? AND pending_key IS NULL",
        (next_key, guild_id, user_id),
    )
    await tx.schedule(guild_id, KIND, next_key, now + DEBOUNCE, now, {"user_id": user_id})
    return next_key
