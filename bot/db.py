"""The one store, behind one interface: ``Database``, implemented by SQLite (``bot/storage/sqlite_engine.py``, the
embedded default) and PostgreSQL (``bot/storage/postgres_engine.py``, through asyncpg).

Writes happen only inside ``transaction()`` (a ``UnitOfWork``) or ``run_transaction()``, one at a time per
process (a lock); reads go through their own connection, so a read never sees another coroutine's half-done
transaction. The ``in_transaction()`` flag is a context variable: the bot refuses Discord calls while it is set,
which keeps network latency out of the writer lock.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from bot.storage.dialect import Engine
from bot.storage.statements import Params, Row, is_conflict
from bot.unit_of_work import BatchWork, UnitOfWork

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_in_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar("collective_in_tx", default=False)
# A transaction that holds the writer lock this long is logged: something slow crept inside it.
SLOW_TRANSACTION_SECONDS = 0.5
# A unit of work PostgreSQL cancelled to end a deadlock (or a serialization failure) is run again this many times
# in all before its error reaches the caller (a webhook then answers 500 and the shop retries).
CONFLICT_ATTEMPTS = 4
T = TypeVar("T")
P = ParamSpec("P")


def in_transaction() -> bool:
    return _in_transaction.get()


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations(package: str = "migrations") -> list[Migration]:
    """The numbered SQL files shipped in a migrations package, in order: SQLite's (``migrations``) by default,
    PostgreSQL's twins in ``migrations.postgresql``."""
    found = []
    for entry in resources.files(package).iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations in {package} share a number: {versions}")
    return found


def is_postgres_url(target: Path | str) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


# What another process's commit wrote, for the processes that may have to act on it.
Wake = Literal["outbox", "timers"]
WAKES: tuple[Wake, ...] = ("outbox", "timers")
# Services name the unit of work by the name every signature already uses.
Transaction = UnitOfWork
CommitListener = Callable[[UnitOfWork | None], None]


