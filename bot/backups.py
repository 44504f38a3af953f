"""The daily online backup, as a process-wide recurring job (runs once per day, also across restarts)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.db import Database
from bot.periods import PeriodWindow, daily
from bot.scheduler import RecurringJob, RunContext
from bot.services.guild_settings import GuildSettings

log = logging.getLogger(__name__)

BACKUP_TIME = time(3, 0)  # UTC; quiet for most programs
_UTC = ZoneInfo("UTC")


def backup_name(period_key: str) -> str:
    return f"collective-{period_key}.db"


def backup_job(db: Database, folder: Path, keep: int) -> RecurringJob:
    def periods(_: GuildSettings | None, now: datetime) -> PeriodWindow:
        return daily(now, _UTC, BACKUP_TIME)

    async def run(ctx: RunContext) -> None:
        # Writing the same file again on a retry is harmless: the copy is atomic (renamed into place).
        target = await db.backup(folder / backup_name(ctx.period.key))
        removed = await asyncio.to_thread(prune_backups, folder, keep)
        log.info("daily backup written to %s; pruned %d old backup(s)", target, len(removed))

    return RecurringJob(name="backup", periods=periods, handler=run, per_guild=False)


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` daily backups (by the date in their name)."""
    backups = sorted(folder.glob("collective-????-??-??.db"))
    doomed = backups[:-keep] if len(backups) > keep else []
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed
