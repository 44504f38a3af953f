from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.db import Database, Migration, bundled_migrations
from bot.errors import DatabaseTooNew
from tests.postgres import PostgresServer

# Tables that describe the process rather than a brand's program.
PROCESS_TABLES = {"schema_migrations", "bot_state"}


@pytest.mark.sqlite_only("SQLite's pragmas")
async def test_pragmas(db: Database) -> None:
    assert (await db.fetchval("PRAGMA journal_mode")) == "wal"
    assert (await db.fetchval("PRAGMA foreign_keys")) == 1
    assert (await db.fetchval("PRAGMA synchronous")) == 1  # NORMAL
    assert (await db.fetchval("PRAGMA busy_timeout")) == 5000


async def test_migrations_recorded_and_idempotent(db: Database) -> None:
    versions = [row[0] for row in await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m.version for m in bundled_migrations()]
    assert await db.migrate() == []


@pytest.mark.sqlite_only("reads sqlite_master; test_schema_parity holds PostgreSQL to the same tables")
async def test_every_program_table_carries_guild_id(db: Database) -> None:
    tables = [row[0] for row in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        if table in PROCESS_TABLES or table.startswith("sqlite_"):
            continue
        columns = {row[1] for row in await db.fetchall(f"PRAGMA table_info({table})")}
        assert "guild_id" in columns, f"{table} has no guild_id"


async def test_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    async with await Database.open(path) as database:
        await database.migrate()
        await database.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 'x')"
        )
    async with await Database.open(path) as database:
        with pytest.raises(DatabaseTooNew, match="schema version 999"):
            await database.migrate()


async def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    good = Migration(1, "0001_a.sql", "CREATE TABLE a (guild_id INTEGER);")
    bad = Migration(2, "0002_b.sql", "CREATE TABLE b (guild_id INTEGER);\nINSERT INTO missing VALUES (1);")
    async with await Database.open(tmp_path / "m.db") as database:
        with pytest.raises(sqlite3.OperationalError):
            await database.migrate([good, bad])
        assert await database.schema_version() == 1
        tables = {row[0] for row in await database.fetchall("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "a" in tables and "b" not in tables
        # And the connection is usable afterwards.
        await database.execute("INSERT INTO a VALUES (1)")


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('k', 'v', 'now')")
            raise RuntimeError("boom")
    assert await db.fetchval("SELECT COUNT(*) FROM bot_state") == 0


async def test_writers_are_serialised(db: Database) -> None:
    await db.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('n', '0', 'now')")

    async def increment() -> None:
        async with db.transaction() as tx:
            value = int(await tx.fetchval("SELECT value FROM bot_state WHERE key = 'n'"))
            await asyncio.sleep(0)  # let another coroutine try to interleave
            await tx.execute("UPDATE bot_state SET value = ? WHERE key = 'n'", (str(value + 1),))

    await asyncio.gather(*(increment() for _ in range(50)))
    assert await db.fetchval("SELECT value FROM bot_state WHERE key = 'n'") == "50"


async def test_reads_do_not_see_an_open_transaction(db: Database) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('x', '1', 'now')")
            inside.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await inside.wait()
    assert await db.fetchval("SELECT COUNT(*) FROM bot_state") == 0
    release.set()
    await task
    assert await db.fetchval("SELECT COUNT(*) FROM bot_state") == 1


async def test_nested_transactions_are_refused(db: Database) -> None:
    async with db.transaction():
        with pytest.raises(RuntimeError, match="nested"):
            async with db.transaction():
                pass


@pytest.mark.sqlite_only("SQLite's online backup API; PostgreSQL is backed up with pg_dump")
async def test_online_backup_copies_everything(db: Database, tmp_path: Path) -> None:
    await db.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('k', 'v', 'now')")
    out = await db.backup(tmp_path / "backups" / "copy.db")
    with sqlite3.connect(out) as copy:
        assert copy.execute("SELECT value FROM bot_state WHERE key = 'k'").fetchone()[0] == "v"
    assert not (tmp_path / "backups" / "copy.db.partial").exists()


async def test_postgresql_backup_is_a_pg_dump_that_restores(postgres_server: PostgresServer, tmp_path: Path) -> None:
    async with postgres_server.fresh_database(migrated=True) as dsn:
        async with await Database.open(dsn) as db:
            await db.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('k', 'v', 'now')")
            out = await db.backup(tmp_path / "backups" / "copy.dump")
        assert out.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
        assert not (tmp_path / "backups" / "copy.dump.partial").exists()
        async with postgres_server.fresh_database() as restored:
            done = await asyncio.create_subprocess_exec(
                "pg_restore", "--no-owner", f"--dbname={restored}", str(out), stderr=asyncio.subprocess.PIPE
            )
            _, err = await done.communicate()
            assert done.returncode == 0, err.decode()
            async with await Database.open(restored) as copy:
                assert await copy.fetchval("SELECT value FROM bot_state WHERE key = 'k'") == "v"
