"""Tiers that move by themselves (issue 18 item 5): a rule per tier, evaluated once a day.

A tier's rule is met with at least ``min_orders`` sales or at least ``min_points`` points within the last
``window_days`` (either may be unset). The lowest tier is everyone's floor; a tier without a rule is only given by
hand. Each day every active, unpinned ambassador gets the highest tier (by position) whose rule they meet:

- promotion happens at once;
- demotion only after they have been below their own tier's rule for its whole window plus the program's grace
  (``tier_standing.below_since`` remembers since when);
- a pinned member is left alone both ways.

A move goes through ``roster.change_tier`` (audited as ``ambassador.tier`` by no one, reason ``tier rules``) and
owes the member one DM and a role sync: an outbox row ``tiers.moved`` keyed per member per change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import references as ref
from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.services.onboarding import roster
from bot.services.program import audit, members, tiers
from bot.services.program.tiers import Tier

MOVED = "tiers.moved"  # outbox: {user_id, old, new, direction}; the member is told and their roles follow
DEFAULT_WINDOW_DAYS = 90
REASON = "tier rules"


@dataclass(frozen=True)
class Rule:
    tier: str
    min_orders: int | None
    min_points: int | None
    window_days: int

    def met(self, orders: int, points: int) -> bool:
        return (self.min_orders is not None and orders >= self.min_orders) or (
            self.min_points is not None and points >= self.min_points
        )

    @property
    def text(self) -> str:
        parts = []
        if self.min_orders is not None:
            parts.append(f"{self.min_orders} orders")
        if self.min_points is not None:
            parts.append(f"{self.min_points} points")
        return f"{' or '.join(parts)} in {self.window_days} days"


@dataclass(frozen=True)
class Move:
    user_id: int
    old: str
    new: str
    direction: str  # 'promoted' | 'demoted'


@dataclass(frozen=True)
class Evaluation:
    moves: list[Move]
    below: list[int]  # members below their tier's rule, not (yet) demoted


# -- rules and settings ------------------------------------------------------------------------------------------


async def list_rules(db: Database | Transaction, guild_id: int) -> dict[str, Rule]:
    rows = await db.fetchall(
        "SELECT tier, min_orders, min_points, window_days FROM tier_rules WHERE guild_id = ?", (guild_id,)
    )
    return {r["tier"]: Rule(r["tier"], r["min_orders"], r["min_points"], r["window_days"]) for r in rows}


async def set_rule(
    tx: Transaction,
    guild_id: int,
    tier_key: str,
    min_orders: int | None,
    min_points: int | None,
    window_days: int,
    actor_id: int,
    now: datetime,
) -> Rule | None:
    """Set a tier's rule; neither minimum clears it (returns None then)."""
    tier = await tiers.get_tier(tx, guild_id, tier_key)
    if not 1 <= window_days <= 365:
        raise InvalidInput("The window is 1–365 days.")
    for value in (min_orders, min_points):
        if value is not None and not 0 <= value <= 1_000_000:
            raise InvalidInput("A minimum is a whole number from 0 to 1,000,000.")
    if min_orders is None and min_points is None:
        await tx.execute("DELETE FROM tier_rules WHERE guild_id = ? AND tier = ?", (guild_id, tier.key))
        await audit.record(tx, guild_id, actor_id, "tiers.rule", None, now, tier=tier.key, rule=None)
        return None
    await tx.execute(
        """INSERT INTO tier_rules (guild_id, tier, min_orders, min_points, window_days, updated_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, tier) DO UPDATE SET min_orders = excluded.min_orders,
               min_points = excluded.min_points, window_days = excluded.window_days,
               updated_at = excluded.updated_at""",
        (guild_id, tier.key, min_orders, min_points, window_days, to_db(now)),
    )
    rule = Rule(tier.key, min_orders, min_points, window_days)
    await audit.record(tx, guild_id, actor_id, "tiers.rule", None, now, tier=tier.key, rule=rule.text)
    return rule


async def grace_days(db: Database | Transaction, guild_id: int) -> int:
    value = await db.fetchval("SELECT grace_days FROM tier_settings WHERE guild_id = ?", (guild_id,))
    return int(value or 0)


async def set_grace(tx: Transaction, guild_id: int, days: int, actor_id: int, now: datetime) -> int:
    if not 0 <= days <= 365:
        raise InvalidInput("The grace is 0–365 days.")
    old = await grace_days(tx, guild_id)
    await tx.execute(
        """INSERT INTO tier_settings (guild_id, grace_days, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (guild_id) DO UPDATE SET grace_days = excluded.grace_days, updated_at = excluded.updated_at""",
        (guild_id, days, to_db(now)),
    )
    await audit.record(tx, guild_id, actor_id, "tiers.grace", None, now, old=old, new=days)
    return days


