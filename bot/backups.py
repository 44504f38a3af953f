"""The daily online backup, as a process-wide recurring job (runs once per day, also across restarts), the
run lock that tells a restore the bot is running, and the restore itself (``python -m bot restore``)."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.db import Database, bundled_migrations
from bot.periods import PeriodWindow, daily
from bot.scheduler import RecurringJob, RunContext
from bot.services.program.guild_settings import GuildSettings

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


class RestoreError(Exception):
    """A restore (or a second bot) refused, with a sentence for the operator."""


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def run_lock(db_path: Path) -> Iterator[None]:
    """Held by ``python -m bot run`` for its whole life. An flock, so the kernel drops it even on SIGKILL:
    a stale lock file never blocks anyone."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise RestoreError(f"{db_path} is in use by a running Collective (pid {holder}); stop the bot first") from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def inspect_backup(path: Path, *, name: Path | None = None) -> int:
    """The schema version of the database at ``path`` (called ``name`` in messages), after checking it is an
    intact Collective database this version can run. Opens it read-write: give it a copy, not the original."""
    label = name or path
    try:
        conn = sqlite3.connect(path)
        try:
            check = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
            if check != ["ok"]:
                raise RestoreError(f"{label} failed its integrity check ({'; '.join(check[:3])}); pick another backup")
            try:
                version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
            except sqlite3.OperationalError:
                raise RestoreError(f"{label} is not a Collective database (it has no schema_migrations)") from None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise RestoreError(f"{label} is damaged or not a SQLite database ({exc}); pick another backup") from None
    newest = bundled_migrations()[-1].version
    if not isinstance(version, int) or version < 1:
        raise RestoreError(f"{label} is not a Collective database (no migrations applied)")
    if version > newest:
        raise RestoreError(
            f"{label} is at schema version {version} but this Collective knows only up to {newest}; upgrade first"
        )
    return version


@dataclass(frozen=True)
class Restored:
    version: int
    previous: Path | None  # where the replaced database was kept


def restore(backup: Path, db_path: Path) -> Restored:
    """Replace ``db_path`` with ``backup``: checked first, refused while the bot runs, the old file kept.

    The backup (and a WAL beside it, if any) is only copied, never opened, so nothing is written next to it."""
    if not backup.is_file():
        raise RestoreError(f"{backup}: no such file")
    if db_path.exists() and backup.resolve() == db_path.resolve():
        raise RestoreError(f"{backup} is the live database itself; give a backup file")
    with run_lock(db_path):
        staged = db_path.with_name(db_path.name + ".restoring")
        try:
            _remove(staged)
            shutil.copyfile(backup, staged)
            wal = backup.with_name(backup.name + "-wal")
            if wal.exists():  # commits not yet folded into the file: copy them along, SQLite applies them
                shutil.copyfile(wal, staged.with_name(staged.name + "-wal"))
            version = inspect_backup(staged, name=backup)
        except BaseException:
            _remove(staged)
            raise
        previous = _set_aside(db_path) if db_path.exists() else None
        staged.replace(db_path)
    return Restored(version, previous)


def _remove(db_file: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        db_file.with_name(db_file.name + suffix).unlink(missing_ok=True)


def _set_aside(db_path: Path) -> Path:
    """Move the current database (with any WAL it still has) to a free ``*.before-restore`` name."""
    try:
        conn = sqlite3.connect(db_path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # fold the WAL in so the kept file is complete
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        log.warning("could not checkpoint %s before setting it aside: %s", db_path, exc)
    kept = db_path.with_name(db_path.name + ".before-restore")
    n = 1
    while kept.exists():
        kept = db_path.with_name(f"{db_path.name}.before-restore.{n}")
        n += 1
    db_path.replace(kept)
    for suffix in ("-wal", "-shm"):
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            side.replace(kept.with_name(kept.name + suffix))
    return kept
