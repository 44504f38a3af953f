"""The throwaway PostgreSQL server (emulator/postgres_cluster.py) and the identity sequences after explicit ids."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from bot.storage.postgres_migrations import apply_postgres_migrations, sync_identity_sequences
from emulator.postgres_cluster import STATE_FILE, ClusterError, PostgresCluster, PostgresServerMissing
from tests.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]


def _binaries() -> Path:
    bin_dir, reason = PostgresCluster.find_binaries()
    if bin_dir is None:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    return bin_dir


async def _settings_and_database(dsn: str) -> tuple[list[str], str]:
    conn = await asyncpg.connect(dsn)
    try:
        settings = [await conn.fetchval(f"SHOW {name}") for name in ("max_connections", "fsync", "lc_collate")]
        return settings, await conn.fetchval("SELECT current_database()")
    finally:
        await conn.close()


def test_the_command_line_starts_and_stops_a_server(tmp_path: Path) -> None:
    _binaries()
    command = [sys.executable, "-m", "emulator.postgres_cluster"]
    started = subprocess.run([*command, "start", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=True)
    dsn = started.stdout.strip()
    assert dsn.startswith("postgresql://postgres@127.0.0.1:")
    cluster = PostgresCluster.attach(tmp_path)
    work = Path(cluster._state.work_dir if cluster._state else "")
    try:
        # C collation: text compares byte by byte, as in SQLite
        assert asyncio.run(_settings_and_database(dsn)) == (["200", "off", "C"], "postgres")
        copy = cluster.create_database("extra", template="template0")
        assert asyncio.run(_settings_and_database(copy))[1] == "extra"
        cluster.drop_database("extra")
        with pytest.raises(ClusterError, match="lower-case"):
            cluster.create_database("Robert'); DROP TABLE students;--")
    finally:
        stopped = subprocess.run([*command, "stop", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert stopped.returncode == 0, stopped.stderr
    assert not work.exists() and not (tmp_path / STATE_FILE).exists()
    again = subprocess.run([*command, "stop", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 1 and "no cluster was started" in again.stderr


def test_a_server_that_cannot_start_says_why_with_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _binaries()
    import emulator.postgres_cluster as module

    real = module._write_as_server_user

    def broken_settings(path: Path, text: str, cwd: Path) -> None:
        real(path, text + "shared_buffers = 'plenty'\n", cwd)

    monkeypatch.setattr(module, "_write_as_server_user", broken_settings)
    with pytest.raises(ClusterError) as failure:
        PostgresCluster().start(tmp_path, timeout=20)
    assert "shared_buffers" in str(failure.value)  # the log's tail names the bad setting
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_without_binaries_the_reason_is_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(PostgresCluster, "find_binaries", staticmethod(lambda: (None, "no PostgreSQL here")))
    with pytest.raises(PostgresServerMissing, match="no PostgreSQL here"):
        PostgresCluster().start(tmp_path)


async def test_identity_sequences_move_past_explicit_ids(postgres_server: PostgresServer) -> None:
    async with postgres_server.fresh_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_postgres_migrations(conn)
            insert = "INSERT INTO audit_log (guild_id, action, created_at) VALUES (1, 'a', 'c') RETURNING id"
            await conn.execute("INSERT INTO audit_log (id, guild_id, action, created_at) VALUES (41, 1, 'a', 'c')")
            moved = await sync_identity_sequences(conn)
            assert moved["audit_log.id"] == 42 and moved["sales.id"] == 1
            assert await conn.fetchval(insert) == 42  # as SQLite would number it
        finally:
            await conn.close()
