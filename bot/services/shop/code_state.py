"""Each ambassador code's state in the shop, and the outbound work that keeps the shop in step.

Whenever Collective issues, renames, regenerates, pauses, resumes or retires a code (bot/services/sales/codes.py),
``code_changed`` runs in the same unit of work: with a shop connected, the code's row here turns ``pending`` with a
new ``version`` and a ``PUSH`` outbox row is written. After the commit, bot/shop/code_push.py makes the shop hold
what the code now is and records the result with the version it pushed: ``live`` once the shop confirmed, or
``failed`` with the shop's own words, which moderators see once (``REFUSED``). Nothing here talks to the shop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.services.shop.discounts import CodeDiscount, discount_for

PUSH = "shop.code_push"  # {"code_id": …, "version": …}: make the shop hold this code as it now is
REFUSED = "shop.code_refused"  # {"code_id": …, "code": …, "user_id": …, "error": …}: tell moderators, once

ShopState = Literal["pending", "live", "failed"]


@dataclass(frozen=True)
class PushTarget:
    """What the shop should hold for one code, read at push time (so a late push carries the latest state)."""

    code_id: int
    guild_id: int
    user_id: int
    code: str
    status: str  # codes.status: active, paused, retired
    created_at: datetime
    discount: CodeDiscount
    version: int
    remote_ref: str | None

    @property
    def active(self) -> bool:
        return self.status == "active"


async def connected(db: Database | Transaction, guild_id: int) -> bool:
    return await db.fetchval("SELECT 1 FROM shop_connections WHERE guild_id = ?", (guild_id,)) is not None


async def code_changed(tx: Transaction, guild_id: int, code_id: int, now: datetime) -> None:
    """The code just changed: with a shop connected, owe the shop a push (written with the change)."""
    if not await connected(tx, guild_id):
        return
    await _owe_push(tx, guild_id, code_id, now)


async def _owe_push(tx: Transaction, guild_id: int, code_id: int, now: datetime) -> int:
    await tx.execute(
        """INSERT INTO shop_codes (code_id, guild_id, state, version, updated_at) VALUES (?, ?, 'pending', 1, ?)
           ON CONFLICT (code_id) DO UPDATE SET state = 'pending', version = shop_codes.version + 1, error = NULL,
               updated_at = excluded.updated_at""",
        (code_id, guild_id, to_db(now)),
    )
    version = int(await tx.fetchval("SELECT version FROM shop_codes WHERE code_id = ?", (code_id,)))
    await tx.emit(guild_id, PUSH, now, {"code_id": code_id, "version": version}, key=f"{code_id}:{version}")
    return version


async def mark_codes(tx: Transaction, guild_id: int, now: datetime, *, tier: str | None = None) -> int:
    """Owe the shop a push for every usable code (of ``tier``'s members, when given). Returns how many."""
    if not await connected(tx, guild_id):
        return 0
    rows = await tx.fetchall(
        """SELECT c.id FROM codes c JOIN members m ON m.guild_id = c.guild_id AND m.user_id = c.user_id
           WHERE c.guild_id = ? AND c.status IN ('active', 'paused') AND (CAST(? AS TEXT) IS NULL OR m.tier = ?)
           ORDER BY c.id""",
        (guild_id, tier, tier),
    )
    for row in rows:
        await _owe_push(tx, guild_id, int(row["id"]), now)
    return len(rows)


async def ensure_rows(tx: Transaction, guild_id: int, code_ids: list[int], now: datetime) -> None:
    """Give codes the shop was never asked about a ``pending`` row (a sync pushes them itself, no outbox row)."""
    for code_id in code_ids:
        await tx.execute(
            """INSERT INTO shop_codes (code_id, guild_id, state, version, updated_at) VALUES (?, ?, 'pending', 1, ?)
               ON CONFLICT (code_id) DO NOTHING""",
            (code_id, guild_id, to_db(now)),
        )


async def member_tier_changed(tx: Transaction, guild_id: int, user_id: int, now: datetime) -> None:
    """A member's tier may carry another discount: their usable code is pushed again (a no-op when equal)."""
    if not await connected(tx, guild_id):
        return
    code_id = await tx.fetchval(
        "SELECT id FROM codes WHERE guild_id = ? AND user_id = ? AND status IN ('active', 'paused')",
        (guild_id, user_id),
    )
    if code_id is not None:
        await _owe_push(tx, guild_id, int(code_id), now)


async def push_target(db: Database | Transaction, code_id: int) -> PushTarget | None:
    row = await db.fetchone(
        """SELECT c.id, c.guild_id, c.user_id, c.code, c.status, c.created_at, m.tier, s.version, s.remote_ref
           FROM codes c LEFT JOIN members m ON m.guild_id = c.guild_id AND m.user_id = c.user_id
           LEFT JOIN shop_codes s ON s.code_id = c.id WHERE c.id = ?""",
        (code_id,),
    )
    if row is None:
        return None
    discount = await discount_for(db, int(row["guild_id"]), row["tier"])
    return PushTarget(int(row["id"]), int(row["guild_id"]), int(row["user_id"]), row["code"], row["status"],
                      from_db(row["created_at"]), discount, int(row["version"] or 0), row["remote_ref"])  # fmt: skip


async def record_pushed(tx: Transaction, code_id: int, version: int, remote_ref: str | None, active: bool,
                        now: datetime) -> None:  # fmt: skip
    """The shop confirmed ``version``: live, unless a newer change is already owed (its own push follows)."""
    await tx.execute(
        """UPDATE shop_codes SET remote_ref = COALESCE(?, remote_ref), remote_active = ?, updated_at = ?,
               pushed_version = MAX(pushed_version, ?),
               state = CASE WHEN version <= ? THEN 'live' ELSE state END,
               error = CASE WHEN version <= ? THEN NULL ELSE error END
           WHERE code_id = ?""",
        (remote_ref, int(active), to_db(now), version, version, version, code_id),
    )


async def record_refused(tx: Transaction, target: PushTarget, version: int, error: str, now: datetime) -> bool:
    """The shop refused ``version`` for good (its words in ``error``). Moderators are told once per version.
    Returns False when a newer change is already owed (its push will try again)."""
    changed = await tx.execute(
        "UPDATE shop_codes SET state = 'failed', error = ?, updated_at = ? WHERE code_id = ? AND version <= ?",
        (error[:500], to_db(now), target.code_id, version),
    )
    if changed != 1:
        return False
    payload = {"code_id": target.code_id, "code": target.code, "user_id": target.user_id, "error": error[:500]}
    await tx.emit(target.guild_id, REFUSED, now, payload, key=f"{target.code_id}:{version}")
    return True


async def shop_state(db: Database | Transaction, code_id: int) -> ShopState | None:
    """The code's state in the shop; None when no shop is connected or the code was never pushed."""
    value = await db.fetchval("SELECT state FROM shop_codes WHERE code_id = ?", (code_id,))
    return None if value is None else value


async def owed(db: Database | Transaction, guild_id: int, *, older_than: datetime | None = None) -> list[int]:
    """Codes still pending (optionally: since before ``older_than``), oldest first: what a retry pass pushes."""
    rows = await db.fetchall(
        "SELECT code_id FROM shop_codes WHERE guild_id = ? AND state = 'pending'"
        " AND (CAST(? AS TEXT) IS NULL OR updated_at < ?) ORDER BY updated_at, code_id",
        (
            guild_id,
            None if older_than is None else to_db(older_than),
            None if older_than is None else to_db(older_than),
        ),
    )
    return [int(row["code_id"]) for row in rows]


async def sync_candidates(db: Database | Transaction, guild_id: int) -> list[int]:
    """Every code the shop should know about: usable codes, and retired ones the shop may still hold active."""
    rows = await db.fetchall(
        """SELECT c.id FROM codes c LEFT JOIN shop_codes s ON s.code_id = c.id
           WHERE c.guild_id = ? AND (c.status IN ('active', 'paused') OR s.remote_active = 1)
           ORDER BY c.id""",
        (guild_id,),
    )
    return [int(row["id"]) for row in rows]


@dataclass(frozen=True)
class CodeCounts:
    live: int
    pending: int
    failed: int
    missing: int  # usable codes the shop has never been asked to hold (a shop connected to a running program)


async def counts(db: Database | Transaction, guild_id: int) -> CodeCounts:
    row = await db.fetchone(
        """SELECT
             SUM(CASE WHEN s.state = 'live' THEN 1 ELSE 0 END) AS live,
             SUM(CASE WHEN s.state = 'pending' THEN 1 ELSE 0 END) AS pending,
             SUM(CASE WHEN s.state = 'failed' THEN 1 ELSE 0 END) AS failed,
             SUM(CASE WHEN s.code_id IS NULL THEN 1 ELSE 0 END) AS missing
           FROM codes c LEFT JOIN shop_codes s ON s.code_id = c.id
           WHERE c.guild_id = ? AND c.status IN ('active', 'paused')""",
        (guild_id,),
    )
    assert row is not None
    return CodeCounts(
        int(row["live"] or 0), int(row["pending"] or 0), int(row["failed"] or 0), int(row["missing"] or 0)
    )


@dataclass(frozen=True)
class Refusal:
    code: str
    user_id: int
    error: str


async def refusals(db: Database | Transaction, guild_id: int, limit: int = 10) -> list[Refusal]:
    rows = await db.fetchall(
        """SELECT c.code, c.user_id, s.error FROM shop_codes s JOIN codes c ON c.id = s.code_id
           WHERE s.guild_id = ? AND s.state = 'failed' ORDER BY s.updated_at DESC LIMIT ?""",
        (guild_id, limit),
    )
    return [Refusal(row["code"], int(row["user_id"]), row["error"] or "") for row in rows]
