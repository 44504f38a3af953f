"""What follows a redemption, as records: the shop code created, the role given and taken back, the perk handed
out. The shop and Discord calls live in the rewards cog and bot/shop/reward_codes.py; each records its outcome
here in a unit of work of its own, guarded by the redemption's status, so a retry or a race with a moderator's
cancel never fulfils (or refunds) anything twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict
from bot.services.program import audit
from bot.services.rewards.redemptions import CODE_READY, NOTICE, Redemption, get_redemption, redemption_from_row

# A shop code not created this long after the redemption (the shop down, a token never fixed) is given up:
# the member gets the points back instead of waiting for ever.
GIVE_UP_AFTER_HOURS = 24


@dataclass(frozen=True)
class CodeTarget:
    """The single-use code owed for one redemption, as the shop should create it."""

    redemption_id: int
    guild_id: int
    user_id: int
    code: str
    starts_at: datetime
    ends_at: datetime
    amount_minor: int | None
    currency: str | None
    product_id: str | None
    reward_title: str


async def code_target(db: Database | Transaction, redemption_id: int) -> CodeTarget | None:
    """What to create; None when nothing is owed any more (fulfilled, cancelled, failed)."""
    row = await db.fetchone(
        """SELECT d.id, d.guild_id, d.user_id, d.code, d.created_at, d.ends_at, r.code_amount_minor, r.code_currency,
                  r.code_product_id, r.title
           FROM redemptions d JOIN rewards r ON r.id = d.reward_id
           WHERE d.id = ? AND d.kind = 'code' AND d.status = 'pending'""",
        (redemption_id,),
    )
    if row is None:
        return None
    return CodeTarget(int(row["id"]), int(row["guild_id"]), int(row["user_id"]), row["code"],
                      from_db(row["created_at"]), from_db(row["ends_at"]), row["code_amount_minor"],
                      row["code_currency"], row["code_product_id"], row["title"])  # fmt: skip


async def record_code_created(tx: Transaction, redemption_id: int, remote_ref: str, now: datetime) -> bool:
    """The shop holds the code: the redemption is fulfilled and the member is owed their DM. False when it was
    cancelled meanwhile (the caller switches the code off in the shop again)."""
    done = await tx.execute(
        "UPDATE redemptions SET status = 'fulfilled', remote_ref = ?, fulfilled_at = ? WHERE id = ?"
        " AND status = 'pending'",
        (remote_ref, to_db(now), redemption_id),
    )
    if done != 1:
        return False
    guild_id = int(await tx.fetchval("SELECT guild_id FROM redemptions WHERE id = ?", (redemption_id,)))
    await tx.emit(guild_id, CODE_READY, now, {"redemption_id": redemption_id}, key=str(redemption_id))
    return True


async def owed_codes(db: Database, guild_id: int, *, older_than: datetime) -> list[int]:
    """Shop codes still owed for redemptions made before ``older_than``, oldest first (the retry loop's work)."""
    rows = await db.fetchall(
        "SELECT id FROM redemptions WHERE guild_id = ? AND kind = 'code' AND status = 'pending' AND created_at < ?"
        " ORDER BY created_at, id",
        (guild_id, to_db(older_than)),
    )
    return [int(row["id"]) for row in rows]


# -- roles ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleGrant:
    redemption_id: int
    guild_id: int
    user_id: int
    role_id: int
    ends_at: datetime
    reward_title: str


async def role_grant(db: Database | Transaction, redemption_id: int) -> RoleGrant | None:
    row = await db.fetchone(
        """SELECT d.id, d.guild_id, d.user_id, d.ends_at, d.status, r.role_id, r.title FROM redemptions d
           JOIN rewards r ON r.id = d.reward_id WHERE d.id = ? AND d.kind = 'role'""",
        (redemption_id,),
    )
    if row is None:
        return None
    return RoleGrant(int(row["id"]), int(row["guild_id"]), int(row["user_id"]), int(row["role_id"]),
                     from_db(row["ends_at"]), row["title"])  # fmt: skip


async def record_role_given(tx: Transaction, redemption_id: int, now: datetime) -> bool:
    done = await tx.execute(
        "UPDATE redemptions SET status = 'fulfilled', fulfilled_at = ? WHERE id = ? AND status = 'pending'",
        (to_db(now), redemption_id),
    )
    return done == 1


async def role_still_held(db: Database | Transaction, grant: RoleGrant, now: datetime) -> bool:
    """Whether another of the member's redemptions still entitles them to the role (redeemed again meanwhile)."""
    row = await db.fetchone(
        """SELECT 1 FROM redemptions d JOIN rewards r ON r.id = d.reward_id
           WHERE d.guild_id = ? AND d.user_id = ? AND d.kind = 'role' AND r.role_id = ? AND d.id <> ?
             AND d.status IN ('pending', 'fulfilled') AND d.ends_at > ?""",
        (grant.guild_id, grant.user_id, grant.role_id, grant.redemption_id, to_db(now)),
    )
    return row is not None


async def record_role_removed(tx: Transaction, redemption_id: int, now: datetime) -> None:
    await tx.execute(
        "UPDATE redemptions SET role_removed_at = ? WHERE id = ? AND role_removed_at IS NULL",
        (to_db(now), redemption_id),
    )


# -- perks a moderator hands out --------------------------------------------------------------------------


async def mark_given(tx: Transaction, guild_id: int, redemption_id: int, now: datetime, *, actor_id: int) -> Redemption:
    found = await get_redemption(tx, guild_id, redemption_id)
    if found.kind != "perk":
        raise Conflict("Only perks are handed out by moderators; this one is fulfilled by the bot.")
    done = await tx.execute(
        "UPDATE redemptions SET status = 'fulfilled', fulfilled_at = ?, fulfilled_by = ? WHERE id = ?"
        " AND status = 'pending'",
        (to_db(now), actor_id, redemption_id),
    )
    if done != 1:
        raise Conflict(f"Redemption #{redemption_id} is already {found.status}.")
    await audit.record(tx, guild_id, actor_id, "reward.given", found.user_id, now, redemption=redemption_id,
                       reward=found.reward_id)  # fmt: skip
    await tx.emit(guild_id, NOTICE, now, {"redemption_id": redemption_id, "event": "given"},
                  key=f"{redemption_id}:given")  # fmt: skip
    return await get_redemption(tx, guild_id, redemption_id)


# -- lists ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    redemption_id: int
    user_id: int
    reward_title: str
    kind: str
    created_at: datetime
    error: str | None


async def waiting(db: Database, guild_id: int, limit: int = 100) -> list[Waiting]:
    """Redemptions not fulfilled yet, oldest first: perks to hand out, codes the shop has not confirmed."""
    rows = await db.fetchall(
        """SELECT d.id, d.user_id, r.title, d.kind, d.created_at, d.error FROM redemptions d
           JOIN rewards r ON r.id = d.reward_id WHERE d.guild_id = ? AND d.status = 'pending'
           ORDER BY d.created_at, d.id LIMIT ?""",
        (guild_id, limit),
    )
    return [Waiting(int(r["id"]), int(r["user_id"]), r["title"], r["kind"], from_db(r["created_at"]), r["error"])
            for r in rows]  # fmt: skip


@dataclass(frozen=True)
class MemberRedemption:
    redemption: Redemption
    reward_title: str


async def member_redemptions(db: Database, guild_id: int, user_id: int, limit: int = 10) -> list[MemberRedemption]:
    """The member's latest redemptions with their codes: theirs to see, and moderators'."""
    rows = await db.fetchall(
        """SELECT d.*, r.title AS reward_title FROM redemptions d JOIN rewards r ON r.id = d.reward_id
           WHERE d.guild_id = ? AND d.user_id = ? ORDER BY d.id DESC LIMIT ?""",
        (guild_id, user_id, limit),
    )
    return [MemberRedemption(redemption_from_row(row), row["reward_title"]) for row in rows]
