"""``migrate-store``: a program's SQLite file copied into PostgreSQL, whole, checked, resumable — on real databases
(the benchmark generator's program at small sizes; a fresh PostgreSQL database per test)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bench.generator import Sizes, generate
from bot.backups import run_lock
from bot.db import Database, bundled_migrations
from bot.storage.store_copy import PROGRESS_SCHEMA, CopyReport, StoreCopyError, copy_store, source_tables
from tests.conftest import ROOT
from tests.postgres import PostgresServer

pytestmark = pytest.mark.usefixtures("postgres_server")  # skipped, with the reason, without a PostgreSQL server

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SIZES = Sizes(members=200, points_rows=5_000, sales_rows=1_000, timers=50, open_polls=2)
READ_MODELS = ("points_totals", "points_monthly", "sales_totals", "sales_currencies", "sales_monthly")


async def _sqlite_program(path: Path) -> Path:
    async with await Database.open(path) as db:
        await db.migrate()
    generate(path, SIZES, now=NOW)
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark generator's program at small sizes, built once; each test copies the file."""
    import asyncio

    path = tmp_path_factory.mktemp("generated") / "program.db"
    asyncio.run(_sqlite_program(path))
    return path


@pytest.fixture
def program(generated: Path, tmp_path: Path) -> Path:
    path = tmp_path / "collective.db"
    shutil.copyfile(generated, path)
    return path


@pytest.fixture
async def target(postgres_server: PostgresServer) -> AsyncIterator[str]:
    async with postgres_server.fresh_database() as dsn:
        yield dsn


async def _copy(program: Path, url: str, lines: list[str] | None = None, **kwargs: Any) -> CopyReport:
    said = lines if lines is not None else []
    return await copy_store(
        program,
        url,
        batch_rows=700,  # several batches per large table
        say=said.append,
        **kwargs,
    )


def _sqlite_rows(path: Path) -> dict[str, list[str]]:
    """Every table's rows (as sorted reprs, floats of REAL columns as floats), schema_migrations aside."""
    with sqlite3.connect(path) as conn:
        tables = source_tables(conn)
        return {
            t.name: sorted(repr(tuple(row)) for row in conn.execute(f'SELECT {", ".join(t.columns)} FROM "{t.name}"'))
            for t in tables
        }


async def _postgres_rows(url: str, columns: dict[str, list[str]]) -> dict[str, list[str]]:
    conn = await asyncpg.connect(url)
    try:
        return {
            name: sorted(repr(tuple(r.values())) for r in await conn.fetch(f'SELECT {", ".join(cols)} FROM "{name}"'))
            for name, cols in columns.items()
        }
    finally:
        await conn.close()


def _columns(path: Path) -> dict[str, list[str]]:
    with sqlite3.connect(path) as conn:
        return {t.name: list(t.columns) for t in source_tables(conn)}


