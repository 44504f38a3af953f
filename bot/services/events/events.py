"""Events: in-person meetups and online sessions — creation, edits, cancellation and RSVPs with a waitlist.

Check-in codes and attendance live in ``event_attendance.py``. Every change is one transaction; the
cog mirrors it to Discord (the guild scheduled event, the announcement, reminder timers) afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Literal

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotFound
from bot.services.inputs.typed_text import refuse_nul
from bot.services.program import audit
from bot.storage.statements import Row
from bot.unit_of_work import TimerKind

RsvpStatus = Literal["going", "waitlisted", "declined"]

TITLE_LIMIT = 100  # Discord's scheduled event name limit
DESCRIPTION_LIMIT = 1000  # Discord's scheduled event description limit
LOCATION_LIMIT = 100  # Discord's entity_metadata.location limit
CAPACITY_LIMIT = 10_000
POINTS_LIMIT = 10_000
LONGEST_EVENT = timedelta(days=7)
# Reminders before the start; the "start" timer takes voice attendance of those already in the channel.
REMINDERS: tuple[tuple[str, timedelta], ...] = (("day", timedelta(days=1)), ("hour", timedelta(hours=1)))
REMINDER = TimerKind("event-reminder", "an event reminder")  # payload: {"event_id": …, "label": "day"|"hour"}
START = TimerKind("event-start", "an event's start")  # payload: {"event_id": …, "label": "start"}


@dataclass(frozen=True)
class EventDraft:
    """What a moderator asks for; ``validate_draft`` checks it before anything is written."""

    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    location: str | None
    channel_id: int | None
    capacity: int
    tier: str | None
    points: int


@dataclass(frozen=True)
class Event(EventDraft):
    """A stored event: the draft a moderator asked for, with what the program and Discord added to it."""

    id: int
    guild_id: int
    status: Literal["scheduled", "cancelled"]
    discord_event_id: int | None
    announcement_channel_id: int | None
    announcement_message_id: int | None
    created_by: int

    @property
    def online(self) -> bool:
        return self.channel_id is not None

    def draft(self) -> EventDraft:
        return EventDraft(**{f.name: getattr(self, f.name) for f in fields(EventDraft)})


@dataclass(frozen=True)
class Counts:
    going: int
    waitlisted: int


@dataclass(frozen=True)
class EditOutcome:
    before: Event
    after: Event
    promoted: list[int]

    @property
    def moved(self) -> bool:
        return (self.before.starts_at, self.before.ends_at) != (self.after.starts_at, self.after.ends_at)


async def validate_draft(
    db: Database | Transaction, guild_id: int, draft: EventDraft, now: datetime, *, future_start: bool = True
) -> EventDraft:
    """The draft with tidied text, or InvalidInput naming the first problem.

    ``future_start=False`` is for edits to an event already under way: its start stays in the past."""
    title = " ".join(draft.title.split())
    description = draft.description.strip()
    location = draft.location.strip() if draft.location is not None else None
    if not title:
        raise InvalidInput("Give the event a title.")
    refuse_nul("event's text", title, description, location)
    if len(title) > TITLE_LIMIT:
        raise InvalidInput(f"The title can be at most {TITLE_LIMIT} characters.")
    if len(description) > DESCRIPTION_LIMIT:
        raise InvalidInput(f"The description can be at most {DESCRIPTION_LIMIT} characters.")
    if future_start and draft.starts_at <= now:
        raise InvalidInput("The start must be in the future.")
    if draft.ends_at <= now:
        raise InvalidInput("The end must be in the future.")
    if draft.ends_at <= draft.starts_at:
        raise InvalidInput("The end must be after the start.")
    if draft.ends_at - draft.starts_at > LONGEST_EVENT:
        raise InvalidInput("An event can last at most 7 days.")
    if (location is None or location == "") == (draft.channel_id is None):
        raise InvalidInput("Give either a location (in person) or a voice/stage channel (online), not both.")
    if location is not None and len(location) > LOCATION_LIMIT:
        raise InvalidInput(f"The location can be at most {LOCATION_LIMIT} characters.")
    if not 1 <= draft.capacity <= CAPACITY_LIMIT:
        raise InvalidInput(f"Capacity must be between 1 and {CAPACITY_LIMIT}.")
    if not 0 <= draft.points <= POINTS_LIMIT:
        raise InvalidInput(f"Attendance points must be between 0 and {POINTS_LIMIT}.")
    tier = draft.tier.strip().lower() if draft.tier else None
    if tier is not None:
        known = [row[0] for row in await db.fetchall("SELECT key FROM tiers WHERE guild_id = ?", (guild_id,))]
        if tier not in known:
            listed = ", ".join(sorted(known)) or "none yet"
            raise InvalidInput(f"There's no tier `{tier}` (tiers: {listed}).")
    return replace(draft, title=title, description=description, location=location or None, tier=tier)


def event_from_row(row: Row) -> Event:
    return Event(
        id=row["id"],
        guild_id=row["guild_id"],
        title=row["title"],
        description=row["description"],
        starts_at=from_db(row["starts_at"]),
        ends_at=from_db(row["ends_at"]),
        location=row["location"],
        channel_id=row["channel_id"],
        capacity=row["capacity"],
        tier=row["tier"],
        points=row["points"],
        status=row["status"],
        discord_event_id=row["discord_event_id"],
        announcement_channel_id=row["announcement_channel_id"],
        announcement_message_id=row["announcement_message_id"],
        created_by=row["created_by"],
    )


async def find_event(db: Database | Transaction, guild_id: int, event_id: int) -> Event | None:
    row = await db.fetchone("SELECT * FROM events WHERE guild_id = ? AND id = ?", (guild_id, event_id))
    return None if row is None else event_from_row(row)


async def get_event(db: Database | Transaction, guild_id: int, event_id: int) -> Event:
    event = await find_event(db, guild_id, event_id)
    if event is None:
        raise NotFound("There's no such event in this server.")
    return event


async def create_event(
    tx: Transaction, guild_id: int, draft: EventDraft, *, created_by: int, now: datetime, checkin_code: str
) -> Event:
    """Validate and store the event with its check-in code. Discord ids are attached afterwards."""
    draft = await validate_draft(tx, guild_id, draft, now)
    new_id = await tx.insert(
        """INSERT INTO events (guild_id, title, description, starts_at, ends_at, location, channel_id,
               capacity, tier, points, created_by, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (guild_id, *_columns(draft), created_by, to_db(now), to_db(now)),
    )
    event_id = new_id
    await tx.execute(
        "INSERT INTO event_checkin_codes (guild_id, event_id, code, created_at) VALUES (?, ?, ?, ?)",
        (guild_id, event_id, checkin_code, to_db(now)),
    )
    await audit.record(tx, guild_id, created_by, "event.create", None, now, event_id=event_id, title=draft.title)
    event = await get_event(tx, guild_id, event_id)
    await schedule_reminders(tx, event, now)
    return event


