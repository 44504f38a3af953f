"""Redeeming a reward, and giving the points back when it cannot be fulfilled.

``redeem`` is one unit of work: the stock is taken by a conditional ``UPDATE`` (never below zero, whoever else is
redeeming the last one), the redemption row and its ``point_spends`` row are written, and what must follow is
written with them — the shop code owed (``CODE_OWED``), the role to give (``ROLE_OWED``, and the timer that takes it
back), the perk for moderators to hand out (``HANDOUT``), or the product to ship, handed to the gifting fulfilment
queue (bot/services/rewards/shipped.py). A double click on the same confirm button carries the
same ``request_key`` and finds the redemption already made.

``refund`` (a moderator's cancel, or a fulfilment that failed for good) moves a pending redemption to ``cancelled``
or ``failed`` and, in the same unit of work, writes the reversing ``point_spends`` row (its reference is unique, so
it happens once) and puts the item back in stock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.program import audit, tiers
from bot.services.program.members import require_ambassador
from bot.services.rewards import shipped
from bot.services.rewards.balance import Balance, balance
from bot.services.rewards.catalogue import Reward, get_reward
from bot.services.sales.codes import ALPHABET
from bot.storage.statements import Row
from bot.text import plural
from bot.unit_of_work import TimerKind

# Outbox topics, each {"redemption_id": …} and keyed by the redemption (and the step), so each happens once.
CODE_OWED = "rewards.code_owed"  # create the single-use code in the shop, then CODE_READY
CODE_READY = "rewards.code_ready"  # the shop confirmed: DM the member their code
ROLE_OWED = "rewards.role_owed"  # give the member the reward's role
HANDOUT = "rewards.handout"  # post the redemption in the moderators' queue (Mark given / Cancel)
NOTICE = "rewards.notice"  # {"redemption_id", "event": "given" | "refunded"}: tell the member
ROLE_END = TimerKind("reward-role-end", "taking back a reward's role")  # payload: {"redemption_id": …}

Status = Literal["pending", "fulfilled", "cancelled", "failed"]
REQUEST_KEY_MAX = 40
CODE_RANDOM = 10


class SoldOut(Conflict):
    """Someone else took the last one."""


@dataclass(frozen=True)
class Redemption:
    id: int
    guild_id: int
    user_id: int
    reward_id: int
    kind: str
    cost: int
    status: Status
    code: str | None
    remote_ref: str | None
    ends_at: datetime | None
    error: str | None
    created_at: datetime
    fulfilled_at: datetime | None
    close_reason: str | None


def redemption_from_row(row: Row) -> Redemption:
    return Redemption(
        int(row["id"]), int(row["guild_id"]), int(row["user_id"]), int(row["reward_id"]), row["kind"],
        int(row["cost"]), row["status"], row["code"], row["remote_ref"],
        from_db(row["ends_at"]) if row["ends_at"] else None, row["error"], from_db(row["created_at"]),
        from_db(row["fulfilled_at"]) if row["fulfilled_at"] else None, row["close_reason"],
    )  # fmt: skip


@dataclass(frozen=True)
class Redeemed:
    redemption: Redemption
    reward: Reward
    balance: Balance  # after the redemption
    already: bool  # a repeat of the same request (a double click): nothing new was spent


async def find_redemption(db: Database | Transaction, redemption_id: int) -> Redemption | None:
    row = await db.fetchone("SELECT * FROM redemptions WHERE id = ?", (redemption_id,))
    return None if row is None else redemption_from_row(row)


async def get_redemption(db: Database | Transaction, guild_id: int, redemption_id: int) -> Redemption:
    found = await find_redemption(db, redemption_id)
    if found is None or found.guild_id != guild_id:
        raise NotFound("There's no such redemption in this program.")
    return found


async def redeemed_count(db: Database | Transaction, guild_id: int, user_id: int, reward_id: int) -> int:
    """The member's redemptions of the reward that still stand (refunded ones do not count)."""
    value = await db.fetchval(
        "SELECT COUNT(*) FROM redemptions WHERE guild_id = ? AND user_id = ? AND reward_id = ?"
        " AND status IN ('pending', 'fulfilled')",
        (guild_id, user_id, reward_id),
    )
    return int(value)


def _check_request_key(key: str) -> str:
    if not 1 <= len(key) <= REQUEST_KEY_MAX or not key.isascii():
        raise InvalidInput("That redemption request isn't valid; open /rewards again.")
    return key


