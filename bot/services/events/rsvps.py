"""RSVPs (going, a first-come waitlist, can't go) and the reminder timers of events.

A seat freed by "can't go" goes to the first on the waitlist in the same transaction; the outcome
names who moved up so the cog can tell them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.errors import Conflict
from bot.services.events.events import Counts, Event, RsvpStatus, counts, fill_from_waitlist, get_event, set_rsvp
from bot.services.program import tiers
from bot.services.program.members import require_ambassador


@dataclass(frozen=True)
class RsvpOutcome:
    event: Event
    status: RsvpStatus
    changed: bool
    position: int | None  # place on the waitlist (1 = next to move up)
    promoted: list[int]  # members moved up from the waitlist by this change: tell them
    counts: Counts


async def my_rsvps(db: Database, guild_id: int, user_id: int) -> dict[int, tuple[RsvpStatus, int | None]]:
    """event id → (my status, my waitlist position)."""
    rows = await db.fetchall(
        """SELECT r.event_id, r.status,
                  (SELECT COUNT(*) FROM event_rsvps w WHERE w.event_id = r.event_id AND w.status = 'waitlisted'
                       AND w.waitlist_seq <= r.waitlist_seq) AS position
           FROM event_rsvps r WHERE r.guild_id = ? AND r.user_id = ?""",
        (guild_id, user_id),
    )
    return {
        row["event_id"]: (row["status"], row["position"] if row["status"] == "waitlisted" else None) for row in rows
    }


async def members_with_status(db: Database, event_id: int, *statuses: RsvpStatus) -> list[int]:
    rows = await db.fetchall(
        f"SELECT user_id FROM event_rsvps WHERE event_id = ? AND status IN ({','.join('?' * len(statuses))})"
        " ORDER BY status, waitlist_seq, responded_at",
        (event_id, *statuses),
    )
    return [int(row[0]) for row in rows]


# -- RSVPs ---------------------------------------------------------------------------------------------


async def rsvp(
    tx: Transaction, guild_id: int, event_id: int, user_id: int, *, going: bool, now: datetime
) -> RsvpOutcome:
    """Going (a seat, or the end of the waitlist) or can't go (a freed seat goes to the next in line)."""
    event = await get_event(tx, guild_id, event_id)
    if event.status == "cancelled":
        raise Conflict("This event was cancelled.")
    if event.starts_at <= now:
        raise Conflict("This event has already started; RSVPs are closed.")
    member = await require_ambassador(tx, guild_id, user_id)
    tiers.require(event.tier, member.tier, "This event")
    row = await tx.fetchone("SELECT status FROM event_rsvps WHERE event_id = ? AND user_id = ?", (event_id, user_id))
    current: RsvpStatus | None = None if row is None else row["status"]
    promoted: list[int] = []
    if going and current in ("going", "waitlisted"):
        status: RsvpStatus = current
        changed = False
    elif going:
        taken = (await counts(tx, event_id)).going
        status = "going" if taken < event.capacity else "waitlisted"
        await set_rsvp(tx, event, user_id, status, now)
        changed = True
    else:
        status, changed = "declined", current != "declined"
        if changed:
            await set_rsvp(tx, event, user_id, "declined", now)
        if current == "going":
            promoted = await fill_from_waitlist(tx, event, now)
    position = await _position(tx, event_id, user_id) if status == "waitlisted" else None
    return RsvpOutcome(event, status, changed, position, promoted, await counts(tx, event_id))


async def _position(tx: Transaction, event_id: int, user_id: int) -> int:
    return int(
        await tx.fetchval(
            """SELECT COUNT(*) FROM event_rsvps WHERE event_id = ? AND status = 'waitlisted' AND waitlist_seq <=
                   (SELECT waitlist_seq FROM event_rsvps WHERE event_id = ? AND user_id = ?)""",
            (event_id, event_id, user_id),
        )
    )


# -- reminders -----------------------------------------------------------------------------------------


async def claim_reminder(tx: Transaction, event: Event, user_id: int, key: str, now: datetime) -> bool:
    """True the first time for (member, reminder): at most one DM each, even when a timer is retried."""
    return (
        await tx.execute(
            """INSERT INTO event_reminders_sent (guild_id, event_id, user_id, reminder_key, sent_at)
               VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
            (event.guild_id, event.id, user_id, key, to_db(now)),
        )
        == 1
    )
