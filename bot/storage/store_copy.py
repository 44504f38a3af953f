"""Moving a program from its SQLite file to PostgreSQL: ``python -m bot migrate-store --to postgresql://…``.

The SQLite file must be intact, at the newest schema version, and not in use (the run lock of ``run``, as
``restore`` checks it, held for the whole copy so the bot cannot start half way). The target is migrated, then
every table of the SQLite schema (found in ``sqlite_master``, parents before children by their foreign keys) is
copied with binary COPY, each table in its own PostgreSQL transaction that also records it as done in
``collective_store_copy.store_migration_progress``. A copy that dies (SIGKILL, a lost network) leaves whole tables
or none: run the command again and it carries on with the tables not recorded. Then the identity sequences are
moved past the copied ids, every table is compared (row count and a digest of its rows) on both sides, and the
progress schema is dropped, so the database holds the application's schema and nothing else.

Read models (points_totals, sales_monthly, …) are copied as they are, with the ledgers' triggers disabled while
their rows go in: re-deriving them through the triggers would fire them once per ledger row (slow on a large
ledger) and could only reproduce what SQLite holds if both engines' triggers had always agreed, while the copy is
exactly SQLite's and the final comparison proves it. ``ALTER TABLE … DISABLE TRIGGER USER`` is transactional in
PostgreSQL and needs only ownership of the table: the triggers are enabled again in the same transaction, so a
copy that dies half way never leaves a table with its triggers off. Foreign keys (system triggers) stay checked.
The same transaction drops a table's secondary indexes before its rows and builds them again after (about twice
as fast on a large ledger as growing them row by row).

On the benchmark generator's default program (10,000 members, 1,000,000 points rows, 200,000 sales: 2.4 million
rows in 63 tables) the whole move took 48 s on the development machine: a third copying, a third comparing,
the rest SQLite's integrity check.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bot.backups import RestoreError, run_lock
from bot.db import Migration, bundled_migrations
from bot.storage.addresses import without_password
from bot.storage.postgres_migrations import (
    apply_postgres_migrations,
    bundled_postgres_migrations,
    sync_identity_sequences,
)

PROGRESS_SCHEMA = "collective_store_copy"
PROGRESS = f"{PROGRESS_SCHEMA}.store_migration_progress"
SOURCE = f"{PROGRESS_SCHEMA}.store_migration_source"
# pg_try_advisory_lock key held while copying: two copies into one database refuse instead of racing.
COPY_LOCK = 0x636F6D76  # "comv"
BATCH_ROWS = 5_000
_DIGEST_MASK = (1 << 128) - 1
# A lost connection or a server going away: what running the command again cures.
CUT_SHORT = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError)

Say = Callable[[str], None]
# Called with a table's name once its rows are in, before its transaction commits (tests make one copy fail there).
BeforeCommit = Callable[[str], Awaitable[None]]


class StoreCopyError(Exception):
    """The move refused or failed, with a sentence for the operator."""


@dataclass(frozen=True)
class SourceTable:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the primary key, for reading in a stable order
    parents: frozenset[str]  # tables its foreign keys refer to (itself excluded)


@dataclass(frozen=True)
class TableCopied:
    name: str
    rows: int
    seconds: float
    earlier: bool = False  # copied by an earlier run of the command


@dataclass
class CopyReport:
    target: str  # the address without its password
    version: int
    tables: list[TableCopied] = field(default_factory=list)
    sequences: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- the source ------------------------------------------------------------------------------------------------


def open_source(path: Path, newest: int) -> tuple[sqlite3.Connection, int, Path]:
    """The SQLite database at ``path`` after checking it is intact and at schema version ``newest``; its schema
    version; its absolute path (what the progress schema records)."""
    _must_exist(path)
    try:
        conn = sqlite3.connect(path)
    except sqlite3.DatabaseError as exc:
        raise StoreCopyError(f"{path} cannot be opened ({exc})") from None
    try:
        check = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
        if check != ["ok"]:
            raise StoreCopyError(
                f"{path} failed its integrity check ({'; '.join(check[:3])}); restore a backup before moving it"
            )
        try:
            version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        except sqlite3.OperationalError:
            raise StoreCopyError(f"{path} is not a Collective database (it has no schema_migrations)") from None
        if not isinstance(version, int) or version < newest:
            raise StoreCopyError(
                f"{path} is at schema version {version or 0} but this Collective's newest is {newest}: "
                "run `python -m bot migrate` first, then move it"
            )
        if version > newest:
            raise StoreCopyError(
                f"{path} is at schema version {version} but this Collective knows only up to {newest}; upgrade first"
            )
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreCopyError(f"{path} is damaged or not a SQLite database ({exc})") from None
    except BaseException:
        conn.close()
        raise
    return conn, version, path.resolve()


def _must_exist(path: Path) -> None:
    if not path.is_file():  # else sqlite3.connect would create it
        raise StoreCopyError(f"database.path: {path} does not exist (there is nothing to move)")


def source_tables(conn: sqlite3.Connection) -> list[SourceTable]:
    """Every table of the SQLite schema but schema_migrations (the target keeps its own), parents first."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            " AND name <> 'schema_migrations' ORDER BY name"
        )
    ]
    tables = []
    for name in names:
        info = conn.execute(f"PRAGMA table_info({quote(name)})").fetchall()  # cid, name, type, notnull, dflt, pk
        columns = tuple(row[1] for row in sorted(info, key=lambda r: r[0]))
        key = tuple(row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])) or ("rowid",)
        parents = {row[2] for row in conn.execute(f"PRAGMA foreign_key_list({quote(name)})")}
        tables.append(SourceTable(name, columns, key, frozenset(parents - {name})))
    return in_dependency_order(tables)