async def _index_definitions(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexdef")
        return [row["indexdef"] for row in rows]
    finally:
        await conn.close()


async def test_the_generators_program_arrives_whole(
    program: Path, target: str, postgres_server: PostgresServer
) -> None:
    lines: list[str] = []
    report = await _copy(program, target, lines)
    async with postgres_server.fresh_database(migrated=True) as migrated:
        assert await _index_definitions(target) == await _index_definitions(migrated)  # rebuilt, all of them

    before = _sqlite_rows(program)
    after = await _postgres_rows(target, _columns(program))
    assert set(after) == set(before) and len(before) > 40
    for table, rows in before.items():
        assert after[table] == rows, f"{table} differs"
    assert report.rows == sum(len(rows) for rows in before.values())
    assert {t.name: t.rows for t in report.tables} == {name: len(rows) for name, rows in before.items()}
    assert len(before["points_ledger"]) == SIZES.points_rows and len(before["sales"]) == SIZES.sales_rows
    assert any(line.lstrip().startswith("points_ledger") and "5,000 rows" in line for line in lines)
    assert lines[-1].startswith(f"moved {report.rows:,} rows") and "COLLECTIVE_DATABASE__URL" in lines[-1]

    async with await Database.open(target) as db:
        # Read models: what SQLite held, and what the ledgers sum to (not doubled by the ledgers' triggers).
        for table in READ_MODELS:
            assert await db.fetchval(f"SELECT COUNT(*) FROM {table}") == len(before[table]) > 0
        stale = await db.fetchval(
            """SELECT COUNT(*) FROM (SELECT guild_id, user_id, SUM(points) AS p FROM points_ledger
                   GROUP BY guild_id, user_id) fresh
               LEFT JOIN points_totals t USING (guild_id, user_id) WHERE t.points IS DISTINCT FROM fresh.p"""
        )
        assert stale == 0
        # The copy leaves the application's schema and nothing else; the triggers are on again.
        assert await db.fetchval("SELECT to_regnamespace($1)", (PROGRESS_SCHEMA,)) is None
        disabled = await db.fetchval("SELECT COUNT(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'O'")
        assert disabled == 0
        # Sequences: a new row gets the next id, and the trigger keeps the read model.
        highest = await db.fetchval("SELECT MAX(id) FROM points_ledger")
        user = await db.fetchval("SELECT user_id FROM points_totals ORDER BY user_id LIMIT 1")
        total = await db.fetchval("SELECT points FROM points_totals WHERE guild_id = 1 AND user_id = ?", (user,))
        async with db.transaction() as tx:
            new_id = await tx.insert(
                "INSERT INTO points_ledger (guild_id, user_id, points, reason, reference, created_at)"
                " VALUES (1, ?, 7, 'adjustment', 'adjustment:test', '2026-11-25T10:00:00Z')",
                (user,),
            )
        assert new_id == highest + 1
        after_total = await db.fetchval("SELECT points FROM points_totals WHERE guild_id = 1 AND user_id = ?", (user,))
        assert after_total == total + 7


async def test_the_password_is_never_printed(program: Path, target: str) -> None:
    # The test server trusts local connections, so a password in the address is carried but not checked.
    with_password = target.replace("postgresql://postgres@", "postgresql://postgres:s3cret-word@")
    assert with_password != target
    lines: list[str] = []
    await _copy(program, with_password, lines)
    assert lines and not any("s3cret-word" in line for line in lines)


CUT_SHORT = r"cut short .*simulated: the network went away.*run the command again to carry on"


class CrashOnce:
    """Fails the copy of one table the first time, after its rows went in and before its commit."""

    def __init__(self, table: str) -> None:
        self.table, self.fired = table, False

    async def __call__(self, table: str) -> None:
        if table == self.table and not self.fired:
            self.fired = True
            raise ConnectionResetError("simulated: the network went away")


async def test_a_copy_that_died_half_way_finishes_on_the_next_run(program: Path, target: str) -> None:
    crash = CrashOnce("points_ledger")
    with pytest.raises(StoreCopyError, match=CUT_SHORT):
        await _copy(program, target, before_commit=crash)

    conn = await asyncpg.connect(target)
    try:
        progress = await conn.fetch(f"SELECT table_name FROM {PROGRESS_SCHEMA}.store_migration_progress")
        done = {row["table_name"] for row in progress}
        assert done and "points_ledger" not in done
        assert await conn.fetchval("SELECT COUNT(*) FROM points_ledger") == 0  # rolled back with its transaction
        enabled = await conn.fetchval(
            "SELECT bool_and(tgenabled = 'O') FROM pg_trigger WHERE tgrelid = 'points_ledger'::regclass"
        )
        assert enabled  # the DISABLE TRIGGER was rolled back too
        source = _sqlite_rows(program)
        for table in done:  # whole tables, or none
            assert await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"') == len(source[table])
    finally:
        await conn.close()

    lines: list[str] = []
    report = await _copy(program, target, lines, before_commit=crash)
    assert lines[0].startswith("resuming the move")
    assert {t.name for t in report.tables if t.earlier} == done
    assert any("copied by an earlier run" in line for line in lines)
    before = _sqlite_rows(program)
    after = await _postgres_rows(target, _columns(program))
    assert after == before  # every row once: nothing lost, nothing doubled


KILLED_MID_TABLE = """
import asyncio, os, signal, sys
from pathlib import Path
from bot.storage.store_copy import copy_store

async def die(table):
    if table == "points_ledger":  # its rows are in PostgreSQL, not yet committed
        os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(copy_store(Path(sys.argv[1]), sys.argv[2], before_commit=die))
"""


def _python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}  # what was printed survives SIGKILL
    return subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=120)


async def test_a_copy_killed_mid_table_finishes_on_the_next_run(program: Path, target: str) -> None:
    killed = _python(KILLED_MID_TABLE, str(program), target)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert "points_ledger" not in killed.stdout and "  events " in killed.stdout  # the tables before it were done

    report = await _copy(program, target)
    earlier = {t.name for t in report.tables if t.earlier}
    assert "events" in earlier and "points_ledger" not in earlier
    assert await _postgres_rows(target, _columns(program)) == _sqlite_rows(program)


async def test_the_check_names_a_table_changed_between_two_runs(program: Path, target: str) -> None:
    with pytest.raises(StoreCopyError, match=CUT_SHORT):
        await _copy(program, target, before_commit=CrashOnce("sales"))
    with sqlite3.connect(program) as conn:  # the bot ran on the file between the two runs
        conn.execute("UPDATE members SET display_name = 'renamed' WHERE user_id = 3")
    with pytest.raises(StoreCopyError, match=r"members: .* contents differ"):
        await _copy(program, target)


