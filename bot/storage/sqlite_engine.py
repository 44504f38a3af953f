"""SQLite in WAL mode through aiosqlite: the embedded engine, and the default.

Two connections: a writer used only inside a transaction (serialised by ``Database``'s lock, ``BEGIN
IMMEDIATE``) and a reader for everything else, so a read never sees another coroutine's half-done transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Coroutine, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.db import Database, Migration, bundled_migrations
from bot.errors import DatabaseTooNew
from bot.storage.dialect import Engine
from bot.storage.statements import Params, Row, refuse_nul, returning_id
from bot.unit_of_work import BatchWork, UnitOfWork

log = logging.getLogger("bot.db")
T = TypeVar("T")


async def _fetch(conn: aiosqlite.Connection, sql: str, params: Params, *, one: bool) -> Any:
    """Execute, fetch and close in one trip to the connection's thread (aiosqlite's cursor API takes three:
    under a burst of interactions those waits for the event loop, not SQLite, were most of a query's time)."""

    refuse_nul(params)

    def work() -> Any:
        cur = conn._conn.execute(sql, params)
        try:
            return cur.fetchone() if one else cur.fetchall()
        finally:
            cur.close()

    return await conn._execute(work)


class SqliteConnection:
    """``Statements`` over an aiosqlite connection: each statement one trip to its thread."""

    engine: Engine = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        conn = self._conn
        return int(await conn._execute(lambda: _rowcount(conn._conn, sql, params)))

    async def insert(self, sql: str, params: Params = ()) -> int:
        return _new_id(await self.fetchval(returning_id(sql), params), sql)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, _checked(rows))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = await _fetch(self._conn, sql, params, one=True)
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = await _fetch(self._conn, sql, params, one=False)
        return rows

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def batch(self, work: BatchWork[T]) -> T:
        conn = self._conn
        # aiosqlite has no public "call this in your thread"; _execute is what its own methods use.
        result: T = await conn._execute(lambda: complete_now(work(SyncStatements(conn._conn))))
        return result


