"""The program's member records: applicants, ambassadors and alumni, one row per server and user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import NotAllowed, NotFound
from bot.storage.statements import Row

Status = Literal["applicant", "waitlisted", "active", "paused", "left", "removed", "rejected"]
# Statuses that hold a seat in the program (count against capacity).
SEATED: tuple[Status, ...] = ("active", "paused")
# Outbox topic: a seat freed up or the capacity changed, so the waitlist may move.
SEATS_CHANGED = "program.seats_changed"


@dataclass(frozen=True)
class Member:
    guild_id: int
    user_id: int
    display_name: str
    status: Status
    tier: str | None
    email: str | None
    city: str | None
    dm_closed: bool
    approved_at: datetime | None
    status_changed_at: datetime


def member_from_row(row: Row) -> Member:
    return Member(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        display_name=row["display_name"],
        status=row["status"],
        tier=row["tier"],
        email=row["email"],
        city=row["city"],
        dm_closed=bool(row["dm_closed"]),
        approved_at=from_db(row["approved_at"]) if row["approved_at"] else None,
        status_changed_at=from_db(row["status_changed_at"]),
    )


async def find_member(db: Database | Transaction, guild_id: int, user_id: int) -> Member | None:
    row = await db.fetchone("SELECT * FROM members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    return None if row is None else member_from_row(row)


async def require_ambassador(db: Database | Transaction, guild_id: int, user_id: int) -> Member:
    """The active ambassador, or a clear refusal for everyone else."""
    return ambassador_or_refuse(await find_member(db, guild_id, user_id))


def ambassador_or_refuse(member: Member | None) -> Member:
    """``member`` if they are an active ambassador; a clear refusal for everyone else."""
    if member is None or member.status in ("applicant", "rejected", "waitlisted"):
        raise NotAllowed("This is for the brand's ambassadors. Use /apply to join the program.")
    if member.status == "paused":
        raise NotAllowed("Your ambassador membership is paused; a moderator can resume it.")
    if member.status != "active":
        raise NotAllowed("You're no longer an active ambassador in this program.")
    return member


async def get_member(db: Database | Transaction, guild_id: int, user_id: int) -> Member:
    member = await find_member(db, guild_id, user_id)
    if member is None:
        raise NotFound("That person isn't part of the program.")
    return member


async def mark_dm_closed(tx: Transaction, guild_id: int, user_id: int, closed: bool = True) -> None:
    await tx.execute(
        "UPDATE members SET dm_closed = ? WHERE guild_id = ? AND user_id = ?", (int(closed), guild_id, user_id)
    )


async def set_status(tx: Transaction, guild_id: int, user_id: int, status: Status, now: datetime) -> None:
    old = await tx.fetchval("SELECT status FROM members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    if old in SEATED and status not in SEATED:
        await tx.emit(guild_id, SEATS_CHANGED, now, {"freed_by": user_id})
    await tx.execute(
        "UPDATE members SET status = ?, status_changed_at = ? WHERE guild_id = ? AND user_id = ?",
        (status, to_db(now), guild_id, user_id),
    )


async def seats_taken(db: Database | Transaction, guild_id: int) -> int:
    placeholders = ",".join("?" for _ in SEATED)
    value = await db.fetchval(
        f"SELECT COUNT(*) FROM members WHERE guild_id = ? AND status IN ({placeholders})", (guild_id, *SEATED)
    )
    return int(value)
