"""A server's program settings: created from the operator's defaults the first time the bot sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.clock import from_db, to_db
from bot.config import ProgramDefaults, weekday_index
from bot.db import Database, Transaction
from bot.errors import NotFound
from bot.storage.statements import Row


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    timezone: str
    digest_weekday: int
    digest_time: time
    capacity: int
    code_prefix: str
    points_submission_approved: int
    points_sale: int
    points_poll_vote: int
    points_event_attendance: int
    created_at: datetime
    code_pattern: str = "{PREFIX}{NAME}{RAND3}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _from_row(row: Row) -> GuildSettings:
    hour, minute = (int(part) for part in row["digest_time"].split(":"))
    return GuildSettings(
        guild_id=row["guild_id"],
        timezone=row["timezone"],
        digest_weekday=row["digest_weekday"],
        digest_time=time(hour, minute),
        capacity=row["capacity"],
        code_prefix=row["code_prefix"],
        points_submission_approved=row["points_submission_approved"],
        points_sale=row["points_sale"],
        points_poll_vote=row["points_poll_vote"],
        points_event_attendance=row["points_event_attendance"],
        created_at=from_db(row["created_at"]),
        code_pattern=row["code_pattern"],
    )


async def ensure_guild(tx: Transaction, guild_id: int, defaults: ProgramDefaults, now: datetime) -> bool:
    """Create the server's settings from the defaults unless they exist. Returns True when created."""
    stamp = to_db(now)
    created = await tx.execute(
        """INSERT INTO guild_settings (guild_id, timezone, digest_weekday, digest_time, capacity,
               code_prefix, points_submission_approved, points_sale, points_poll_vote,
               points_event_attendance, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (guild_id) DO NOTHING""",
        (
            guild_id,
            defaults.timezone,
            weekday_index(defaults.digest_weekday),
            defaults.digest_time.strftime("%H:%M"),
            defaults.capacity,
            defaults.code_prefix,
            defaults.points.submission_approved,
            defaults.points.sale,
            defaults.points.poll_vote,
            defaults.points.event_attendance,
            stamp,
            stamp,
        ),
    )
    return created == 1


async def get_settings(db: Database, guild_id: int) -> GuildSettings:
    row = await db.fetchone("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,))
    if row is None:
        raise NotFound("This server has no Collective program yet.")
    return _from_row(row)


async def all_settings(db: Database) -> list[GuildSettings]:
    return [_from_row(row) for row in await db.fetchall("SELECT * FROM guild_settings ORDER BY guild_id")]
