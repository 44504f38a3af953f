"""A server's shop connection as Collective remembers it (never its secrets): which shop, what the last check
found, which webhooks deliver to us, how far the catch-up has read, when the codes were last synced.

``record_connection`` runs at every start for each configured shop. A server that switches to another shop
starts over: a new backfill, a new cursor, and every code owed to the new shop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import from_db, to_db
from bot.db import Database, Transaction

PROBLEM = "shop.problem"  # {"problem": …}: a connection-wide failure (a bad token, a missing scope), told once
BACKFILL_WINDOW = timedelta(days=60)  # what Shopify serves without read_all_orders


@dataclass(frozen=True)
class ShopConnection:
    guild_id: int
    platform: str
    shop: str
    connected_at: datetime
    scopes: tuple[str, ...]
    checked_at: datetime | None
    problem: str | None
    webhooks_at: datetime | None
    webhooks: tuple[tuple[str, str], ...]  # (topic, address)
    orders_cursor: datetime | None
    caught_up_at: datetime | None
    backfill_from: datetime | None
    backfill_done_at: datetime | None
    synced_at: datetime | None


def _when(value: str | None) -> datetime | None:
    return None if value is None else from_db(value)


async def get_connection(db: Database | Transaction, guild_id: int) -> ShopConnection | None:
    row = await db.fetchone("SELECT * FROM shop_connections WHERE guild_id = ?", (guild_id,))
    if row is None:
        return None
    hooks = tuple((str(h["topic"]), str(h["address"])) for h in json.loads(row["webhooks"]))
    return ShopConnection(
        int(row["guild_id"]), row["platform"], row["shop"], from_db(row["connected_at"]),
        tuple(s for s in (row["scopes"] or "").split(",") if s), _when(row["checked_at"]), row["problem"],
        _when(row["webhooks_at"]), hooks, _when(row["orders_cursor"]), _when(row["caught_up_at"]),
        _when(row["backfill_from"]), _when(row["backfill_done_at"]), _when(row["synced_at"]),
    )  # fmt: skip


async def record_connection(tx: Transaction, guild_id: int, platform: str, shop: str, now: datetime) -> bool:
    """Remember the configured shop. Returns True when it is new to this server (a first connection or a switch):
    the caller then registers webhooks and starts the backfill."""
    row = await tx.fetchone("SELECT platform, shop FROM shop_connections WHERE guild_id = ?", (guild_id,))
    if row is not None and (row["platform"], row["shop"]) == (platform, shop):
        return False
    await tx.execute("DELETE FROM shop_connections WHERE guild_id = ?", (guild_id,))
    await tx.execute(
        """INSERT INTO shop_connections (guild_id, platform, shop, connected_at, backfill_from, orders_cursor)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (guild_id, platform, shop, to_db(now), to_db(now - BACKFILL_WINDOW), to_db(now - BACKFILL_WINDOW)),
    )
    if row is not None:
        # Another shop: whatever the old one held means nothing to the new one.
        await tx.execute("DELETE FROM shop_codes WHERE guild_id = ?", (guild_id,))
    return True


async def record_check(
    tx: Transaction, guild_id: int, scopes: tuple[str, ...], problem: str | None, now: datetime
) -> None:
    await tx.execute(
        "UPDATE shop_connections SET scopes = ?, checked_at = ? WHERE guild_id = ?",
        (",".join(scopes), to_db(now), guild_id),
    )
    await record_problem(tx, guild_id, problem, now)


async def record_problem(tx: Transaction, guild_id: int, problem: str | None, now: datetime) -> None:
    """Remember a connection-wide failure (None: it is over). Moderators hear about each new one once."""
    row = await tx.fetchone("SELECT problem FROM shop_connections WHERE guild_id = ?", (guild_id,))
    if row is None or row["problem"] == problem:
        return
    await tx.execute(
        "UPDATE shop_connections SET problem = ?, problem_notified = ? WHERE guild_id = ?",
        (problem, int(problem is not None), guild_id),
    )
    if problem is not None:
        await tx.emit(guild_id, PROBLEM, now, {"problem": problem[:500]})


async def record_webhooks(tx: Transaction, guild_id: int, hooks: list[tuple[str, str]], now: datetime) -> None:
    body = json.dumps([{"topic": topic, "address": address} for topic, address in hooks])
    await tx.execute(
        "UPDATE shop_connections SET webhooks = ?, webhooks_at = ? WHERE guild_id = ?", (body, to_db(now), guild_id)
    )


async def advance_cursor(tx: Transaction, guild_id: int, cursor: datetime, now: datetime, *, finished: bool) -> None:
    """The catch-up has read every change before ``cursor`` (never moves back); ``finished`` ends a run."""
    await tx.execute(
        """UPDATE shop_connections SET orders_cursor = MAX(COALESCE(orders_cursor, ''), ?),
               caught_up_at = CASE WHEN ? = 1 THEN ? ELSE caught_up_at END,
               backfill_done_at = CASE WHEN ? = 1 AND backfill_done_at IS NULL THEN ? ELSE backfill_done_at END
           WHERE guild_id = ?""",
        (to_db(cursor), int(finished), to_db(now), int(finished), to_db(now), guild_id),
    )


async def record_synced(tx: Transaction, guild_id: int, now: datetime) -> None:
    await tx.execute("UPDATE shop_connections SET synced_at = ? WHERE guild_id = ?", (to_db(now), guild_id))
