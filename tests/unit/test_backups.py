"""The daily backup job: once per day through the scheduler, an openable copy, old ones pruned."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.backups import backup_job
from bot.clock import FixedClock
from bot.db import Database
from bot.scheduler import Scheduler


@pytest.mark.sqlite_only("the daily job copies and checks a SQLite file")
async def test_daily_backup_runs_once_a_day_and_keeps_the_newest(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    clock = FixedClock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))
    scheduler = Scheduler(db, clock, grace=timedelta(hours=24))
    scheduler.register_job(backup_job(db, folder, keep=2))
    await db.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('marker', 'kept', 'now')")

    await scheduler.start(trigger=False)  # yesterday's 03:00 run is inside the grace window
    for day in range(3):
        clock.set(datetime(2026, 11, 24 + day, 3, 0, tzinfo=UTC))
        await scheduler.run_due(clock.now())
        await scheduler.run_due(clock.now() + timedelta(minutes=5))  # a second wake-up adds nothing

    names = sorted(path.name for path in folder.iterdir())
    assert names == ["collective-2026-11-25.db", "collective-2026-11-26.db"]
    runs = await db.fetchval("SELECT COUNT(*) FROM job_runs WHERE job = 'backup' AND status = 'done'")
    assert runs == 4  # 23rd (caught up), 24th, 25th, 26th — one each
    with sqlite3.connect(folder / names[-1]) as copy:
        assert copy.execute("SELECT value FROM bot_state WHERE key = 'marker'").fetchone()[0] == "kept"
