"""PostgreSQL for the benchmarks: a throwaway server per scenario, databases on it, and the generator's data copied in.

``--engine postgresql`` in bench_webhooks and bench_burst starts its own server (``emulator/postgres_cluster.py``:
initdb into a temporary directory, C locale, fsync off) so CI can run it, and removes it afterwards. The bench
generator writes SQLite; ``copy_sqlite_into`` moves the very same rows into PostgreSQL with ``migrate-store``'s copy
(``bot/storage/store_copy.py``), so both engines are measured on identical data.

``RoundTrips`` counts the statements the bot sends to PostgreSQL from this process (each one a network round
trip) and the time spent in them, to say where a PostgreSQL delivery's time goes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bot.db import Database
from bot.storage.postgres_engine import PostgresConnection, PostgresDatabase
from bot.storage.store_copy import copy_store
from emulator.postgres_cluster import PostgresCluster

ENGINES = ("sqlite", "postgresql")
LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def server_binaries() -> tuple[bool, str]:
    """(found, description or the reason there are none), as ``PostgresCluster.find_binaries`` says."""
    bin_dir, description = PostgresCluster.find_binaries()
    return bin_dir is not None, description


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL server in a temporary directory for the block; stopped and removed after it."""
    with tempfile.TemporaryDirectory(prefix="collective-bench-pg-") as base:
        cluster = PostgresCluster()
        cluster.start(Path(base))
        try:
            yield cluster
        finally:
            cluster.stop()


async def new_database(cluster: PostgresCluster, name: str) -> str:
    """A fresh, empty database (the cluster's C locale; the bot's migrate refuses any other); returns its DSN."""
    return cluster.create_database(name)


async def copy_sqlite_into(sqlite_path: Path, dsn: str) -> int:
    """The SQLite file's program moved into the PostgreSQL database at ``dsn`` the way an operator moves one
    (``migrate-store``: every table, read models as they are, sequences synced, every table compared), then
    analysed so the planner starts from the same statistics a running program has. Returns the rows copied."""
    report = await copy_store(sqlite_path, dsn, say=lambda _line: None)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return report.rows


def server_cpu_seconds(cluster: PostgresCluster) -> float:
    """CPU time the throwaway server has used so far: its main process and every backend alive now (Linux /proc).
    Read before and after a load, the difference is what the load cost the server (backends kept open by the bots'
    pools live through it)."""
    main = cluster.postmaster_pid
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(stat.parent.name) == main or int(fields[1]) == main:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def round_trip_us(dsn: str, count: int = 500) -> float:
    """The median of ``count`` ``SELECT 1`` round trips on one asyncpg connection, in µs: the floor under every
    statement (loopback, the server's wake-up, asyncpg's protocol), on this machine at this moment."""
    conn = await asyncpg.connect(dsn)
    try:
        times = []
        for _ in range(count):
            started = time.perf_counter()
            await conn.fetchval("SELECT 1")
            times.append(time.perf_counter() - started)
    finally:
        await conn.close()
    return sorted(times)[len(times) // 2] * 1e6


@dataclass
class RoundTrips:
    """Where a write's time goes, in this process: the transactions run through ``run_transaction`` (the webhook
    writer's batches, a vote: how many, how long each held the writer) on the engine of ``database`` and, with
    ``statements_too`` on PostgreSQL, every statement sent through the bot's ``PostgresConnection`` (each one a
    network round trip) and the time awaiting them.

    Counting statements costs a clock read or two per statement (about 1 µs against a round trip of 50 µs or
    more), so the benchmarks count them only where latency, not throughput, is the figure.
    """

    database: type[Database] = PostgresDatabase
    statements_too: bool = False
    batches: int = 0
    batch_seconds: float = 0.0
    statements: int = 0
    statement_seconds: float = 0.0
    reads: int = 0  # with statements_too: reads outside any transaction (each a round trip too, not holding the writer)
    _saved: list[tuple[type, str, Any]] = field(default_factory=list)

    def __enter__(self) -> RoundTrips:
        self._wrap(self.database, "_engine_batch", self._count_batch)
        if self.database.concurrent_writes:  # votes run beside the writer there (run_transaction(alongside=True))
            self._wrap(self.database, "_engine_concurrent_batch", self._count_batch)
        if self.statements_too and self.database is PostgresDatabase:
            for name in ("execute", "insert", "fetchone", "fetchall", "fetchval"):
                self._wrap(PostgresConnection, name, self._count_statement)
            for name in ("fetchone", "fetchall"):
                self._wrap(PostgresDatabase, name, self._count_read)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()

    def _count_batch(self, took: float) -> None:
        self.batches += 1
        self.batch_seconds += took

    def _count_statement(self, took: float) -> None:
        self.statements += 1
        self.statement_seconds += took

    def _count_read(self, took: float) -> None:
        self.reads += 1

    def _wrap(self, owner: type, name: str, count: Callable[[float], None]) -> None:
        original: Callable[..., Awaitable[Any]] = getattr(owner, name)
        self._saved.append((owner, name, original))

        async def counted(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                count(time.perf_counter() - started)

        setattr(owner, name, counted)
