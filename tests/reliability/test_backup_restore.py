"""Backups and restore as an operator uses them: the daily backup from config.toml through the bot's scheduler
(folder and retention), and ``python -m bot restore`` run as a subprocess — data back, the replaced database
kept, bad input refused with one clear line, and refused while the bot runs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import CollectiveBot
from bot.clock import FixedClock
from bot.config import load_settings
from bot.db import Database, bundled_migrations
from emulator import Emulator
from tests.conftest import ROOT
from tests.e2e.conftest import TOKEN
from tests.reliability.bot_process import BotProcess


def cli(*args: str, db_path: Path, token: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN" and not k.startswith("COLLECTIVE_")}
    env.update(PYTHONPATH=str(ROOT), COLLECTIVE_DATABASE__PATH=str(db_path), DISCORD_TOKEN=token)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )


def marker(db_path: Path) -> str:
    with sqlite3.connect(db_path) as conn:
        return str(conn.execute("SELECT value FROM bot_state WHERE key = 'marker'").fetchone()[0])


def set_marker(db_path: Path, value: str) -> None:
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO bot_state (key, value, updated_at) VALUES ('marker', ?, 'now')"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (value,),
        )
    conn.close()


def migrated(tmp_path: Path) -> Path:
    db_path = tmp_path / "data" / "collective.db"
    result = cli("migrate", db_path=db_path)
    assert result.returncode == 0, result.stderr
    set_marker(db_path, "original")
    return db_path


async def test_the_daily_backup_uses_the_configured_folder_and_retention(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    folder = tmp_path / "nightly"
    config.write_text(
        f'[database]\npath = "{tmp_path / "collective.db"}"\nbackup_dir = "{folder}"\nbackup_keep = 2\n',
        encoding="utf-8",
    )
    settings = load_settings(config)
    clock = FixedClock(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))
    async with await Database.open(settings.database.path) as db:
        await db.migrate()
        await db.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('marker', 'nightly', 'now')")
        bot = CollectiveBot(settings=settings, db=db, clock=clock, extensions=[])
        try:
            await bot.scheduler.start(trigger=False)  # catches up yesterday's 03:00 backup
            for day in range(3):
                clock.set(datetime(2026, 11, 24 + day, 3, 0, tzinfo=UTC))
                await bot.scheduler.run_due(clock.now())
                await bot.scheduler.run_due(clock.now() + timedelta(hours=1))  # a second wake-up adds nothing
        finally:
            await bot.close()
    assert sorted(p.name for p in folder.iterdir()) == ["collective-2026-11-25.db", "collective-2026-11-26.db"]
    assert marker(folder / "collective-2026-11-26.db") == "nightly"

    # The newest nightly file is a valid restore source.
    set_marker(settings.database.path, "changed after the backup")
    restored = cli("restore", str(folder / "collective-2026-11-26.db"), db_path=settings.database.path)
    assert restored.returncode == 0, restored.stderr
    assert marker(settings.database.path) == "nightly"


def test_restore_brings_the_data_back_and_keeps_the_replaced_database(tmp_path: Path) -> None:
    db_path = migrated(tmp_path)
    copy = tmp_path / "copy.db"
    assert cli("backup", str(copy), db_path=db_path).returncode == 0
    set_marker(db_path, "changed")

    result = cli("restore", str(copy), db_path=db_path)
    assert result.returncode == 0, result.stderr
    kept = db_path.with_name("collective.db.before-restore")
    assert f"schema version {bundled_migrations()[-1].version}" in result.stdout and str(kept) in result.stdout
    assert marker(db_path) == "original"
    assert marker(kept) == "changed"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    set_marker(db_path, "changed again")
    assert cli("restore", str(copy), db_path=db_path).returncode == 0
    assert marker(db_path.with_name("collective.db.before-restore.1")) == "changed again"  # nothing overwritten
    assert marker(kept) == "changed"
    assert cli("migrate", db_path=db_path).returncode == 0  # the bot opens it as usual


def test_restore_refuses_bad_input_and_changes_nothing(tmp_path: Path) -> None:
    db_path = migrated(tmp_path)
    good = tmp_path / "good.db"
    assert cli("backup", str(good), db_path=db_path).returncode == 0

    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100, encoding="utf-8")
    stranger = tmp_path / "stranger.db"
    with sqlite3.connect(stranger) as conn:
        conn.execute("CREATE TABLE t (x)")
    newer = tmp_path / "newer.db"
    newer.write_bytes(good.read_bytes())
    with sqlite3.connect(newer) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 'now')")
    broken = tmp_path / "broken.db"
    data = bytearray(good.read_bytes())
    data[4096 * 3 : 4096 * 3 + 2048] = b"\xff" * 2048  # trash the middle of a page
    broken.write_bytes(bytes(data))

    cases = {
        tmp_path / "missing.db": "no such file",
        text: "damaged or not a SQLite database",
        stranger: "not a Collective database",
        newer: "schema version 9999",
        broken: str(broken),
    }
    for path, reason in cases.items():
        result = cli("restore", str(path), db_path=db_path)
        assert result.returncode == 2, (path, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and reason in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert marker(db_path) == "original"
    assert not list(db_path.parent.glob("*.before-restore*"))


async def test_restore_refuses_while_the_bot_runs(emu: Emulator, tmp_path: Path) -> None:
    bot = BotProcess(emu, tmp_path)
    try:
        await bot.start()
        set_marker(bot.db_path, "live")
        copy = tmp_path / "copy.db"
        assert cli("backup", str(copy), db_path=bot.db_path).returncode == 0  # online backup is fine
        set_marker(bot.db_path, "newer")

        refused = cli("restore", str(copy), db_path=bot.db_path)
        assert refused.returncode == 2 and f"running Collective (pid {bot.pid})" in refused.stderr, refused.stderr
        second = cli("run", "--config", str(bot.config_path), db_path=bot.db_path, token=TOKEN)  # nor a second bot
        assert second.returncode == 2 and "in use by a running Collective" in second.stderr, second.stderr
        assert marker(bot.db_path) == "newer"

        bot.kill()  # even a SIGKILLed bot leaves no stale lock behind
        await bot.wait_dead()
        restored = cli("restore", str(copy), db_path=bot.db_path)
        assert restored.returncode == 0, restored.stderr
        assert marker(bot.db_path) == "live"
    finally:
        await bot.stop()
