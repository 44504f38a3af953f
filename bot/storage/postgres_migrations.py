"""PostgreSQL's migrations (``migrations/postgresql``): finding them and applying them with asyncpg.

Each file is the twin of SQLite's migration with the same number and name (tests/unit/test_schema_parity.py
keeps the two schemas equal). The version applied is kept in ``schema_migrations`` as on SQLite; each migration
runs in its own transaction, under an advisory lock so two processes starting at once apply it once.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from bot.db import Migration, bundled_migrations
from bot.errors import DatabaseTooNew

PACKAGE = "migrations.postgresql"
# pg_advisory_lock key held while migrating (the same key as bot/storage/postgres_engine.py).
MIGRATION_LOCK = 0x636F6C6C  # "coll"


def bundled_postgres_migrations() -> list[Migration]:
    """The numbered SQL files shipped in ``migrations/postgresql``, in order."""
    return bundled_migrations(PACKAGE)


async def apply_postgres_migrations(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply the pending migrations in order, each in one transaction; returns the names of those applied.

    ``migrations`` defaults to the bundled ones (a test may pass the first few). Raises ``DatabaseTooNew`` when
    the database is at a version this Collective does not know.
    """
    known = bundled_postgres_migrations() if migrations is None else migrations
    newest_known = known[-1].version if known else 0
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        current = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
        if current > newest_known:
            raise DatabaseTooNew(
                f"the PostgreSQL database is at schema version {current} but this Collective knows only up to "
                f"{newest_known}; upgrade Collective or restore an older backup"
            )
        for migration in known:
            if migration.version <= current:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)  # no arguments: the simple protocol runs every statement
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                )
            applied.append(migration.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied


async def sync_identity_sequences(conn: asyncpg.Connection) -> dict[str, int]:
    """Move every identity column's sequence past the largest id in its table; returns ``{table.column: next}``.

    SQLite picks ``max(id) + 1`` for a new row; PostgreSQL's identity takes the sequence's next value, which
    rows inserted with explicit ids (a copy from SQLite, the bench generator, some tests) do not advance.
    Call this after such inserts.
    """
    rows = await conn.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name"
    )
    moved: dict[str, int] = {}
    for row in rows:
        table, column = row["table_name"], row["column_name"]
        highest = await conn.fetchval(f'SELECT MAX("{column}") FROM "{table}"')
        sequence = await conn.fetchval("SELECT pg_get_serial_sequence($1, $2)", f'"{table}"', column)
        if highest is None:
            await conn.execute("SELECT setval($1, 1, false)", sequence)
            moved[f"{table}.{column}"] = 1
        else:
            await conn.execute("SELECT setval($1, $2, true)", sequence, int(highest))
            moved[f"{table}.{column}"] = int(highest) + 1
    return moved
