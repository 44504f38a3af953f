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

import asyncpg

from bot.db import WAKES, Database, Migration
from bot.errors import DatabaseCollation
from bot.storage.addresses import url_password, without_password
from bot.storage.dialect import Engine
from bot.storage.postgres_migrations import apply_postgres_migrations, bundled_postgres_migrations
from bot.storage.postgres_sql import bind
from bot.storage.statements import Params, Row, refuse_nul, returning_id
from bot.unit_of_work import BatchWork, UnitOfWork

log = logging.getLogger("bot.db")
T = TypeVar("T")


# The collations whose order is the code points', as SQLite compares text.
CODE_POINT_COLLATIONS = {"C", "POSIX", "C.UTF-8", "C.utf8"}
# Told at commit when outbox rows or timers were written, so the process owning those servers wakes at once.
WAKE_CHANNEL = "collective_wake"
LISTEN_RETRY = 1.0  # seconds between attempts to listen again after the listening connection was lost
# Errors meaning the writer's connection is gone (a server restart, a fail-over): reconnect and begin again.
_CONNECTION_LOST = (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, ConnectionError, OSError)


def _numeric(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text")


def _args(sql: str, params: Params) -> list[Any]:
    refuse_nul(params)
    text, args = bind(sql, params)
    return [text, *args]


async def _wake_others(conn: asyncpg.Connection, *, outbox: bool, timers: bool) -> None:
    """Inside the transaction, before its COMMIT: delivered to every listener when (and only if) it commits, so
    the process that owns the server wakes even when the rows were written elsewhere (a webhook tier, a shard)."""
    for what, wrote in zip(WAKES, (outbox, timers), strict=True):
        if wrote:
            await conn.execute(f"NOTIFY {WAKE_CHANNEL}, '{what}'")


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


class PostgresDatabase(Database):
    engine: Engine = "postgresql"
    concurrent_writes = True

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        super().__init__()
        self.url = url
        self._pool = pool  # reads, migrations
        # Transactions run one at a time per process (the writer lock), so they share one connection kept open:
        # taking one from the pool per transaction cost a round trip more (asyncpg resets it on release).
        self._writer: asyncpg.Connection | None = None
        self._listening: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, url: str, *, pool_size: int = 10) -> PostgresDatabase:
        # Every connection opened up front and kept, idle or not: a pool that grew on demand (and shed idle
        # connections after 5 minutes) opened them in the middle of a burst of commands, each costing the waiting
        # members a connection set-up. bench fleet, 4 shard processes: p99 419 ms → 24 ms (one process: 54 → 24).
        pool = await asyncpg.create_pool(
            url, min_size=pool_size, max_size=pool_size, max_inactive_connection_lifetime=0, init=_init_connection
        )
        return cls(url, pool)

    def describe(self) -> str:
        return without_password(self.url)

    async def close(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            await asyncio.gather(self._listening, return_exceptions=True)
            self._listening = None
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
        """The writer's connection, opened again after it was discarded or the server closed it."""
        if self._writer is None or self._writer.is_closed():
            self._writer = await asyncpg.connect(self.url)
            await _init_connection(self._writer)
        return self._writer

    def _discard_writer(self) -> None:
        """Drop the writer's connection when its state is unknown (a cancellation mid-statement, a lost
        COMMIT): the server rolls back whatever was open when the connection goes, and the next transaction
        opens a fresh one — never a connection left inside a transaction nobody will end."""
        if self._writer is not None:
            self._writer.terminate()
            self._writer = None

    async def _begin(self) -> asyncpg.Connection:
        for attempt in (1, 2):
            conn = await self._writer_connection()
            try:
                await conn.execute("BEGIN")
                return conn
            except _CONNECTION_LOST:
                self._discard_writer()
                if attempt == 2:
                    raise
            except BaseException:
                self._discard_writer()
                raise
        raise AssertionError("unreachable")

    async def _finish(self, conn: asyncpg.Connection, verb: str) -> None:
        try:
            await conn.execute(verb)
        except BaseException:
            if conn.is_closed() or conn.is_in_transaction():
                self._discard_writer()
            raise

    @asynccontextmanager
    async def _engine_transaction(self) -> AsyncIterator[UnitOfWork]:
        conn = await self._begin()
        uow = UnitOfWork(PostgresConnection(conn))
        try:
            yield uow
        except Exception:
            await self._finish(conn, "ROLLBACK")
            raise
        except BaseException:
            self._discard_writer()  # cancelled: a statement may be half way; the server rolls back on close
            raise
        try:
            await _wake_others(conn, outbox=bool(uow.emitted), timers=uow.timers_changed)
        except BaseException:
            self._discard_writer()  # the server rolls the transaction back with the connection
            raise
        await self._finish(conn, "COMMIT")

    async def listen_for_wakes(self) -> None:
        if self._listening is None:
            connected = asyncio.get_running_loop().create_future()
            self._listening = asyncio.create_task(self._listen(connected), name="postgres-listen")
            await connected

    async def _listen(self, connected: asyncio.Future[None]) -> None:
        """One connection LISTENing for as long as the database is open; opened again when lost (and then the
        listeners woken once, for what was committed while nobody listened)."""
        first = True
        while True:
            try:
                conn = await asyncpg.connect(self.url)
            except (*_CONNECTION_LOST, asyncpg.PostgresError) as exc:
                if first and not connected.done():
                    connected.set_exception(exc)
                    return
                log.warning("cannot listen for other processes' work (%s); trying again", type(exc).__name__)
                await asyncio.sleep(LISTEN_RETRY)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
            try:
                await conn.add_listener(WAKE_CHANNEL, self._notified)
                if first:
                    connected.set_result(None)
                else:
                    for what in WAKES:
                        self._woken(what)
                first = False
                await lost.wait()
                log.warning("the listening connection to the database was lost; listening again")
            finally:
                conn.terminate()
            await asyncio.sleep(LISTEN_RETRY)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload in WAKES:
            self._woken(payload)  # narrowed to Wake by the membership test

    async def _engine_concurrent_batch(self, work: BatchWork[T], emits: bool) -> T:
        async with self._pool.acquire() as conn, conn.transaction():
            result = await work(PostgresConnection(conn))
            await _wake_others(conn, outbox=emits, timers=False)
            return result

    async def _engine_batch(self, work: BatchWork[T]) -> T:
        async with self._engine_transaction() as uow:
            return await uow.run(work)

    # -- migrations ------------------------------------------------------------------------------------

    async def schema_version(self) -> int:
        try:
            return int(await self.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
        except asyncpg.UndefinedTableError:
            return 0

    async def migrate(self, migrations: list[Migration] | None = None) -> list[Migration]:
        known = bundled_postgres_migrations() if migrations is None else migrations
        async with self._write_lock, self._pool.acquire() as conn:
            # datlocprovider (PostgreSQL 15+): 'i' is ICU, whose ICU_LOCALE rules even when datcollate says C.
            row = await conn.fetchrow(
                "SELECT datcollate, to_jsonb(d) ->> 'datlocprovider', to_jsonb(d) ->> 'daticulocale'"
                " FROM pg_database d WHERE datname = current_database()"
            )
            collation = row[2] if row[1] == "i" else row[0]
            if row[1] == "i" or collation not in CODE_POINT_COLLATIONS:
                raise DatabaseCollation(
                    f"{self.describe()} sorts text by the {collation!r} collation; Collective compares and orders text"
                    " by code points, as SQLite does: create the database with"
                    " `createdb --template=template0 --locale=C -O <owner> <name>`"
                )
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
        password = url_password(self.url)
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
