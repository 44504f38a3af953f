"""Who came to an event: check-in codes for in-person events, voice presence for online ones, points once.

Attendance is one row per member and event; the points reference ``event:<id>:<user>`` makes the
award happen exactly once however the member was counted (code, voice, a replay, a retry).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput
from bot.services.engagement import points
from bot.services.events.events import Event, event_from_row, get_event
from bot.services.program import tiers
from bot.services.program.members import find_member, require_ambassador

Source = Literal["checkin", "voice"]

# No 0/O, 1/I/L: codes are read aloud or off a screen at the door.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
_CODE_INPUT = re.compile(r"^[A-Z0-9]{4,12}$")


@dataclass(frozen=True)
class Attendance:
    event: Event
    user_id: int
    source: Source
    points: int  # awarded now (0 when the event gives none)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def unused_code(db: Database, guild_id: int) -> str:
    """A fresh code not used by another event in this server."""
    for _ in range(20):
        code = new_code()
        taken = await db.fetchval("SELECT 1 FROM event_checkin_codes WHERE guild_id = ? AND code = ?", (guild_id, code))
        if not taken:
            return code
    raise RuntimeError("could not find an unused check-in code")  # 31^6 codes: practically unreachable


async def checkin_code(db: Database, guild_id: int, event_id: int) -> str:
    value = await db.fetchval(
        "SELECT code FROM event_checkin_codes WHERE guild_id = ? AND event_id = ?", (guild_id, event_id)
    )
    if value is None:
        raise InvalidInput("That event has no check-in code.")
    return str(value)


async def check_in(
    tx: Transaction, guild_id: int, user_id: int, code: str, *, now: datetime, zone: ZoneInfo
) -> Attendance:
    """Record attendance for the event whose code this is — only inside its window, once per member."""
    normal = re.sub(r"[\s-]", "", code or "").upper()
    wrong = InvalidInput("That check-in code isn't right. Check it with the host and try again.")
    if not _CODE_INPUT.fullmatch(normal):
        raise wrong
    event_id = await tx.fetchval(
        "SELECT event_id FROM event_checkin_codes WHERE guild_id = ? AND code = ?", (guild_id, normal)
    )
    if event_id is None:
        raise wrong
    event = await get_event(tx, guild_id, int(event_id))
    if event.status == "cancelled":
        raise InvalidInput(f"**{event.title}** was cancelled.")
    if now < event.starts_at:
        opens = event.starts_at.astimezone(zone).strftime("%a %d %b, %H:%M %Z")
        raise InvalidInput(f"Check-in for **{event.title}** opens when it starts ({opens}).")
    if now >= event.ends_at:
        raise InvalidInput(f"That check-in code has expired: **{event.title}** is over.")
    member = await require_ambassador(tx, guild_id, user_id)
    tiers.require(event.tier, member.tier, "This event")
    attended = await _record(tx, event, user_id, "checkin", now)
    if attended is None:
        raise Conflict(f"You're already checked in to **{event.title}**.")
    return attended


async def online_event_running(db: Database, guild_id: int, channel_id: int, now: datetime) -> bool:
    """Cheap read before the voice listener opens a write transaction."""
    value = await db.fetchval(
        """SELECT 1 FROM events WHERE guild_id = ? AND channel_id = ? AND status = 'scheduled'
               AND starts_at <= ? AND ends_at > ? LIMIT 1""",
        (guild_id, channel_id, to_db(now), to_db(now)),
    )
    return value is not None


async def record_voice(
    tx: Transaction, guild_id: int, channel_id: int, user_id: int, now: datetime
) -> list[Attendance]:
    """A member is in ``channel_id`` now: count them for every online event running there.

    Returns new attendances only (an empty list for non-ambassadors, other tiers or repeat joins)."""
    rows = await tx.fetchall(
        """SELECT * FROM events WHERE guild_id = ? AND channel_id = ? AND status = 'scheduled'
               AND starts_at <= ? AND ends_at > ?""",
        (guild_id, channel_id, to_db(now), to_db(now)),
    )
    if not rows:
        return []
    member = await find_member(tx, guild_id, user_id)
    if member is None or member.status != "active":
        return []
    found = []
    for row in rows:
        event = event_from_row(row)
        if not tiers.admits(event.tier, member.tier):
            continue
        attended = await _record(tx, event, user_id, "voice", now)
        if attended is not None:
            found.append(attended)
    return found


async def _record(tx: Transaction, event: Event, user_id: int, source: Source, now: datetime) -> Attendance | None:
    changed = await tx.execute(
        """INSERT INTO event_attendance (guild_id, event_id, user_id, source, attended_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (event_id, user_id) DO NOTHING""",
        (event.guild_id, event.id, user_id, source, to_db(now)),
    )
    if changed != 1:
        return None
    awarded = 0
    if event.points > 0 and await points.award(
        tx, event.guild_id, user_id, event.points, "event", f"event:{event.id}:{user_id}", now
    ):
        awarded = event.points
    return Attendance(event, user_id, source, awarded)


async def attendee_ids(db: Database | Transaction, event_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT user_id FROM event_attendance WHERE event_id = ? ORDER BY attended_at", (event_id,)
    )
    return [int(row[0]) for row in rows]


# -- export --------------------------------------------------------------------------------------------

CSV_HEADER = ["event_id", "event", "user_id", "name", "rsvp", "waitlist_position", "attended", "source", "attended_at"]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells that start with these as formulas; a display name must stay text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def attendees_csv(db: Database, guild_id: int, event_id: int, zone: ZoneInfo) -> tuple[Event, str]:
    """Everyone who answered or came: RSVP, place on the waitlist, attendance (times in server time)."""
    event = await get_event(db, guild_id, event_id)
    rows = await db.fetchall(
        """WITH people AS (
               SELECT user_id FROM event_rsvps WHERE event_id = :e
               UNION SELECT user_id FROM event_attendance WHERE event_id = :e)
           SELECT p.user_id, m.display_name, r.status, r.waitlist_seq, a.source, a.attended_at,
                  (SELECT COUNT(*) FROM event_rsvps w WHERE w.event_id = :e AND w.status = 'waitlisted'
                       AND w.waitlist_seq <= r.waitlist_seq) AS position
           FROM people p
           LEFT JOIN event_rsvps r ON r.event_id = :e AND r.user_id = p.user_id
           LEFT JOIN event_attendance a ON a.event_id = :e AND a.user_id = p.user_id
           LEFT JOIN members m ON m.guild_id = :g AND m.user_id = p.user_id
           ORDER BY a.attended_at IS NULL, a.attended_at, r.status, r.waitlist_seq, p.user_id""",
        {"e": event_id, "g": guild_id},
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        attended_at = (
            from_db(row["attended_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M") if row["attended_at"] else ""
        )
        writer.writerow(
            _cell(value)
            for value in (
                event.id,
                event.title,
                row["user_id"],
                row["display_name"] or "",
                row["status"] or "",
                row["position"] if row["status"] == "waitlisted" else "",
                "yes" if row["source"] else "no",
                row["source"] or "",
                attended_at,
            )
        )
    return event, out.getvalue()