async def set_pin(tx: Transaction, guild_id: int, user_id: int, pinned: bool, actor_id: int, now: datetime) -> None:
    """Pin (or unpin) a member's tier: the rules leave a pinned member alone."""
    member = await members.find_member(tx, guild_id, user_id)
    if member is None or member.status not in members.SEATED:
        raise NotAllowed(f"{ref.member(user_id)} isn't an ambassador.")
    was = bool(
        await tx.fetchval("SELECT pinned FROM tier_standing WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    )
    if was == pinned:
        raise Conflict(f"{ref.member(user_id)}'s tier is {'already' if pinned else 'not'} pinned.")
    await tx.execute(
        """INSERT INTO tier_standing (guild_id, user_id, pinned, pinned_by, pinned_at, below_since)
           VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT (guild_id, user_id) DO UPDATE SET pinned = excluded.pinned,
               pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at, below_since = NULL""",
        (guild_id, user_id, int(pinned), actor_id if pinned else None, to_db(now) if pinned else None),
    )
    await audit.record(tx, guild_id, actor_id, "ambassador.pin" if pinned else "ambassador.unpin", user_id, now,
                       tier=member.tier)  # fmt: skip


# -- evaluation --------------------------------------------------------------------------------------------------


async def _activity(
    db: Database | Transaction, guild_id: int, user_id: int, now: datetime, days: int
) -> tuple[int, int]:
    since = to_db(now - timedelta(days=days))
    orders = await db.fetchval(
        "SELECT COUNT(*) FROM sales WHERE guild_id = ? AND user_id = ? AND kind = 'sale'"
        " AND occurred_at >= ? AND occurred_at <= ?",
        (guild_id, user_id, since, to_db(now)),
    )
    points = await db.fetchval(
        "SELECT COALESCE(SUM(points), 0) FROM points_ledger WHERE guild_id = ? AND user_id = ?"
        " AND created_at >= ? AND created_at <= ?",
        (guild_id, user_id, since, to_db(now)),
    )
    return int(orders or 0), int(points or 0)


def _meets(tier: Tier, floor: Tier, rules: dict[str, Rule], activity: dict[int, tuple[int, int]]) -> bool:
    if tier.key == floor.key:
        return True
    rule = rules.get(tier.key)
    return rule is not None and rule.met(*activity[rule.window_days])


async def plan(
    db: Database | Transaction, guild_id: int, now: datetime
) -> tuple[list[Move], list[int], dict[int, str]]:
    """What the rules say today, without changing anything: (moves due, members below but waiting, below_since
    values to keep as text per member below). Used by ``evaluate`` and ``/tiers preview``."""
    ladder = await tiers.list_tiers(db, guild_id)
    rules = await list_rules(db, guild_id)
    if not ladder or not rules:
        return [], [], {}
    floor = ladder[0]
    by_key = {t.key: t for t in ladder}
    grace = timedelta(days=await grace_days(db, guild_id))
    rows = await db.fetchall(
        """SELECT m.user_id, m.tier, s.pinned, s.below_since FROM members m
           LEFT JOIN tier_standing s ON s.guild_id = m.guild_id AND s.user_id = m.user_id
           WHERE m.guild_id = ? AND m.status = 'active' AND m.tier IS NOT NULL ORDER BY m.user_id""",
        (guild_id,),
    )
    moves: list[Move] = []
    waiting: list[int] = []
    below: dict[int, str] = {}
    windows = sorted({r.window_days for r in rules.values()})
    for row in rows:
        if row["pinned"]:
            continue
        user_id, current_key = int(row["user_id"]), str(row["tier"])
        current = by_key.get(current_key)
        if current is None:
            continue
        activity = {days: await _activity(db, guild_id, user_id, now, days) for days in windows}
        target = next((t for t in reversed(ladder) if _meets(t, floor, rules, activity)), floor)
        if target.position > current.position:
            moves.append(Move(user_id, current.key, target.key, "promoted"))
            continue
        own = rules.get(current.key)
        if own is None or current.key == floor.key or own.met(*activity[own.window_days]):
            continue  # no rule to fall below, or meeting it
        since = from_db(row["below_since"]) if row["below_since"] else now
        below[user_id] = to_db(since)
        if now - since >= timedelta(days=own.window_days) + grace:
            moves.append(Move(user_id, current.key, target.key, "demoted"))
        else:
            waiting.append(user_id)
    return moves, waiting, below


async def evaluate(tx: Transaction, guild_id: int, now: datetime) -> Evaluation:
    """Apply the rules: promote at once, demote after a whole window plus the grace below, bookkeep who is below.
    Running it twice at the same ``now`` changes nothing the second time."""
    moves, waiting, below = await plan(tx, guild_id, now)
    # whoever is not below (any more) starts afresh; whoever is keeps the day they first fell below
    await tx.execute(
        "UPDATE tier_standing SET below_since = NULL WHERE guild_id = ? AND below_since IS NOT NULL", (guild_id,)
    )
    for user_id in waiting:
        await tx.execute(
            """INSERT INTO tier_standing (guild_id, user_id, below_since) VALUES (?, ?, ?)
               ON CONFLICT (guild_id, user_id) DO UPDATE SET below_since = excluded.below_since""",
            (guild_id, user_id, below[user_id]),
        )
    for move in moves:
        _old, _new, entry = await roster.change_tier(tx, guild_id, move.user_id, move.new, None, now, reason=REASON)
        payload = {"user_id": move.user_id, "old": move.old, "new": move.new, "direction": move.direction}
        await tx.emit(guild_id, MOVED, now, payload, key=f"{guild_id}:{move.user_id}:{entry.id}")
    return Evaluation(moves, waiting)
