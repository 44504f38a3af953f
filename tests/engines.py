"""The engines a test runs on: SQLite always, and PostgreSQL as well when a server is at hand.

Every test that uses a database (the ``engine`` fixture, through ``db``, ``db_target`` or ``settings``) runs once
per engine. PostgreSQL comes from ``COLLECTIVE_TEST_POSTGRES_DSN`` (a server you run; the tests make and drop
their own databases on it), or else from a throwaway server started for the session when PostgreSQL's server
binaries are installed (``emulator/postgres_cluster.py``). Without either, the PostgreSQL pass is skipped and the
header says why in one line.

Each PostgreSQL test gets a fresh database copied from a template migrated once per session, the way each SQLite
test gets a fresh file: a real migrated database per test on both.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from bot.storage.postgres_engine import PostgresDatabase
from emulator.postgres_cluster import PostgresCluster

DSN_ENV = "COLLECTIVE_TEST_POSTGRES_DSN"
TEMPLATE = "collective_test_template"
# Test modules that run on SQLite only, each with the reason: what they test exists only there.
SQLITE_ONLY: dict[str, str] = {}


class PostgresServer:
    """The session's PostgreSQL: where it is, and the template every test database is copied from."""

    def __init__(self) -> None:
        self.admin_dsn: str | None = os.environ.get(DSN_ENV) or None
        self.reason = ""
        self._cluster: PostgresCluster | None = None
        self._base: tempfile.TemporaryDirectory[str] | None = None
        self._template_ready = False
        self._names = itertools.count(1)
        if self.admin_dsn is not None:
            self.reason = f"the server at {DSN_ENV}"
            self.is_available = True
        else:
            bin_dir, self.reason = PostgresCluster.find_binaries()
            self.is_available = bin_dir is not None

    def dsn_for(self, name: str) -> str:
        assert self.admin_dsn is not None
        base, _, _ = self.admin_dsn.rpartition("/")
        return f"{base}/{name}"

    def _ensure_started(self) -> str:
        if self.admin_dsn is None:
            self._base = tempfile.TemporaryDirectory(prefix="collective-pg-")
            self._cluster = PostgresCluster()
            self.admin_dsn = self._cluster.start(Path(self._base.name))
        return self.admin_dsn

    async def _ensure_template(self, admin: asyncpg.Connection) -> None:
        if self._template_ready:
            return
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
        db = await PostgresDatabase.connect(self.dsn_for(TEMPLATE), pool_size=1)
        try:
            await db.migrate()
        finally:
            await db.close()
        self._template_ready = True

    @asynccontextmanager
    async def fresh_database(self) -> AsyncIterator[str]:
        """A new database, migrated (a copy of the template); dropped afterwards."""
        admin_dsn = self._ensure_started()
        name = f"collective_test_{os.getpid()}_{next(self._names)}"
        admin = await asyncpg.connect(admin_dsn)
        try:
            await self._ensure_template(admin)
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        finally:
            await admin.close()
        try:
            yield self.dsn_for(name)
        finally:
            admin = await asyncpg.connect(admin_dsn)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()

    def stop(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()
        if self._base is not None:
            self._base.cleanup()


SERVER = PostgresServer()


def engines_for(module_name: str) -> list[str]:
    if not SERVER.is_available or module_name in SQLITE_ONLY:
        return ["sqlite"]
    return ["sqlite", "postgresql"]


def header_line() -> str:
    if SERVER.is_available:
        return f"database engines: sqlite, postgresql ({SERVER.reason})"
    return f"database engines: sqlite only — the PostgreSQL pass is skipped: {SERVER.reason} (or set {DSN_ENV})"