async def _new_code(tx: Transaction, guild_id: int) -> str:
    prefix = await tx.fetchval("SELECT code_prefix FROM guild_settings WHERE guild_id = ?", (guild_id,)) or ""
    rng = secrets.SystemRandom()
    while True:  # 32^10 codes: a collision is astronomically rare, and the unique index catches it anyway
        code = f"{prefix}R{''.join(rng.choice(ALPHABET) for _ in range(CODE_RANDOM))}"
        if await tx.fetchval("SELECT 1 FROM redemptions WHERE guild_id = ? AND code = ?", (guild_id, code)) is None:
            return code


@dataclass(frozen=True)
class Quote:
    reward: Reward
    balance: Balance  # before redeeming
    redeemed: int  # the member's redemptions of it that stand

    @property
    def left_after(self) -> int:
        return self.balance.spendable - self.reward.cost


async def quote(db: Database | Transaction, guild_id: int, user_id: int, reward_id: int) -> Quote:
    """What redeeming would cost the member, or the refusal ``redeem`` would give (nothing is written): the confirm
    step shows it, and ``redeem`` checks it again inside its unit of work."""
    member = await require_ambassador(db, guild_id, user_id)
    reward = await get_reward(db, guild_id, reward_id)
    if not reward.active:
        raise SoldOut(f"“{reward.title}” isn't in the catalogue any more.")
    tiers.require(reward.tier, member.tier, f"“{reward.title}”")
    if reward.kind == "code" and not await _shop_connected(db, guild_id):
        raise NotAllowed("Shop-code rewards wait until the brand's shop is connected; ask a moderator.")
    taken = await redeemed_count(db, guild_id, user_id, reward_id)
    if reward.per_member_limit is not None and taken >= reward.per_member_limit:
        raise NotAllowed(f"You've already redeemed “{reward.title}” {plural(taken, 'time')}: that's the limit.")
    before = await balance(db, guild_id, user_id)
    if before.spendable < reward.cost:
        raise NotAllowed(
            f"“{reward.title}” costs {plural(reward.cost, 'point')}; you have {plural(before.spendable, 'point')}"
            " to spend."
        )
    if reward.sold_out:
        raise SoldOut(f"Sorry — “{reward.title}” is gone: someone redeemed the last one.")
    return Quote(reward, before, taken)