def in_dependency_order(tables: Sequence[SourceTable]) -> list[SourceTable]:
    """Parents before children (a child's foreign keys are checked as its rows go in); by name otherwise.

    A table referring to itself (a resubmission to its submission) is copied in one COPY statement in key order,
    and PostgreSQL checks a statement's foreign keys at its end, so self-references need no ordering here."""
    by_name = {t.name: t for t in tables}
    waiting = {t.name: {p for p in t.parents if p in by_name} for t in tables}
    ordered: list[SourceTable] = []
    while waiting:
        ready = sorted(name for name, parents in waiting.items() if not parents)
        if not ready:
            raise StoreCopyError(f"the tables' foreign keys form a cycle: {', '.join(sorted(waiting))}")
        for name in ready:
            ordered.append(by_name[name])
            del waiting[name]
        for parents in waiting.values():
            parents.difference_update(ready)
    return ordered


def _converter(types: Sequence[str]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
    """What makes a SQLite row fit binary COPY into columns of these PostgreSQL types (None: rows fit as read).

    SQLite hands back int, str, bytes, float or None, which COPY takes for bigint, text, bytea and double
    precision, except that a REAL column may give back an int. A value of the wrong kind (text in an INTEGER
    column, which SQLite's loose typing allows) is refused by asyncpg with the column named."""
    floats = [i for i, t in enumerate(types) if t in ("double precision", "real")]
    bools = [i for i, t in enumerate(types) if t == "boolean"]
    if not floats and not bools:
        return None

    def convert(row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for i in floats:
            if isinstance(values[i], int):
                values[i] = float(values[i])
        for i in bools:
            if values[i] is not None:
                values[i] = bool(values[i])
        return tuple(values)

    return convert


def _read_source(
    conn: sqlite3.Connection, table: SourceTable, types: Sequence[str], batch_rows: int, *, ordered: bool
) -> Iterable[list[tuple[Any, ...]]]:
    convert = _converter(types)
    order = f" ORDER BY {', '.join(quote(k) for k in table.key)}" if ordered else ""
    cur = conn.execute(f"SELECT {', '.join(quote(c) for c in table.columns)} FROM {quote(table.name)}{order}")
    try:
        while batch := cur.fetchmany(batch_rows):
            yield batch if convert is None else [convert(row) for row in batch]
    finally:
        cur.close()


def row_digest(row: Iterable[Any]) -> int:
    return int.from_bytes(hashlib.blake2b(repr(tuple(row)).encode(), digest_size=16).digest(), "big")


def source_digest(
    conn: sqlite3.Connection, table: SourceTable, types: Sequence[str], batch_rows: int = BATCH_ROWS
) -> tuple[int, int]:
    """(rows, digest): the sum of each row's hash, so the order rows come back in (collations differ between
    the engines) does not matter while every row, and how many times it occurs, does."""
    count = digest = 0
    for batch in _read_source(conn, table, types, batch_rows, ordered=False):
        count += len(batch)
        for row in batch:
            digest = (digest + row_digest(row)) & _DIGEST_MASK
    return count, digest


async def target_digest(conn: asyncpg.Connection, table: SourceTable, batch_rows: int = BATCH_ROWS) -> tuple[int, int]:
    count = digest = 0
    query = f"SELECT {', '.join(quote(c) for c in table.columns)} FROM {quote(table.name)}"
    async with conn.transaction(readonly=True):
        async for record in conn.cursor(query, prefetch=batch_rows):
            count += 1
            digest = (digest + row_digest(record.values())) & _DIGEST_MASK
    return count, digest


# -- the target ------------------------------------------------------------------------------------------------


async def _has_rows(conn: asyncpg.Connection, table: str) -> bool:
    return bool(await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {quote(table)})"))


async def _exists(conn: asyncpg.Connection, relation: str) -> bool:
    return await conn.fetchval("SELECT to_regclass($1)", relation) is not None


async def _check_target(conn: asyncpg.Connection, tables: Sequence[SourceTable], source: Path, where: str) -> bool:
    """Refuse a target holding program data this copy did not put there; True when resuming an earlier run."""
    if await _exists(conn, SOURCE):
        earlier = await conn.fetchval(f"SELECT sqlite_path FROM {SOURCE}")
        if earlier is not None and earlier != str(source):
            raise StoreCopyError(
                f"{where} holds an unfinished copy of {earlier}, not of {source}: finish that one, or move into "
                "a new, empty database"
            )
        return True
    if not await _exists(conn, "schema_migrations"):
        return False
    holding = [t.name for t in tables if await _exists(conn, t.name) and await _has_rows(conn, t.name)]
    if holding:
        shown = ", ".join(holding[:5]) + (f" and {len(holding) - 5} more" if len(holding) > 5 else "")
        raise StoreCopyError(
            f"{where} already holds program data ({shown}) that is not from an unfinished copy: move into a new, "
            "empty database (a finished move needs no second run)"
        )
    return False


async def _target_types(conn: asyncpg.Connection, tables: Sequence[SourceTable]) -> dict[str, list[str]]:
    """Each table's PostgreSQL column types in the SQLite column order; refuses when the schemas differ."""
    types: dict[str, list[str]] = {}
    for table in tables:
        rows = await conn.fetch(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1",
            table.name,
        )
        found = {row["column_name"]: row["data_type"] for row in rows}
        if not found:
            raise StoreCopyError(f"table {table.name} exists in SQLite but not in PostgreSQL after migrating")
        missing = [c for c in table.columns if c not in found]
        extra = sorted(set(found) - set(table.columns))
        if missing or extra:
            raise StoreCopyError(
                f"table {table.name} differs between the engines (only in SQLite: {missing or 'none'}; "
                f"only in PostgreSQL: {extra or 'none'})"
            )
        types[table.name] = [found[c] for c in table.columns]
    return types


async def _start(conn: asyncpg.Connection, source: Path, version: int) -> dict[str, tuple[int, float]]:
    """Create the progress schema (once); returns the tables already copied: {name: (rows, seconds)}."""
    async with conn.transaction():
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {PROGRESS_SCHEMA}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SOURCE} (only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),"
            " sqlite_path TEXT NOT NULL, schema_version BIGINT NOT NULL, started_at TEXT NOT NULL)"
        )
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {PROGRESS} (table_name TEXT PRIMARY KEY, rows BIGINT NOT NULL,"
            " seconds DOUBLE PRECISION NOT NULL, copied_at TEXT NOT NULL)"
        )
        await conn.execute(
            f"INSERT INTO {SOURCE} (sqlite_path, schema_version, started_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (only_row) DO NOTHING",
            str(source),
            version,
            _now(),
        )
        rows = await conn.fetch(f"SELECT table_name, rows, seconds FROM {PROGRESS}")
    return {row["table_name"]: (row["rows"], row["seconds"]) for row in rows}