class Database(ABC):
    engine: Engine

    def __init__(self) -> None:
        self._write_lock = asyncio.Lock()
        # Called after each commit that wrote outbox rows or timers (None: a raw batch from run_transaction),
        # so the outbox and the scheduler wake at once instead of at their next poll. Must not raise or block.
        self.commit_listeners: list[CommitListener] = []
        # Called with what another process committed — outbox rows or timers (PostgreSQL's NOTIFY; SQLite has
        # one process, whose commits the commit listeners already see). Must not raise or block.
        self.wake_listeners: list[Callable[[Wake], None]] = []

    @staticmethod
    async def open(target: Path | str) -> Database:
        """A ``postgresql://`` URL opens PostgreSQL; anything else is the path of a SQLite file."""
        if is_postgres_url(target):
            from bot.storage.postgres_engine import PostgresDatabase

            return await PostgresDatabase.connect(str(target))
        from bot.storage.sqlite_engine import SqliteDatabase

        return await SqliteDatabase.connect(target)

    @abstractmethod
    def describe(self) -> str:
        """Where the data lives, fit for a log line (never a password)."""

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def listen_for_wakes(self) -> None:
        """Start hearing other processes' commits (``wake_listeners``); nothing to do with one process."""
        return

    def _woken(self, what: Wake) -> None:
        for listener in self.wake_listeners:
            try:
                listener(what)
            except Exception:
                log.exception("a wake listener failed")

    # -- reads -----------------------------------------------------------------------------------------

    @abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

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
            try:
                async with self._engine_transaction() as uow:
                    yield uow
            finally:
                _in_transaction.reset(token)
                _note_hold(started)
        # Outside the lock and the transaction flag: listeners may start tasks that write or call Discord.
        if uow.emitted or uow.timers_changed:
            self._committed(uow)

    @abstractmethod
    def _engine_transaction(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """Begin; yield the unit of work; commit, or roll back on any exception."""

    def _committed(self, uow: UnitOfWork | None) -> None:
        for listener in self.commit_listeners:
            try:
                listener(uow)
            except Exception:
                log.exception("a commit listener failed")

    # Whether ``run_transaction(..., alongside=True)`` really runs beside other writes (PostgreSQL) or queues.
    concurrent_writes = False

    async def run_transaction(self, work: BatchWork[T], *, emits: bool = False, alongside: bool = False) -> T:
        """Begin, ``work`` (SQL only), commit — in one go; roll back on any error.

        For hot write paths (the webhook writer commits a batch of deliveries this way): on SQLite the whole
        transaction is one hop to the writer's thread where ``transaction()`` + ``UnitOfWork.run`` would take
        three. ``work`` must not commit itself. ``emits``: ``work`` may write outbox rows
        (``unit_of_work.emit_row``): wake the outbox after commit.

        ``alongside``: ``work`` stays right beside any other transaction — its writes are upserts and inserts
        keyed by unique constraints, its checks hold under concurrent commits — so an engine that can run writers
        at once (PostgreSQL) runs it on a connection of its own instead of queueing for the one writer; a burst of
        votes then takes as long as the slowest, not the sum of all. SQLite has one writer and queues it.
        """
        if _in_transaction.get():
            raise RuntimeError("nested transaction: pass the open Transaction down instead")
        result = await _again_after_conflicts(lambda: self._run_batch_once(work, emits=emits, alongside=alongside))
        if emits:
            self._committed(None)
        return result

    async def _run_batch_once(self, work: BatchWork[T], *, emits: bool, alongside: bool) -> T:
        if alongside and self.concurrent_writes:
            token = _in_transaction.set(True)
            try:
                return await self._engine_concurrent_batch(work, emits)
            finally:
                _in_transaction.reset(token)
        async with self._write_lock:
            token = _in_transaction.set(True)
            started = time.perf_counter()
            try:
                return await self._engine_batch(work)
            finally:
                _in_transaction.reset(token)
                _note_hold(started)

    @abstractmethod
    async def _engine_batch(self, work: BatchWork[T]) -> T: ...

    async def _engine_concurrent_batch(self, work: BatchWork[T], emits: bool) -> T:
        raise NotImplementedError(f"{self.engine} runs one writer at a time")

    async def perform(
        self, work: Callable[Concatenate[UnitOfWork, P], Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``work(uow, *args, **kwargs)`` in one unit of work: the way a caller without a transaction runs a
        service, which takes the unit of work and never opens its own. Run again when the engine cancelled it
        for a conflict with another process's transaction (a service is SQL and decisions over what it read)."""

        async def once() -> T:
            async with self.transaction() as tx:
                return await work(tx, *args, **kwargs)

        return await _again_after_conflicts(once)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """A single statement in its own transaction; returns the affected row count."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    # -- migrations and backups ------------------------------------------------------------------------

    @abstractmethod
    async def schema_version(self) -> int: ...

    @abstractmethod
    async def migrate(self, migrations: list[Migration] | None = None) -> list[Migration]:
        """Apply pending migrations in order, each in one transaction. Returns those applied."""

    @abstractmethod
    async def backup(self, out: Path | str) -> Path:
        """A consistent copy of the whole store at ``out``."""


async def _again_after_conflicts(once: Callable[[], Awaitable[T]]) -> T:
    """``once()`` — one whole transaction —, run again while the engine cancels it for a conflict with another
    process's (up to ``CONFLICT_ATTEMPTS`` in all), after a random pause so the two that met do not meet again in
    step."""
    for attempt in range(1, CONFLICT_ATTEMPTS):
        try:
            return await once()
        except Exception as exc:
            if not is_conflict(exc):
                raise
            log.warning("a transaction lost a conflict with another one (%s); running it again (attempt %d of %d)",
                        type(exc).__name__, attempt + 1, CONFLICT_ATTEMPTS)  # fmt: skip
            await asyncio.sleep(random.uniform(0.005, 0.05) * attempt)
    return await once()  # the last attempt: its error, conflict or not, is the caller's


def _note_hold(started: float) -> None:
    held = time.perf_counter() - started
    if held > SLOW_TRANSACTION_SECONDS:
        log.warning("a database transaction held the writer for %.2fs", held)