def _columns(draft: EventDraft) -> tuple[object, ...]:
    """A draft's values in the column order both the INSERT and the UPDATE name them."""
    return (draft.title, draft.description, to_db(draft.starts_at), to_db(draft.ends_at), draft.location,
            draft.channel_id, draft.capacity, draft.tier, draft.points)  # fmt: skip


async def attach_discord(
    tx: Transaction, guild_id: int, event_id: int, *, discord_event_id: int | None, channel_id: int, message_id: int
) -> None:
    await tx.execute(
        """UPDATE events SET discord_event_id = ?, announcement_channel_id = ?, announcement_message_id = ?
           WHERE guild_id = ? AND id = ?""",
        (discord_event_id, channel_id, message_id, guild_id, event_id),
    )


async def discard_event(tx: Transaction, guild_id: int, event_id: int) -> None:
    """Undo a creation whose Discord side failed: nobody has seen the event yet."""
    await tx.execute(
        "DELETE FROM timers WHERE guild_id = ? AND kind IN (?, ?) AND key LIKE ? AND status = 'pending'",
        (guild_id, REMINDER.name, START.name, f"{event_id}:%"),
    )
    await tx.execute("DELETE FROM event_checkin_codes WHERE guild_id = ? AND event_id = ?", (guild_id, event_id))
    await tx.execute("DELETE FROM events WHERE guild_id = ? AND id = ?", (guild_id, event_id))


async def edit_event(
    tx: Transaction, guild_id: int, event_id: int, changes: dict[str, object], *, actor_id: int, now: datetime
) -> EditOutcome:
    """Apply ``changes`` (EventDraft field names). A larger capacity moves people up from the waitlist."""
    before = await get_event(tx, guild_id, event_id)
    if before.status == "cancelled":
        raise Conflict("That event was cancelled; create a new one instead.")
    if before.ends_at <= now:
        raise Conflict("That event is over; it can't be edited.")
    if ("location" in changes and before.online) or ("channel_id" in changes and not before.online):
        raise InvalidInput("An event can't switch between in person and online; cancel it and create a new one.")
    draft = replace(before.draft(), **changes)  # type: ignore[arg-type]
    under_way = before.starts_at <= now and draft.starts_at == before.starts_at
    draft = await validate_draft(tx, guild_id, draft, now, future_start=not under_way)
    await tx.execute(
        """UPDATE events SET title = ?, description = ?, starts_at = ?, ends_at = ?, location = ?,
               channel_id = ?, capacity = ?, tier = ?, points = ?, updated_at = ?
           WHERE guild_id = ? AND id = ? AND status = 'scheduled'""",
        (*_columns(draft), to_db(now), guild_id, event_id),
    )
    after = await get_event(tx, guild_id, event_id)
    if after.starts_at != before.starts_at:
        await cancel_reminders(tx, before, now)
    await schedule_reminders(tx, after, now)  # new timers for a new start; existing ones are kept
    promoted = await fill_from_waitlist(tx, after, now)
    await audit.record(tx, guild_id, actor_id, "event.edit", None, now, event_id=event_id, fields=sorted(changes))
    return EditOutcome(before, after, promoted)