async def redeem(
    tx: Transaction, guild_id: int, user_id: int, reward_id: int, request_key: str, now: datetime
) -> Redeemed:
    """Spend the reward's cost on it. Raises ``SoldOut`` when none is left, ``NotAllowed`` for a short balance, a
    reached limit or another tier; writes nothing then."""
    key = _check_request_key(request_key)
    existing = await tx.fetchone(
        "SELECT * FROM redemptions WHERE guild_id = ? AND user_id = ? AND request_key = ?", (guild_id, user_id, key)
    )
    if existing is not None:
        done = redemption_from_row(existing)
        reward = await get_reward(tx, guild_id, done.reward_id)
        return Redeemed(done, reward, await balance(tx, guild_id, user_id), already=True)
    reward = (await quote(tx, guild_id, user_id, reward_id)).reward
    took = await tx.execute(
        "UPDATE rewards SET stock = stock - 1, updated_at = ? WHERE id = ? AND status = 'active'"
        " AND (stock IS NULL OR stock > 0)",
        (to_db(now), reward_id),
    )
    if took != 1:  # (quote saw one left inside this same transaction: kept for when writers do not serialise)
        raise SoldOut(f"Sorry — “{reward.title}” is gone: someone redeemed the last one.")
    code = await _new_code(tx, guild_id) if reward.kind == "code" else None
    days = reward.code_days if reward.kind == "code" else reward.role_days
    ends_at = now + timedelta(days=days) if days else None
    new_id = await tx.insert(
        """INSERT INTO redemptions (guild_id, user_id, reward_id, request_key, kind, cost, code, ends_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (guild_id, user_id, reward_id, key, reward.kind, reward.cost, code, to_db(ends_at) if ends_at else None,
         to_db(now)),
    )  # fmt: skip
    redemption_id = new_id
    await tx.execute(
        """INSERT INTO point_spends (guild_id, user_id, points, reason, reference, redemption_id, created_at)
           VALUES (?, ?, ?, 'redemption', ?, ?, ?)""",
        (guild_id, user_id, reward.cost, f"redemption:{redemption_id}", redemption_id, to_db(now)),
    )
    after = await balance(tx, guild_id, user_id)
    if after.spendable < 0:  # the checks above make this impossible; never commit a negative balance regardless
        raise NotAllowed("You don't have enough points to spend on this.")
    payload = {"redemption_id": redemption_id}
    if reward.kind == "code":
        await tx.emit(guild_id, CODE_OWED, now, payload, key=str(redemption_id))
    elif reward.kind == "role":
        assert ends_at is not None
        await tx.emit(guild_id, ROLE_OWED, now, payload, key=str(redemption_id))
        await tx.schedule(guild_id, ROLE_END, f"redemption:{redemption_id}", ends_at, now, payload)
    elif reward.kind == "ship":
        await shipped.request(tx, reward, redemption_id, user_id, now)
    else:
        await tx.emit(guild_id, HANDOUT, now, payload, key=str(redemption_id))
    made = await find_redemption(tx, redemption_id)
    assert made is not None
    return Redeemed(made, reward, after, already=False)


async def _shop_connected(db: Database | Transaction, guild_id: int) -> bool:
    return await db.fetchval("SELECT 1 FROM shop_connections WHERE guild_id = ?", (guild_id,)) is not None


# -- giving back ------------------------------------------------------------------------------------------


async def refund(
    tx: Transaction,
    redemption_id: int,
    status: Literal["cancelled", "failed"],
    reason: str,
    now: datetime,
    *,
    actor_id: int | None = None,
    tell: bool = True,
) -> Redemption | None:
    """Close a pending redemption and give its points and its item back, once. None when it was not pending (it
    was fulfilled, or already closed: nothing is given back twice). ``tell=False``: no DM (the member's data is
    being erased)."""
    closed = await tx.execute(
        """UPDATE redemptions SET status = ?, closed_at = ?, closed_by = ?, close_reason = ?,
               error = CASE WHEN ? = 'failed' THEN ? ELSE error END
           WHERE id = ? AND status = 'pending'""",
        (status, to_db(now), actor_id, reason[:500], status, reason[:500], redemption_id),
    )
    if closed != 1:
        return None
    found = await find_redemption(tx, redemption_id)
    assert found is not None
    await tx.execute(
        """INSERT INTO point_spends (guild_id, user_id, points, reason, reference, redemption_id, created_at)
           VALUES (?, ?, ?, 'refund', ?, ?, ?) ON CONFLICT (guild_id, reference) DO NOTHING""",
        (found.guild_id, found.user_id, -found.cost, f"refund:{redemption_id}", redemption_id, to_db(now)),
    )
    await tx.execute(
        "UPDATE rewards SET stock = stock + 1, updated_at = ? WHERE id = ? AND stock IS NOT NULL",
        (to_db(now), found.reward_id),
    )
    if found.kind == "role":
        await tx.cancel_timer(found.guild_id, ROLE_END, f"redemption:{redemption_id}", now)
    if found.kind == "ship":
        await shipped.call_back(tx, found.guild_id, redemption_id, reason, now)
    if tell:
        await tx.emit(found.guild_id, NOTICE, now, {"redemption_id": redemption_id, "event": "refunded"},
                      key=f"{redemption_id}:refunded")  # fmt: skip
    return found


async def cancel(
    tx: Transaction, guild_id: int, redemption_id: int, reason: str, now: datetime, *, actor_id: int
) -> Redemption:
    """A moderator cancels a redemption still waiting (for the shop, or to be handed out): points and stock back."""
    reason = reason.strip()
    if not 1 <= len(reason) <= 200:
        raise InvalidInput("Give a reason of 1–200 characters; the member is told it.")
    found = await get_redemption(tx, guild_id, redemption_id)
    if found.status != "pending":
        raise Conflict(f"Redemption #{redemption_id} is already {found.status}; only waiting ones can be cancelled.")
    if found.kind == "ship":
        await shipped.check_cancellable(tx, guild_id, redemption_id)
    closed = await refund(tx, redemption_id, "cancelled", reason, now, actor_id=actor_id)
    assert closed is not None
    await audit.record(tx, guild_id, actor_id, "reward.cancel", found.user_id, now, redemption=redemption_id,
                       reward=found.reward_id, points=found.cost, reason=reason)  # fmt: skip
    return closed
