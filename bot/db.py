"""The one store: SQLite in WAL mode through aiosqlite.

Two connections: a writer used only inside ``transaction()`` or ``run_transaction()`` (serialised by a lock,
``BEGIN IMMEDIATE``) and a reader for everything else, so a read never sees another coroutine's half-done transaction.
The ``in_transaction()`` flag is a context variable: the bot refuses Discord calls while it is set,
which keeps network latency out of the writer lock.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from bot.errors import DatabaseTooNew
from bot.unit_of_work import Params, UnitOfWork, fetch

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_in_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar("collective_in_tx", default=False)
# A transaction that holds the writer lock this long is logged: something slow crept inside it.
SLOW_TRANSACTION_SECONDS = 0.5
T = TypeVar("T")
P = ParamSpec("P")


def in_transaction() -> bool:
    return _in_transaction.get()


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    """The numbered SQL files shipped in the ``migrations`` package, in order."""
    found = []
    for entry in resources.files("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


# Services name the unit of work by the name every signature already uses.
Transaction = UnitOfWork
CommitListener = Callable[[UnitOfWork | None], None]


class Database:
    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        # Called after each commit that wrote outbox rows or timers (None: a raw batch from run_transaction),
        # so the outbox and the scheduler wake at once instead of at their next poll. Must not raise or block.
        self.commit_listeners: list[CommitListener] = []

    # -- lifecycle -------------------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path | str) -> Database:
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

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- reads -----------------------------------------------------------------------------------------

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await fetch(self._reader, sql, params, one=True)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await fetch(self._reader, sql, params, one=False)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    # -- writes ----------------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """One writer at a time; commit on success, roll back on any exception (and with it what was emitted)."""
        if _in_transaction.get():
            raise RuntimeError("nested transaction: pass the open Transaction down instead")
        async with self._write_lock:
            token = _in_transaction.set(True)
            started = time.perf_counter()
            await self._writer.execute("BEGIN IMMEDIATE")
            uow = UnitOfWork(self._writer)
            try:
                yield uow
            except BaseException:
                await self._writer.rollback()
                raise
            else:
                await self._writer.commit()
            finally:
                _in_transaction.reset(token)
                held = time.perf_counter() - started
                if held > SLOW_TRANSACTION_SECONDS:
                    log.warning("a database transaction held the writer for %.2fs", held)
        # Outside the lock and the transaction flag: listeners may start tasks that write or call Discord.
        if uow.emitted or uow.timers_changed:
            self._committed(uow)

    def _committed(self, uow: UnitOfWork | None) -> None:
        for listener in self.commit_listeners:
            try:
                listener(uow)
            except Exception:
                log.exception("a commit listener failed")

    async def run_transaction(self, work: Callable[[sqlite3.Connection], T], *, emits: bool = False) -> T:
        """BEGIN IMMEDIATE, ``work(conn)``, COMMIT — all in the writer's thread in one hop; ROLLBACK on any error.

        For hot write paths made of plain sqlite3 calls (the webhook writer commits a batch of deliveries this
        way): ``transaction()`` + ``Transaction.run`` would take three hops. ``work`` must not commit itself.
        ``emits``: ``work`` may write outbox rows (``unit_of_work.emit_sync``): wake the outbox after commit.
        """
        if _in_transaction.get():
            raise RuntimeError("nested transaction: pass the open Transaction down instead")
        async with self._write_lock:
            token = _in_transaction.set(True)
            started = time.perf_counter()
            writer = self._writer
            try:
                result: T = await writer._execute(lambda: _atomically(writer._conn, work))
            finally:
                _in_transaction.reset(token)
                held = time.perf_counter() - started
                if held > SLOW_TRANSACTION_SECONDS:
                    log.warning("a database transaction held the writer for %.2fs", held)
        if emits:
            self._committed(None)
        return result

    async def perform(
        self, work: Callable[Concatenate[UnitOfWork, P], Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``work(uow, *args, **kwargs)`` in one unit of work: the way a caller without a transaction runs a
        service, which takes the unit of work and never opens its own."""
        async with self.transaction() as tx:
            return await work(tx, *args, **kwargs)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """A single statement in its own transaction; returns the affected row count."""
        async with self.transaction() as tx:
            cur = await tx.execute(sql, params)
            count = cur.rowcount
            await cur.close()
            return count

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
            await self._reader.backup(dest)
            check = dest.execute("PRAGMA integrity_check").fetchone()
            if check is None or check[0] != "ok":
                raise RuntimeError(f"backup failed its integrity check: {check}")
        finally:
            dest.close()
        partial.replace(target)
        return target


def _atomically(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Runs in the writer's thread: the whole transaction, so a failure anywhere leaves nothing behind."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
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