async def test_refuses_while_the_bot_runs_on_the_file(program: Path, target: str) -> None:
    with run_lock(program), pytest.raises(StoreCopyError, match=r"in use by a running Collective.*stop the bot"):
        await _copy(program, target)


async def test_refuses_a_file_behind_the_newest_migration(tmp_path: Path, target: str) -> None:
    behind = tmp_path / "behind.db"
    async with await Database.open(behind) as db:
        await db.migrate(bundled_migrations()[:-1])
    with pytest.raises(StoreCopyError, match="run `python -m bot migrate` first"):
        await _copy(behind, target)


def _entries(folder: Path) -> list[Path]:
    return list(folder.iterdir())


async def test_refuses_a_missing_file_and_leaves_nothing_beside_it(tmp_path: Path, target: str) -> None:
    with pytest.raises(StoreCopyError, match="does not exist"):
        await _copy(tmp_path / "nowhere" / "collective.db", target)
    assert _entries(tmp_path) == []  # no folder, no lock file


async def test_refuses_a_damaged_file(tmp_path: Path, target: str) -> None:
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(StoreCopyError, match="damaged or not a SQLite database"):
        await _copy(damaged, target)


async def test_refuses_a_database_holding_other_program_data(program: Path, postgres_server: PostgresServer) -> None:
    async with postgres_server.fresh_database(migrated=True) as url:
        async with await Database.open(url) as db:
            await db.execute(
                "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
                " VALUES (9, 9, 'someone', 'active', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
            )
        with pytest.raises(StoreCopyError, match=r"already holds program data \(members\)"):
            await _copy(program, url)
        async with await Database.open(url) as db:
            assert await db.fetchval("SELECT to_regnamespace($1)", (PROGRESS_SCHEMA,)) is None  # untouched
            assert await db.fetchval("SELECT COUNT(*) FROM points_ledger") == 0


async def test_an_empty_migrated_database_is_a_fine_target(program: Path, postgres_server: PostgresServer) -> None:
    async with postgres_server.fresh_database(migrated=True) as url:
        report = await _copy(program, url)
        assert report.rows > SIZES.points_rows


async def test_the_owner_needs_no_superuser(program: Path, postgres_server: PostgresServer) -> None:
    """Turning the ledgers' triggers off for the copy needs only ownership of the tables."""
    role = f"collective_mover_{os.getpid()}"
    admin = await asyncpg.connect(postgres_server.dsn)
    try:
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        try:
            async with postgres_server.fresh_database() as url:
                await admin.execute(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" OWNER TO {role}')
                as_owner = url.replace("postgresql://postgres@", f"postgresql://{role}@")
                assert as_owner != url
                report = await _copy(program, as_owner)
                assert report.rows > SIZES.points_rows
        finally:
            await admin.execute(f"DROP ROLE IF EXISTS {role}")
    finally:
        await admin.close()


async def test_refuses_to_finish_another_files_copy(program: Path, target: str, tmp_path: Path) -> None:
    with pytest.raises(StoreCopyError, match=CUT_SHORT):
        await _copy(program, target, before_commit=CrashOnce("sales"))
    other = tmp_path / "other.db"
    shutil.copyfile(program, other)
    with pytest.raises(StoreCopyError, match=r"holds an unfinished copy of .*collective.db"):
        await _copy(other, target)


# -- the command line ----------------------------------------------------------------------------------------


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN" and not k.startswith("COLLECTIVE_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", "migrate-store", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=config.parent,
        timeout=300,
    )


def _config(folder: Path, db_path: Path) -> Path:
    config = folder / "config.toml"
    config.write_text(f'[database]\npath = "{db_path}"\n', encoding="utf-8")
    return config


async def test_the_command_moves_a_program(program: Path, target: str, tmp_path: Path) -> None:
    config = _config(tmp_path, program)
    result = _cli(config, "--to", target)
    assert result.returncode == 0, result.stderr
    assert "points_ledger" in result.stdout and "verified:" in result.stdout and "moved " in result.stdout
    again = _cli(config, "--to", target)  # a finished move needs no second run, and says so
    assert again.returncode == 2 and "already holds program data" in again.stderr
    assert "Traceback" not in again.stderr


async def test_the_command_refuses_in_one_line(tmp_path: Path, target: str) -> None:
    behind = tmp_path / "behind.db"
    async with await Database.open(behind) as db:
        await db.migrate(bundled_migrations()[:3])
    result = _cli(_config(tmp_path, behind), "--to", target)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "python -m bot migrate" in result.stderr
    assert "Traceback" not in result.stderr
    not_postgres = _cli(_config(tmp_path, behind), "--to", "sqlite:///x.db")
    assert not_postgres.returncode == 2 and "must be a PostgreSQL address" in not_postgres.stderr
