"""The test's window into a bot's database from outside the bot's process, on either engine.

The same SQL (SQLite's form, ``?`` placeholders) reads a SQLite file or a PostgreSQL database: SQLite through a
short-lived sqlite3 connection per query (WAL lets it read while the bot writes), PostgreSQL through the bot's own
engine, which translates placeholders and reads sums back as ``int`` as SQLite gives them. Rows come back as plain
tuples on both, so a test compares them with ``==`` whatever the engine.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from bot.db import is_postgres_url
from bot.storage.postgres_engine import PostgresDatabase


class StoreReader:
    """Open with ``async with StoreReader(target) as store``; ``target`` is a SQLite path or a PostgreSQL address."""

    def __init__(self, target: Path | str) -> None:
        self.target = target
        self.engine = "postgresql" if is_postgres_url(target) else "sqlite"
        self._postgres: PostgresDatabase | None = None

    async def __aenter__(self) -> StoreReader:
        if self.engine == "postgresql":
            # Two connections: the test reads while it waits; the bots under test need the server's slots more.
            self._postgres = await PostgresDatabase.connect(str(self.target), pool_size=2)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._postgres is not None:
            await self._postgres.close()
            self._postgres = None

    async def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        if self.engine == "sqlite":
            conn = sqlite3.connect(self.target, timeout=5)
            try:
                return list(conn.execute(sql, params).fetchall())
            finally:
                conn.close()
        assert self._postgres is not None, "use StoreReader inside `async with`"
        return [tuple(row) for row in await self._postgres.fetchall(sql, params)]

    async def scalar(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        rows = await self.query(sql, params)
        return rows[0][0] if rows else None

    async def count(self, sql: str, params: tuple[object, ...] = ()) -> int:
        """``SELECT COUNT(*) …`` (or any integer) as an ``int``; 0 for no row or NULL."""
        return int(await self.scalar(sql, params) or 0)

    async def holds(self, sql: str, params: tuple[object, ...] = ()) -> bool:
        """Whether the first column of the first row is truthy (``until(lambda: store.holds(…))`` polls it)."""
        return bool(await self.scalar(sql, params))
