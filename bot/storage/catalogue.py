"""What tables the store holds and their columns, read from each engine's own catalogue."""

from __future__ import annotations

from bot.db import Database


async def table_columns(db: Database) -> dict[str, list[str]]:
    """Every table of the application's schema (``schema_migrations`` included) and its columns in order."""
    if db.engine == "postgresql":
        rows = await db.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
        found: dict[str, list[str]] = {}
        for table, column in rows:
            found.setdefault(table, []).append(column)
        return found
    tables = await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    )
    return {
        name: [row[1] for row in await db.fetchall(f'PRAGMA table_info("{name}")')]  # cid, name, type, …
        for (name,) in tables
    }
