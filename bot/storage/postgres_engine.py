"""PostgreSQL through asyncpg: the engine for running beyond one machine.

The application's SQL is the same text SQLite runs (translated by ``postgres_sql.bind``);
the schema is ``migrations/postgresql``, kept in lockstep with SQLite's by a test. Integer sums come back as
``numeric`` in PostgreSQL: they are read back as ``int`` (``float`` when fractional), as SQLite gives them.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.db import Database, Migration
from bot.storage.dialect import Engine
from bot.storage.postgres_migrations import apply_postgres_migrations, bundled_postgres_migrations
from bot.storage.postgres_sql import bind
from bot.storage.statements import Params, Row, refuse_nul, returning_id
from bot.unit_of_work import BatchWork, UnitOfWork

log = logging.getLogger("bot.db")
T = TypeVar("T")


def _numeric(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text")


def _args(sql: str, params: Params) -> list[Any]:
    refuse_nul(params)
    text, args = bind(sql, params)
    return [text, *args]


class PostgresConnection:
    """``Statements`` over one asyncpg connection."""

    engine: Engine = "postgresql"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        status: str = await self._conn.execute(*_args(sql, params))
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def insert(self, sql: str, params: Params = ()) -> int:
        value = await self._conn.fetchval(*_args(returning_id(sql), params))
        if value is None:
            raise LookupError(f"the insert wrote no row: {sql.split('(')[0].strip()}")
        return int(value)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        rows = list(rows)
        if not rows:
            return
        for row in rows:
            refuse_nul(row)
        text, _ = bind(sql, rows[0])
        await self._conn.executemany(text, [tuple(bind(sql, row)[1]) for row in rows])

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = await self._conn.fetchrow(*_args(sql, params))
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = await self._conn.fetch(*_args(sql, params))
        return rows

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        return await self._conn.fetchval(*_args(sql, params))

    async def batch(self, work: BatchWork[T]) -> T:
        return await work(self)


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class PostgresDatabase(Database):
    engine: Engine = "postgresql"

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        super().__init__()
        self.url = url
        self._pool = pool  # reads, migrations
        # Transactions run one at a time per process (the writer lock), so they share one connection kept open:
        # taking one from the pool per transaction cost a round trip more (asyncpg resets it on release).
        self._writer: asyncpg.Connection | None = None

    @classmethod
    async def connect(cls, url: str, *, pool_size: int = 10) -> PostgresDatabase:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size, init=_init_connection)
        return cls(url, pool)

    def describe(self) -> str:
        return without_password(self.url)

    async def close(self) -> None:
        if self._writer is not None and not self._writer.is_closed():
            await self._writer.close()
        await self._pool.close()

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = await self._pool.fetchrow(*_args(sql, params))
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = await self._pool.fetch(*_args(sql, params))
        return rows

    async def _writer_connection(self) -> asyncpg.Connection:
        """The writer's connection, opened again if the server closed it (a restart, a fail-over)."""
        if self._writer is None or self._writer.is_closed():
            self._writer = await asyncpg.connect(self.url)
            await _init_connection(self._writer)
        return self._writer

    @asynccontextmanager
    async def _engine_transaction(self) -> AsyncIterator[UnitOfWork]:
        conn = await self._writer_connection()
        async with conn.transaction():
            yield UnitOfWork(PostgresConnection(conn))

    async def _engine_batch(self, work: BatchWork[T]) -> T:
        conn = await self._writer_connection()
        async with conn.transaction():
            return await work(PostgresConnection(conn))

    # -- migrations ------------------------------------------------------------------------------------

    async def schema_version(self) -> int:
        try:
            return int(await self.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
        except asyncpg.UndefinedTableError:
            return 0

    async def migrate(self, migrations: list[Migration] | None = None) -> list[Migration]:
        known = bundled_postgres_migrations() if migrations is None else migrations
        async with self._write_lock, self._pool.acquire() as conn:
            names = set(await apply_postgres_migrations(conn, known))
        applied = [migration for migration in known if migration.name in names]
        for migration in applied:
            log.info("applied migration %s", migration.name)
        return applied

    # -- backup ----------------------------------------------------------------------------------------

    async def backup(self, out: Path | str) -> Path:
        """``pg_dump`` in its custom format (restore with ``pg_restore``), written beside ``out`` and renamed."""
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        env = dict(os.environ)
        password = urlsplit(self.url).password
        if password:
            env["PGPASSWORD"] = password  # never on the command line, where `ps` would show it
        proc = await asyncio.create_subprocess_exec(
            "pg_dump", "--format=custom", f"--file={partial}", f"--dbname={without_password(self.url)}",
            env=env, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await proc.communicate()
        if proc.returncode != 0:
            partial.unlink(missing_ok=True)
            raise RuntimeError(f"pg_dump failed: {err.decode(errors='replace').strip()[-500:]}")
        partial.replace(target)
        return target
