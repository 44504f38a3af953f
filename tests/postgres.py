"""A PostgreSQL server for the tests, the engines each test runs on, and a fresh database per test.

Every test that uses a database (the ``engine`` fixture, through ``db`` or ``db_target``) runs once per engine:
SQLite always, PostgreSQL as well when a server is at hand. The server is ``COLLECTIVE_TEST_POSTGRES_DSN`` when
set (a superuser's DSN: the tests create and drop their own databases on it), else a throwaway
``PostgresCluster`` started for the session in a temporary directory when the server binaries are on this
machine. Without either, the PostgreSQL pass is skipped and the run's header says why, in one line.

Each PostgreSQL test gets a new database copied from a template migrated once per session, the way each SQLite
test gets a new file: a real migrated database per test on both. Databases use the C collation, so text
compares and sorts as in SQLite.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bot.storage.postgres_engine import PostgresDatabase
from emulator.postgres_cluster import ClusterError, PostgresCluster

DSN_ENV = "COLLECTIVE_TEST_POSTGRES_DSN"
# COLLECTIVE_TEST_ENGINES=sqlite runs one engine only (a quicker loop while working on something engine-neutral).
ENGINES_ENV = "COLLECTIVE_TEST_ENGINES"
# What a constraint or a refusing trigger raises, on either engine.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)
TEMPLATE = f"collective_template_{os.getpid()}"


class PostgresServer:
    """The session's PostgreSQL: where it is, started on first use, and the template test databases copy."""

    def __init__(self) -> None:
        self._dsn: str | None = os.environ.get(DSN_ENV) or None
        self._cluster: PostgresCluster | None = None
        self._base: tempfile.TemporaryDirectory[str] | None = None
        self._template_ready = False
        self._names = itertools.count(1)
        if "postgresql" not in os.environ.get(ENGINES_ENV, "postgresql"):
            self.is_available, self.source = False, f"{ENGINES_ENV} leaves it out"
        elif self._dsn is not None:
            self.is_available, self.source = True, DSN_ENV
        else:
            bin_dir, self.source = PostgresCluster.find_binaries()
            self.is_available = bin_dir is not None

    @property
    def dsn(self) -> str:
        """The admin DSN (CREATE DATABASE is run there); starts the throwaway server on first use."""
        if self._dsn is None:
            if not self.is_available:
                pytest.skip(f"PostgreSQL tests skipped: {self.source}; install them or set {DSN_ENV}")
            self._base = tempfile.TemporaryDirectory(prefix="collective-pg-")
            self._cluster = PostgresCluster()
            try:
                self._dsn = self._cluster.start(Path(self._base.name))
            except ClusterError as exc:
                pytest.fail(f"PostgreSQL ({self.source}) did not start: {exc}")
        return self._dsn

    def database_dsn(self, name: str) -> str:
        return urlunsplit(urlsplit(self.dsn)._replace(path=f"/{name}"))

    @asynccontextmanager
    async def fresh_database(self, *, migrated: bool = False) -> AsyncIterator[str]:
        """A new database for the block, empty or migrated (a copy of the template); dropped after it."""
        name = f"collective_test_{os.getpid()}_{next(self._names)}"
        admin = await asyncpg.connect(self.dsn)
        try:
            if migrated:
                await self._ensure_template(admin)
                await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
            else:
                await admin.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'")
        finally:
            await admin.close()
        try:
            yield self.database_dsn(name)
        finally:
            admin = await asyncpg.connect(self.dsn)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()

    async def _ensure_template(self, admin: asyncpg.Connection) -> None:
        if self._template_ready:
            return
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        await admin.execute(f"CREATE DATABASE \"{TEMPLATE}\" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'")
        db = await PostgresDatabase.connect(self.database_dsn(TEMPLATE), pool_size=1)
        try:
            await db.migrate()
        finally:
            await db.close()
        self._template_ready = True

    async def _drop_template(self) -> None:
        admin = await asyncpg.connect(self.dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        finally:
            await admin.close()

    def stop(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()
        elif self._dsn is not None and self._template_ready:
            asyncio.run(self._drop_template())  # a server of the developer's: leave it as it was found
        if self._base is not None:
            self._base.cleanup()


SERVER = PostgresServer()


def engines_for(metafunc: pytest.Metafunc) -> list[str]:
    """SQLite, and PostgreSQL when a server is at hand — unless the test is marked ``sqlite_only(reason)``: what
    it tests (a pragma, the backup API, SQLite's own failure modes) exists only there."""
    if not SERVER.is_available or metafunc.definition.get_closest_marker("sqlite_only") is not None:
        return ["sqlite"]
    return ["sqlite", "postgresql"]


def header_line() -> str:
    if SERVER.is_available:
        return f"database engines: sqlite and postgresql ({SERVER.source})"
    hint = "" if ENGINES_ENV in SERVER.source else f" (install them, or set {DSN_ENV})"
    return f"database engines: sqlite only; the PostgreSQL pass is skipped: {SERVER.source}{hint}"


@pytest.fixture
def postgres_server() -> PostgresServer:
    """The session's server, for tests about PostgreSQL itself (skipped, with the reason, when there is none)."""
    _ = SERVER.dsn
    return SERVER