# A table's indexes other than those of its primary key and unique constraints (which foreign keys rely on).
_SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indrelid = $1::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""


async def _copy_table(
    conn: asyncpg.Connection,
    source: sqlite3.Connection,
    table: SourceTable,
    types: Sequence[str],
    batch_rows: int,
    before_commit: BeforeCommit | None,
) -> TableCopied:
    """One table in one transaction: all its rows and its progress row, or nothing."""
    started = time.perf_counter()
    count = 0

    async def records() -> AsyncIterator[tuple[Any, ...]]:
        nonlocal count
        for batch in _read_source(source, table, types, batch_rows, ordered=True):
            count += len(batch)
            for row in batch:
                yield row

    name = quote(table.name)
    try:
        async with conn.transaction():
            if await _has_rows(conn, table.name):
                raise StoreCopyError(
                    f"table {table.name} already holds rows that this copy did not write (was the bot started on "
                    "PostgreSQL?): move into a new, empty database"
                )
            await conn.execute(f"ALTER TABLE {name} DISABLE TRIGGER USER")  # see the module's docstring
            # Secondary indexes are built once after the rows are in, not grown row by row (half the time on a
            # large ledger); dropped and re-created inside the transaction, so a copy cut short keeps them.
            indexes = await conn.fetch(_SECONDARY_INDEXES, name)
            for index in indexes:
                await conn.execute(f"DROP INDEX {index['name']}")
            await conn.copy_records_to_table(table.name, records=records(), columns=list(table.columns))
            await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for index in indexes:
                await conn.execute(index["definition"])
            await conn.execute(f"ALTER TABLE {name} ENABLE TRIGGER USER")
            seconds = time.perf_counter() - started
            await conn.execute(
                f"INSERT INTO {PROGRESS} (table_name, rows, seconds, copied_at) VALUES ($1, $2, $3, $4)",
                table.name,
                count,
                seconds,
                _now(),
            )
            if before_commit is not None:
                await before_commit(table.name)
    except CUT_SHORT as exc:
        raise StoreCopyError(
            f"table {table.name}: the copy was cut short after {count:,} rows ({type(exc).__name__}: {exc}); it was "
            "rolled back and the tables before it are kept: run the command again to carry on"
        ) from exc
    except (asyncpg.PostgresError, ValueError, TypeError) as exc:
        raise StoreCopyError(f"table {table.name}: PostgreSQL refused the copy ({exc}; {count:,} rows read)") from exc
    return TableCopied(table.name, count, seconds)