class SyncStatements:
    """``Statements`` whose coroutines finish without suspending: plain sqlite3 calls, for batch work that
    ``complete_now`` runs whole inside the writer's thread."""

    engine: Engine = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        return _rowcount(self._conn, sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        return _new_id(await self.fetchval(returning_id(sql), params), sql)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        self._conn.executemany(sql, _checked(rows)).close()

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        refuse_nul(params)
        cur = self._conn.execute(sql, params)
        try:
            row: Row | None = cur.fetchone()
            return row
        finally:
            cur.close()

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        refuse_nul(params)
        cur = self._conn.execute(sql, params)
        try:
            rows: list[Row] = cur.fetchall()
            return rows
        finally:
            cur.close()

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


def complete_now(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (batch work over ``SyncStatements``) to its end, synchronously."""
    try:
        coro.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coro.close()
    raise RuntimeError("batch work awaited something other than its SQL: it cannot run in the writer's thread")


def _rowcount(conn: sqlite3.Connection, sql: str, params: Params) -> int:
    refuse_nul(params)
    cur = conn.execute(sql, params)
    try:
        return cur.rowcount
    finally:
        cur.close()


def _checked(rows: Iterable[Params]) -> list[Params]:
    checked = list(rows)
    for row in checked:
        refuse_nul(row)
    return checked


def _new_id(value: Any, sql: str) -> int:
    if value is None:
        raise LookupError(f"the insert wrote no row: {sql.split('(')[0].strip()}")
    return int(value)


class SqliteDatabase(Database):
    engine: Engine = "sqlite"

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        super().__init__()
        self.path = path
        self._writer = writer
        self._reader = SqliteConnection(reader)
        self._reader_conn = reader

    @classmethod
    async def connect(cls, path: Path | str) -> SqliteDatabase:
        db_path = Path(path)
        if str(db_path) != ":memory:":
            db_path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(db_path)
        try:
            # WAL must be set before the reader opens so both share the journal mode.
            await _pragma(writer, "PRAGMA journal_mode=WAL")
            reader = await _connect(db_path)
        except BaseException:
            await writer.close()  # aiosqlite's worker thread would otherwise keep the process alive
            raise
        return cls(db_path, writer, reader)

    def describe(self) -> str:
        return str(self.path)

    async def close(self) -> None:
        await self._reader_conn.close()
        await self._writer.close()

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._reader.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._reader.fetchall(sql, params)

    @asynccontextmanager
    async def _engine_transaction(self) -> AsyncIterator[UnitOfWork]:
        await self._writer.execute("BEGIN IMMEDIATE")
        try:
            yield UnitOfWork(SqliteConnection(self._writer))
        except BaseException:
            await self._writer.rollback()
            raise
        else:
            await self._writer.commit()

    async def _engine_batch(self, work: BatchWork[T]) -> T:
        writer = self._writer
        result: T = await writer._execute(lambda: _atomically(writer._conn, work))
        return result

    # -- migrations ------------------------------------------------------------------------------------

    async def schema_version(self) -> int:
        try:
            return int(await self.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
        except sqlite3.OperationalError:
            return 0  # no migrations table yet: a brand-new database

    async def migrate(self, migrations: list[Migration] | None = None) -> list[Migration]:
        """Apply pending migrations in order, each in one transaction. Returns those applied."""
        known = bundled_migrations() if migrations is None else migrations
        newest_known = known[-1].version if known else 0
        applied = []
        async with self._write_lock:
            # Autocommit statement (isolation_level=None); safe under the lock.
            await self._writer.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            async with self._writer.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") as cur:
                row = await cur.fetchone()
            current = int(row[0]) if row else 0
            if current > newest_known:
                raise DatabaseTooNew(
                    f"{self.path} is at schema version {current} but this Collective knows only up to "
                    f"{newest_known}; upgrade Collective or restore an older backup"
                )
            for migration in known:
                if migration.version <= current:
                    continue
                await self._apply(migration)
                applied.append(migration)
                log.info("applied migration %s", migration.name)
        return applied

    async def _apply(self, migration: Migration) -> None:
        # executescript commits any open transaction first, so BEGIN/COMMIT live inside the script:
        # the migration and its version row land together or not at all.
        script = (
            "BEGIN IMMEDIATE;\n"
            f"{migration.sql}\n;\n"
            "INSERT INTO schema_migrations (version, name, applied_at) "
            f"VALUES ({migration.version}, '{migration.name}', strftime('%Y-%m-%dT%H:%M:%SZ','now'));\n"
            "COMMIT;"
        )
        try:
            await self._writer.executescript(script)
        except sqlite3.Error:
            if self._writer.in_transaction:
                await self._writer.rollback()
            raise

    # -- backup ----------------------------------------------------------------------------------------

    async def backup(self, out: Path | str) -> Path:
        """Online copy through SQLite's backup API, written beside ``out`` and renamed into place."""
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        dest = sqlite3.connect(partial, check_same_thread=False)
        try:
            await self._reader_conn.backup(dest)
            check = dest.execute("PRAGMA integrity_check").fetchone()
            if check is None or check[0] != "ok":
                raise RuntimeError(f"backup failed its integrity check: {check}")
        finally:
            dest.close()
        partial.replace(target)
        return target


def _atomically(conn: sqlite3.Connection, work: BatchWork[T]) -> T:
    """Runs in the writer's thread: the whole transaction, so a failure anywhere leaves nothing behind."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = complete_now(work(SyncStatements(conn)))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


async def _connect(path: Path) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves instead of sqlite3's implicit transactions.
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        await _pragma(conn, "PRAGMA busy_timeout=5000")
        await _pragma(conn, "PRAGMA foreign_keys=ON")
        await _pragma(conn, "PRAGMA synchronous=NORMAL")
    except BaseException:
        await conn.close()
        raise
    return conn


async def _pragma(conn: aiosqlite.Connection, sql: str) -> None:
    # Close the cursor: a PRAGMA that returns a row keeps its statement (and a lock) open otherwise.
    async with conn.execute(sql) as cur:
        await cur.fetchall()
