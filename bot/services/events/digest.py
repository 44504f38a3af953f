"""What events contribute to the weekly digest: what's coming up, and how many came last week."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import to_db
from bot.db import Database
from bot.services.digest.sections import DigestSection, DigestWindow, section_provider, weekly_metric
from bot.services.events.events import counts, event_from_row

UPCOMING_HORIZON = timedelta(days=14)
UPCOMING_LIMIT = 5


def _when(window: DigestWindow, value: datetime) -> str:
    return value.astimezone(window.zone).strftime("%a %d %b, %H:%M")


@section_provider("events")
async def events_sections(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
    sections: list[DigestSection] = []
    rows = await db.fetchall(
        """SELECT * FROM events WHERE guild_id = ? AND status = 'scheduled' AND starts_at >= ? AND starts_at < ?
           ORDER BY starts_at, id LIMIT ?""",
        (guild_id, to_db(window.end), to_db(window.end + UPCOMING_HORIZON), UPCOMING_LIMIT),
    )
    upcoming = []
    for row in rows:
        event = event_from_row(row)
        taken = await counts(db, event.id)
        where = "online" if event.online else event.location
        upcoming.append(
            f"{_when(window, event.starts_at)} — **{event.title}** ({where}; {taken.going}/{event.capacity} going)"
        )
    if upcoming:
        sections.append(DigestSection("events_upcoming", "Upcoming events", upcoming, order=60))
    rows = await db.fetchall(
        """SELECT e.*, (SELECT COUNT(*) FROM event_attendance a WHERE a.event_id = e.id) AS came
           FROM events e WHERE e.guild_id = ? AND e.status = 'scheduled' AND e.ends_at >= ? AND e.ends_at < ?
           ORDER BY e.starts_at, e.id""",
        (guild_id, to_db(window.start), to_db(window.end)),
    )
    attended = []
    for row in rows:
        event = event_from_row(row)
        taken = await counts(db, event.id)
        attended.append(f"**{event.title}** — {row['came']} came ({taken.going} said they'd go)")
    if attended:
        total = sum(int(row["came"]) for row in rows)
        sections.append(DigestSection("events_attendance", f"Event attendance ({total} in all)", attended, order=61))
    return sections


@weekly_metric("event_attendance", "Event attendance")
async def attendance_per_week(db: Database, guild_id: int, windows: list[DigestWindow]) -> list[int]:
    values = []
    for window in windows:
        value = await db.fetchval(
            "SELECT COUNT(*) FROM event_attendance WHERE guild_id = ? AND attended_at >= ? AND attended_at < ?",
            (guild_id, to_db(window.start), to_db(window.end)),
        )
        values.append(int(value))
    return values
