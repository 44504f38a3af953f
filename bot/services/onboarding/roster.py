"""The roster: listing ambassadors, direct adds, tier changes, pause / resume / remove, leaving, export, forget.

Every change is one transaction that also records the audit entry; the cog dispatches the events and syncs
Discord roles after commit.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from bot import references as ref
from bot.clock import to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.gifting import shipping
from bot.services.onboarding import applications as onboarding
from bot.services.program import audit, members, tiers
from bot.services.program.audit import AuditEntry
from bot.services.program.bindings import ROLE_AMBASSADOR, tier_role_purpose
from bot.services.program.guild_settings import GuildSettings
from bot.services.program.members import Member, Status
from bot.services.rewards import forget as rewards_forget
from bot.services.sales import codes
from bot.services.sales.codes import Code, CodeStatus
from bot.services.sales.payloads import format_minor
from bot.services.shop import code_state

FILTERABLE: tuple[Status, ...] = ("active", "paused", "waitlisted", "applicant", "left", "removed", "rejected")
FORGOTTEN_NAME = "(forgotten member)"


@dataclass(frozen=True)
class RosterRow:
    member: Member
    code: str | None


@dataclass(frozen=True)
class StatusChange:
    member: Member
    old_status: str
    new_status: str
    code: Code | None
    audit: AuditEntry | None


@dataclass(frozen=True)
class MemberInfo:
    member: Member
    code: Code | None
    points: int
    application: onboarding.Application | None
    approved_by: int | None


async def _require(db: Database | Transaction, guild_id: int, user_id: int) -> Member:
    member = await members.find_member(db, guild_id, user_id)
    if member is None:
        raise NotFound(f"{ref.member(user_id)} isn't part of the program.")
    return member


async def list_roster(
    db: Database, guild_id: int, *, status: str | None = None, tier: str | None = None
) -> list[RosterRow]:
    if status is not None and status not in FILTERABLE:
        raise InvalidInput(f"Status is one of: {', '.join(FILTERABLE)}.")
    sql = """SELECT m.*, c.code AS current_code FROM members m
             LEFT JOIN codes c ON c.guild_id = m.guild_id AND c.user_id = m.user_id AND c.status IN ('active', 'paused')
             WHERE m.guild_id = ?"""
    params: list[object] = [guild_id]
    if status is not None:
        sql += " AND m.status = ?"
        params.append(status)
    else:
        sql += " AND m.status IN ('active', 'paused')"
    if tier is not None:
        sql += " AND m.tier = ?"
        params.append(tier.strip().lower())
    sql += " ORDER BY lower(m.display_name), m.user_id"
    rows = await db.fetchall(sql, params)
    return [RosterRow(members.member_from_row(row), row["current_code"]) for row in rows]


async def member_info(db: Database, guild_id: int, user_id: int) -> MemberInfo:
    member = await _require(db, guild_id, user_id)
    code = await codes.current_code(db, guild_id, user_id)
    points = int(
        await db.fetchval(
            "SELECT COALESCE(SUM(points), 0) FROM points_ledger WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
    )
    row = await db.fetchone(
        "SELECT id FROM applications WHERE guild_id = ? AND user_id = ? ORDER BY created_at DESC, id DESC LIMIT 1",
        (guild_id, user_id),
    )
    application = None if row is None else await onboarding.get_application(db, guild_id, row["id"])
    approved_by = await db.fetchval(
        "SELECT approved_by FROM members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return MemberInfo(member, code, points, application, approved_by)


async def add_member(
    tx: Transaction,
    guild_id: int,
    user_id: int,
    display_name: str,
    actor_id: int,
    now: datetime,
    settings: GuildSettings,
    *,
    tier: str | None = None,
) -> StatusChange:
    """Invite someone straight in (no application). Respects capacity."""
    existing = await members.find_member(tx, guild_id, user_id)
    if existing is not None and existing.status in members.SEATED:
        raise Conflict(f"{ref.member(user_id)} is already an ambassador ({existing.status}).")
    seats = await members.seats_taken(tx, guild_id)
    if seats >= settings.capacity:
        raise Conflict(f"The program is full ({seats}/{settings.capacity}). Raise the capacity in /settings first.")
    tier_key = (await tiers.get_tier(tx, guild_id, tier)).key if tier else await tiers.default_tier(tx, guild_id)
    stamp = to_db(now)
    await tx.execute(
        """INSERT INTO members (guild_id, user_id, display_name, status, tier, approved_at, approved_by,
               status_changed_at, created_at)
           VALUES (?, ?, ?, 'active', ?, ?, ?, ?, ?)
           ON CONFLICT (guild_id, user_id) DO UPDATE SET status = 'active', tier = excluded.tier,
               display_name = excluded.display_name, approved_at = excluded.approved_at,
               approved_by = excluded.approved_by, status_changed_at = excluded.status_changed_at""",
        (guild_id, user_id, display_name[:100], tier_key, stamp, actor_id, stamp, stamp),
    )
    # A direct add settles any application they had open.
    await tx.execute(
        "UPDATE applications SET status = 'approved', decided_by = ?, decided_at = ?"
        " WHERE guild_id = ? AND user_id = ? AND status IN ('pending', 'waitlisted')",
        (actor_id, stamp, guild_id, user_id),
    )
    code = await codes.issue_code(
        tx, guild_id, user_id, display_name, now, pattern=settings.code_pattern, prefix=settings.code_prefix,
        actor_id=actor_id,
    )  # fmt: skip
    entry = await audit.record(tx, guild_id, actor_id, "ambassador.add", user_id, now, code=code.code, tier=tier_key)
    member = await members.get_member(tx, guild_id, user_id)
    return StatusChange(member, existing.status if existing else "none", "active", code, entry)


async def change_tier(
    tx: Transaction,
    guild_id: int,
    user_id: int,
    tier_key: str,
    actor_id: int | None,
    now: datetime,
    *,
    reason: str | None = None,
) -> tuple[str | None, str, AuditEntry]:
    """Move a seated member to another tier (``actor_id`` None: the tier rules did). The caller syncs roles after
    commit (``cogs/onboarding/membership.sync_roles_or_retry``)."""
    member = await _require(tx, guild_id, user_id)
    if member.status not in members.SEATED:
        raise NotAllowed(f"{ref.member(user_id)} isn't an ambassador (status: {member.status}).")
    tier = await tiers.get_tier(tx, guild_id, tier_key)
    if member.tier == tier.key:
        raise Conflict(f"{ref.member(user_id)} is already in the {tier.name} tier.")
    await tx.execute("UPDATE members SET tier = ? WHERE guild_id = ? AND user_id = ?", (tier.key, guild_id, user_id))
    await code_state.member_tier_changed(tx, guild_id, user_id, now)
    details: dict[str, object] = {"old": member.tier, "new": tier.key}
    if reason:
        details["reason"] = reason
    entry = await audit.record(tx, guild_id, actor_id, "ambassador.tier", user_id, now, **details)
    return member.tier, tier.key, entry


# action → (statuses it applies to, new member status, what happens to their code)
TRANSITIONS: dict[str, tuple[tuple[str, ...], Status, CodeStatus]] = {
    "pause": (("active",), "paused", "paused"),
    "resume": (("paused", "left"), "active", "active"),
    "remove": (("active", "paused", "left"), "removed", "retired"),
}


async def change_status(
    tx: Transaction,
    guild_id: int,
    user_id: int,
    action: str,
    actor_id: int | None,
    now: datetime,
    settings: GuildSettings,
    *,
    note: str | None = None,
) -> StatusChange:
    allowed, new_status, code_status = TRANSITIONS[action]
    member = await _require(tx, guild_id, user_id)
    if member.status not in allowed:
        if member.status in ("applicant", "waitlisted", "rejected"):
            raise NotAllowed(f"{ref.member(user_id)} isn't an ambassador (status: {member.status}).")
        raise Conflict(f"Can't {action} {ref.member(user_id)}: their status is {member.status}.")
    if new_status in members.SEATED and member.status not in members.SEATED:
        seats = await members.seats_taken(tx, guild_id)
        if seats >= settings.capacity:
            raise Conflict(f"The program is full ({seats}/{settings.capacity}). Free a seat or raise the capacity.")
    await members.set_status(tx, guild_id, user_id, new_status, now)
    await codes.set_code_status(tx, guild_id, user_id, code_status, now)
    details: dict[str, object] = {"old": member.status}
    if note:
        details["note"] = note[:300]
    entry = await audit.record(tx, guild_id, actor_id, f"ambassador.{action}", user_id, now, **details)
    after = await members.get_member(tx, guild_id, user_id)
    return StatusChange(after, member.status, new_status, await codes.current_code(tx, guild_id, user_id), entry)


async def mark_left(tx: Transaction, guild_id: int, user_id: int, now: datetime) -> StatusChange | None:
    """The member left the server: ambassadors become `left` with their code paused; open applications end."""
    member = await members.find_member(tx, guild_id, user_id)
    if member is None or member.status in ("left", "removed", "rejected"):
        return None
    withdrawn = await onboarding.withdraw_open(tx, guild_id, user_id, now)
    if member.status in members.SEATED:
        await codes.set_code_status(tx, guild_id, user_id, "paused", now)
    elif withdrawn is None:
        return None
    await members.set_status(tx, guild_id, user_id, "left", now)
    entry = await audit.record(tx, guild_id, None, "member.left", user_id, now, old=member.status)
    after = await members.get_member(tx, guild_id, user_id)
    return StatusChange(after, member.status, "left", await codes.current_code(tx, guild_id, user_id), entry)


async def forget(tx: Transaction, guild_id: int, user_id: int, actor_id: int, now: datetime) -> AuditEntry:
    """Erase personal data (application answers, email, city, order references, name, shipping details, what
    redemptions hold: codes and free text); totals stay."""
    member = await _require(tx, guild_id, user_id)
    if member.status in members.SEATED:
        raise NotAllowed(f"{ref.member(user_id)} is still an ambassador; remove them with /ambassador remove first.")
    await tx.execute(
        "UPDATE members SET display_name = ?, email = NULL, city = NULL, forgotten_at = ?"
        " WHERE guild_id = ? AND user_id = ?",
        (FORGOTTEN_NAME, to_db(now), guild_id, user_id),
    )
    await tx.execute(
        """UPDATE applications SET social_links = '', niche = '', why = '', order_ref = NULL, city = NULL,
               reason = CASE WHEN reason IS NULL THEN NULL ELSE '(erased)' END,
               status = CASE WHEN status IN ('pending', 'waitlisted') THEN 'withdrawn' ELSE status END
           WHERE guild_id = ? AND user_id = ?""",
        (guild_id, user_id),
    )
    await rewards_forget.forget(tx, guild_id, user_id, now)  # codes and free text in redemptions; waiting ones close
    await shipping.forget(tx, guild_id, user_id, now)  # shipping details go now; unsent gifts with them
    return await audit.record(tx, guild_id, actor_id, "ambassador.forget", user_id, now)


# -- export ----------------------------------------------------------------------------------------------


async def _sales_by_member(db: Database, guild_id: int) -> dict[int, tuple[int, str]]:
    """user → (orders, net sales per currency, refunds deducted)."""
    rows = await db.fetchall(
        """SELECT user_id, SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END), currency, SUM(net_minor)
           FROM sales WHERE guild_id = ? GROUP BY user_id, currency""",
        (guild_id,),
    )
    totals: dict[int, tuple[int, list[str]]] = {}
    for user_id, orders, currency, net in rows:
        count, parts = totals.get(user_id, (0, []))
        parts.append(format_minor(int(net or 0), currency))
        totals[user_id] = (count + int(orders or 0), parts)
    return {user: (orders, "; ".join(parts)) for user, (orders, parts) in totals.items()}


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells starting with these as formulas; a display name must never do that.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def export_csv(db: Database, guild_id: int) -> str:
    """Everyone who is or was an ambassador, with code, points, orders and net sales."""
    sales = await _sales_by_member(db, guild_id)
    rows = await db.fetchall(
        """SELECT m.user_id, m.display_name, m.status, m.tier, m.city, m.approved_at, m.status_changed_at,
                  (SELECT code FROM codes c WHERE c.guild_id = m.guild_id AND c.user_id = m.user_id
                      AND c.status IN ('active', 'paused')) AS code,
                  (SELECT COALESCE(SUM(points), 0) FROM points_ledger p
                      WHERE p.guild_id = m.guild_id AND p.user_id = m.user_id) AS points
           FROM members m WHERE m.guild_id = ? AND m.status IN ('active', 'paused', 'left', 'removed')
           ORDER BY m.status, lower(m.display_name)""",
        (guild_id,),
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["user_id", "display_name", "status", "tier", "code", "city", "approved_at", "status_since", "points"]
    writer.writerow([*header, "orders", "net_sales"])
    for row in rows:
        values: list[object] = [
            str(row["user_id"]), row["display_name"], row["status"], row["tier"], row["code"], row["city"],
            row["approved_at"], row["status_changed_at"], row["points"],
        ]  # fmt: skip
        orders, net = sales.get(row["user_id"], (0, ""))
        values += [orders, net]
        writer.writerow([_cell(v) for v in values])
    return out.getvalue()


def role_plan(status: str, tier: str | None, bound: dict[str, int]) -> tuple[set[int], set[int]]:
    """Which program roles a member should have (active: Ambassador + their tier's role) and which not."""
    managed = {rid for purpose, rid in bound.items() if purpose == ROLE_AMBASSADOR or purpose.startswith("role:tier:")}
    want: set[int] = set()
    if status == "active":
        if ROLE_AMBASSADOR in bound:
            want.add(bound[ROLE_AMBASSADOR])
        if tier is not None and tier_role_purpose(tier) in bound:
            want.add(bound[tier_role_purpose(tier)])
    return want, managed - want