async def verify(
    conn: asyncpg.Connection,
    source: sqlite3.Connection,
    tables: Sequence[SourceTable],
    types: dict[str, list[str]],
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Every table's row count and row digest equal on both sides; returns the rows compared. Raises naming
    each table that differs."""
    differing: list[str] = []
    compared = 0
    for table in tables:
        want_rows, want = source_digest(source, table, types[table.name], batch_rows)
        got_rows, got = await target_digest(conn, table, batch_rows)
        compared += want_rows
        if want_rows != got_rows:
            differing.append(f"{table.name}: {want_rows:,} rows in SQLite, {got_rows:,} in PostgreSQL")
        elif want != got:
            differing.append(f"{table.name}: {want_rows:,} rows on both sides but their contents differ")
    if differing:
        raise StoreCopyError(
            "the copy does not match the SQLite database:\n  " + "\n  ".join(differing) + "\n"
            "Was the bot run on the SQLite file between two runs of this command? Move into a new, empty database."
        )
    return compared


# -- the whole move --------------------------------------------------------------------------------------------


async def copy_store(
    sqlite_path: Path,
    url: str,
    *,
    migrations: list[Migration] | None = None,
    postgres_migrations: list[Migration] | None = None,
    batch_rows: int = BATCH_ROWS,
    say: Say = print,
    before_commit: BeforeCommit | None = None,
) -> CopyReport:
    """Copy the program at ``sqlite_path`` into the PostgreSQL database at ``url``; see the module's docstring.

    ``migrations`` / ``postgres_migrations`` default to the bundled ones (the newest SQLite migration is the
    version the file must be at); a test may pass the first few."""
    started = time.perf_counter()
    newest = (migrations if migrations is not None else bundled_migrations())[-1].version
    where = without_password(url)
    _must_exist(sqlite_path)  # before the run lock, which would create a lock file beside it
    try:
        with run_lock(sqlite_path):
            source, version, resolved = open_source(sqlite_path, newest)
            try:
                tables = source_tables(source)
                report = CopyReport(where, version)
                await _move(source, resolved, tables, url, report, postgres_migrations, batch_rows, say, before_commit)
            finally:
                source.close()
    except RestoreError as exc:  # the run lock: the bot is running on this file
        raise StoreCopyError(str(exc)) from None
    report.seconds = time.perf_counter() - started
    say(
        f"moved {report.rows:,} rows in {len(report.tables)} tables to {where} in {report.seconds:.1f} s; "
        "every table's rows counted and compared on both sides.\n"
        "Next: set COLLECTIVE_DATABASE__URL to this address (with its password) and start the bot. "
        f"Keep {sqlite_path} as a backup; the bot no longer writes to it."
    )
    return report


async def _move(
    source: sqlite3.Connection,
    sqlite_path: Path,
    tables: list[SourceTable],
    url: str,
    report: CopyReport,
    postgres_migrations: list[Migration] | None,
    batch_rows: int,
    say: Say,
    before_commit: BeforeCommit | None,
) -> None:
    where = report.target
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise StoreCopyError(f"cannot connect to {where}: {exc}") from None
    try:
        await _move_on(conn, source, sqlite_path, tables, report, postgres_migrations, batch_rows, say, before_commit)
    except CUT_SHORT as exc:
        raise StoreCopyError(
            f"lost {where} ({type(exc).__name__}: {exc}); the tables copied so far are kept: run the command again "
            "to carry on"
        ) from exc
    except asyncpg.PostgresError as exc:
        raise StoreCopyError(f"{where}: {type(exc).__name__}: {exc}") from exc
    finally:
        try:
            await conn.close()  # also releases the advisory lock
        except (OSError, asyncpg.InterfaceError):
            conn.terminate()


async def _move_on(
    conn: asyncpg.Connection,
    source: sqlite3.Connection,
    sqlite_path: Path,
    tables: list[SourceTable],
    report: CopyReport,
    postgres_migrations: list[Migration] | None,
    batch_rows: int,
    say: Say,
    before_commit: BeforeCommit | None,
) -> None:
    where = report.target
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", COPY_LOCK):
        raise StoreCopyError(f"another migrate-store is copying into {where}; wait for it to finish")
    resuming = await _check_target(conn, tables, sqlite_path, where)
    await apply_postgres_migrations(
        conn, postgres_migrations if postgres_migrations is not None else bundled_postgres_migrations()
    )
    target_version = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
    if target_version != report.version:
        raise StoreCopyError(
            f"the SQLite database is at schema version {report.version} but this Collective's PostgreSQL "
            f"migrations reach only {target_version}: this version cannot move it (the PostgreSQL twins of the "
            "newer migrations are missing)"
        )
    types = await _target_types(conn, tables)
    done = await _start(conn, sqlite_path, report.version)
    say(
        f"{'resuming the move' if resuming else 'moving'} {sqlite_path} (schema version {report.version}, "
        f"{len(tables)} tables) to {where}"
    )
    for table in tables:
        if table.name in done:
            rows, seconds = done[table.name]
            report.tables.append(TableCopied(table.name, rows, seconds, earlier=True))
            say(f"  {table.name:<28} {rows:>12,} rows  copied by an earlier run")
            continue
        copied = await _copy_table(conn, source, table, types[table.name], batch_rows, before_commit)
        report.tables.append(copied)
        say(f"  {table.name:<28} {copied.rows:>12,} rows  {copied.seconds:8.2f} s")
    report.sequences = len(await sync_identity_sequences(conn))
    say(f"identity sequences moved past the copied ids ({report.sequences} columns)")
    checking = time.perf_counter()
    compared = await verify(conn, source, tables, types, batch_rows)
    say(
        f"verified: {len(tables)} tables, {compared:,} rows, counts and contents equal "
        f"({time.perf_counter() - checking:.1f} s)"
    )
    await conn.execute(f"DROP SCHEMA {PROGRESS_SCHEMA} CASCADE")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
