"""A PostgreSQL server for the tests, and a fresh database per test on it.

The server is ``COLLECTIVE_TEST_POSTGRES_DSN`` when set (a superuser's DSN: databases are created and dropped
on it), else a throwaway ``PostgresCluster`` started for the test session in a temporary directory when the
server binaries are on this machine, else every test that asks for it is skipped with one line saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from emulator.postgres_cluster import ClusterError, PostgresCluster

DSN_ENV = "COLLECTIVE_TEST_POSTGRES_DSN"


@dataclass(frozen=True)
class PostgresServer:
    """Where the test databases are created: ``dsn`` names a database to connect to for CREATE DATABASE."""

    dsn: str
    source: str  # for messages: the environment variable or the throwaway cluster

    def database_dsn(self, name: str) -> str:
        parts = urlsplit(self.dsn)
        return urlunsplit(parts._replace(path=f"/{name}"))

    @asynccontextmanager
    async def fresh_database(self, prefix: str = "collective_test") -> AsyncIterator[str]:
        """A new empty database (C collation, so text compares as in SQLite) for the block; dropped after it."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(self.dsn)
        try:
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'")
        finally:
            await admin.close()
        try:
            yield self.database_dsn(name)
        finally:
            admin = await asyncpg.connect(self.dsn)
            try:
                await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            finally:
                await admin.close()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    dsn = os.environ.get(DSN_ENV)
    if dsn:
        yield PostgresServer(dsn, DSN_ENV)
        return
    bin_dir, reason = PostgresCluster.find_binaries()
    if bin_dir is None:
        pytest.skip(f"PostgreSQL tests skipped: {reason}; install them or set {DSN_ENV}")
    cluster = PostgresCluster(bin_dir)
    try:
        started = cluster.start(tmp_path_factory.mktemp("postgres"))
    except ClusterError as exc:
        pytest.fail(f"PostgreSQL ({reason}) did not start: {exc}")
    try:
        yield PostgresServer(started, reason)
    finally:
        cluster.stop()
