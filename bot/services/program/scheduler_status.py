"""What the scheduler is holding for one server: for moderators' /status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import from_db, to_db
from bot.db import Database


@dataclass(frozen=True)
class UpcomingTimer:
    kind: str
    key: str
    due_at: datetime


@dataclass(frozen=True)
class RecentRun:
    job: str
    period_key: str
    status: str
    finished_at: datetime | None


@dataclass(frozen=True)
class SchedulerStatus:
    schema_version: int
    pending_timers: int
    upcoming: list[UpcomingTimer]
    recent_runs: list[RecentRun]
    failed_last_week: int
    missed_last_week: int


async def scheduler_status(db: Database, guild_id: int, now: datetime, *, limit: int = 5) -> SchedulerStatus:
    week_ago = to_db(now - timedelta(days=7))
    pending = await db.fetchval("SELECT COUNT(*) FROM timers WHERE guild_id = ? AND status = 'pending'", (guild_id,))
    upcoming = [
        UpcomingTimer(row["kind"], row["key"], from_db(row["due_at"]))
        for row in await db.fetchall(
            "SELECT kind, key, due_at FROM timers WHERE guild_id = ? AND status = 'pending'"
            " ORDER BY due_at, id LIMIT ?",
            (guild_id, limit),
        )
    ]
    runs = [
        RecentRun(
            row["job"], row["period_key"], row["status"], from_db(row["finished_at"]) if row["finished_at"] else None
        )
        for row in await db.fetchall(
            "SELECT job, period_key, status, finished_at FROM job_runs WHERE guild_id IN (?, 0)"
            " ORDER BY claimed_at DESC LIMIT ?",
            (guild_id, limit),
        )
    ]
    counts = await db.fetchone(
        """SELECT
               (SELECT COUNT(*) FROM timers WHERE guild_id = :g AND status = 'failed' AND finished_at >= :since)
             + (SELECT COUNT(*) FROM job_runs WHERE guild_id = :g AND status = 'failed' AND claimed_at >= :since),
               (SELECT COUNT(*) FROM timers WHERE guild_id = :g AND status = 'missed' AND finished_at >= :since)
             + (SELECT COUNT(*) FROM job_runs WHERE guild_id = :g AND status = 'missed' AND claimed_at >= :since)""",
        {"g": guild_id, "since": week_ago},
    )
    return SchedulerStatus(
        schema_version=await db.schema_version(),
        pending_timers=int(pending),
        upcoming=upcoming,
        recent_runs=runs,
        failed_last_week=int(counts[0]) if counts else 0,
        missed_last_week=int(counts[1]) if counts else 0,
    )