async def cancel_event(tx: Transaction, guild_id: int, event_id: int, *, actor_id: int, now: datetime) -> Event:
    event = await get_event(tx, guild_id, event_id)
    if event.status == "cancelled":
        raise Conflict("That event is already cancelled.")
    if event.ends_at <= now:
        raise Conflict("That event is over; there's nothing to cancel.")
    await tx.execute(
        "UPDATE events SET status = 'cancelled', cancelled_at = ?, updated_at = ? WHERE id = ?",
        (to_db(now), to_db(now), event_id),
    )
    await cancel_reminders(tx, event, now)
    await audit.record(tx, guild_id, actor_id, "event.cancel", None, now, event_id=event_id, title=event.title)
    return await get_event(tx, guild_id, event_id)


def reminder_plan(event: Event, now: datetime | None = None) -> list[tuple[str, str, datetime]]:
    """(label, timer key, due) for the event's timers; with ``now``, only those still ahead.

    The key carries the start time, so a rescheduled event gets fresh timers and an old one can tell
    it is stale. Labels: 'day' and 'hour' reminders, and 'start' (voice attendance at the start)."""
    stamp = int(event.starts_at.timestamp())
    plan = [(label, f"{event.id}:{label}:{stamp}", event.starts_at - before) for label, before in REMINDERS]
    plan.append(("start", f"{event.id}:start:{stamp}", event.starts_at))
    if now is None:
        return plan
    return [item for item in plan if item[2] > now or (item[0] == "start" and event.ends_at > now)]


def is_current_timer(event: Event, key: str) -> bool:
    """False for timers of a cancelled event or of an earlier start time."""
    return event.status == "scheduled" and key.endswith(f":{int(event.starts_at.timestamp())}")


async def schedule_reminders(tx: Transaction, event: Event, now: datetime) -> None:
    for label, key, due in reminder_plan(event, now):
        kind = START if label == "start" else REMINDER
        await tx.schedule(event.guild_id, kind, key, due, now, {"event_id": event.id, "label": label})


async def cancel_reminders(tx: Transaction, event: Event, now: datetime) -> None:
    for label, key, _due in reminder_plan(event):
        await tx.cancel_timer(event.guild_id, START if label == "start" else REMINDER, key, now)


# -- listing -------------------------------------------------------------------------------------------


async def upcoming_events(
    db: Database, guild_id: int, now: datetime, *, include_cancelled: bool = False
) -> list[Event]:
    """Events not yet over, soonest first."""
    statuses = ("scheduled", "cancelled") if include_cancelled else ("scheduled",)
    rows = await db.fetchall(
        f"SELECT * FROM events WHERE guild_id = ? AND ends_at > ? AND status IN ({','.join('?' * len(statuses))})"
        " ORDER BY starts_at, id",
        (guild_id, to_db(now), *statuses),
    )
    return [event_from_row(row) for row in rows]


async def recent_events(db: Database, guild_id: int, limit: int = 25) -> list[Event]:
    """The latest events by start time, newest first (for pickers that include past events)."""
    rows = await db.fetchall(
        "SELECT * FROM events WHERE guild_id = ? ORDER BY starts_at DESC, id DESC LIMIT ?", (guild_id, limit)
    )
    return [event_from_row(row) for row in rows]


async def counts(db: Database | Transaction, event_id: int) -> Counts:
    row = await db.fetchone(
        """SELECT COALESCE(SUM(CASE WHEN status = 'going' THEN 1 ELSE 0 END), 0) AS going,
               COALESCE(SUM(CASE WHEN status = 'waitlisted' THEN 1 ELSE 0 END), 0) AS waiting
           FROM event_rsvps WHERE event_id = ?""",
        (event_id,),
    )
    assert row is not None
    return Counts(int(row["going"]), int(row["waiting"]))


async def set_rsvp(tx: Transaction, event: Event, user_id: int, status: RsvpStatus, now: datetime) -> None:
    seq = None
    if status == "waitlisted":
        seq = int(
            await tx.fetchval(
                "SELECT COALESCE(MAX(waitlist_seq), 0) + 1 FROM event_rsvps WHERE event_id = ?", (event.id,)
            )
        )
    await tx.execute(
        """INSERT INTO event_rsvps (guild_id, event_id, user_id, status, waitlist_seq, responded_at)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (event_id, user_id) DO UPDATE SET status = excluded.status,
               waitlist_seq = excluded.waitlist_seq, responded_at = excluded.responded_at""",
        (event.guild_id, event.id, user_id, status, seq, to_db(now)),
    )


async def fill_from_waitlist(tx: Transaction, event: Event, now: datetime) -> list[int]:
    """Move people up, first come first served, while there are free seats. Returns who moved up."""
    free = event.capacity - (await counts(tx, event.id)).going
    if free <= 0:
        return []
    rows = await tx.fetchall(
        "SELECT user_id FROM event_rsvps WHERE event_id = ? AND status = 'waitlisted' ORDER BY waitlist_seq LIMIT ?",
        (event.id, free),
    )
    moved = [int(row[0]) for row in rows]
    for user_id in moved:
        await set_rsvp(tx, event, user_id, "going", now)
    return moved
