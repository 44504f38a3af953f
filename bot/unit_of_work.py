"""One unit of work: the change and everything that must follow it, committed together.

A ``UnitOfWork`` is the writer connection while a transaction is open (``Database.transaction()`` yields
one). Besides SQL it carries what must happen after the commit, written into the same transaction so that
a rollback drops it and a crash after the commit cannot lose it:

- ``emit``: an outbox row — a domain event or outbound work — delivered by ``bot/outbox.py`` after commit,
  exactly once per subscriber, also after a restart;
- ``schedule`` / ``reschedule`` / ``cancel_timer``: durable timers (``timers`` table) run by ``bot/scheduler.py``.

Services take a unit of work from their caller and never open their own. This module knows nothing of
Discord: payloads are plain JSON.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiosqlite

from bot.clock import to_db

Params = Sequence[Any] | dict[str, Any]
INLINE_GRACE = timedelta(minutes=2)  # how long the background delivery leaves an inline row to its caller
T = TypeVar("T")


@dataclass(frozen=True)
class TimerKind:
    """A kind of one-off scheduled work: ``name`` is stored in ``timers.kind``; ``label`` is what moderators
    read when it fails ("a scheduled drop"). Declared once, beside the feature that owns it."""

    name: str
    label: str


async def fetch(conn: aiosqlite.Connection, sql: str, params: Params, *, one: bool) -> Any:
    """Execute, fetch and close in one trip to the connection's thread (aiosqlite's cursor API takes three:
    under a burst of interactions those waits for the event loop, not SQLite, were most of a query's time)."""

    def work() -> Any:
        cur = conn._conn.execute(sql, params)
        try:
            return cur.fetchone() if one else cur.fetchall()
        finally:
            cur.close()

    return await conn._execute(work)


_OUTBOX_INSERT = (
    "INSERT INTO outbox (guild_id, topic, key, payload, available_at, created_at) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (topic, key) DO NOTHING"
)


def emit_sync(
    conn: sqlite3.Connection, guild_id: int, topic: str, stamp: str, payload: dict[str, Any], key: str | None = None
) -> None:
    """``UnitOfWork.emit`` for work that runs as plain sqlite3 calls in the writer's thread (webhook batches);
    ``stamp`` is the time already formatted for the database."""
    conn.execute(_OUTBOX_INSERT, (guild_id, topic, key, json.dumps(payload, default=str), stamp, stamp))


class UnitOfWork:
    """The writer connection while a transaction is open, plus what must follow its commit."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self.emitted = 0  # outbox rows written: the outbox is woken after commit
        self.timers_changed = False  # the scheduler re-arms after commit

    # -- SQL ---------------------------------------------------------------------------------------------

    async def execute(self, sql: str, params: Params = ()) -> aiosqlite.Cursor:
        return await self._conn.execute(sql, params)

    async def change(self, sql: str, params: Params = ()) -> int:
        """One statement; how many rows it changed."""
        cur = await self._conn.execute(sql, params)
        count = cur.rowcount
        await cur.close()
        return count

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await fetch(self._conn, sql, params, one=True)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await fetch(self._conn, sql, params, one=False)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(conn)`` — plain sqlite3 calls — in the writer's thread, inside this transaction.

        One thread hop for many statements instead of one per statement (the hops, not SQLite, were most of
        a webhook delivery's time). ``work`` must not commit, roll back or open a transaction itself.
        """
        conn = self._conn
        self.emitted += 1  # plain-sqlite work may write outbox rows (emit_sync): wake the outbox to be sure
        # aiosqlite has no public "call this in your thread"; _execute is what its own methods use.
        result: T = await conn._execute(lambda: work(conn._conn))
        return result

    # -- what follows the commit -------------------------------------------------------------------------

    async def emit(
        self,
        guild_id: int,
        topic: str,
        now: datetime,
        payload: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        inline: bool = False,
    ) -> None:
        """Deliver ``payload`` to the subscribers of ``topic`` after commit (once per ``(topic, key)`` if keyed).

        ``inline``: the caller delivers it itself right after the commit (``Outbox.deliver_now``), to answer with
        what happened; the background delivery waits ``INLINE_GRACE`` first, so it only steps in when the caller
        could not (a crash between the commit and the delivery)."""
        available = now + INLINE_GRACE if inline else now
        await self.execute(
            _OUTBOX_INSERT,
            (guild_id, topic, key, json.dumps(payload or {}, default=str), to_db(available), to_db(now)),
        )
        self.emitted += 1

    async def schedule(
        self,
        guild_id: int,
        kind: TimerKind,
        key: str,
        due_at: datetime,
        now: datetime,
        payload: dict[str, Any] | None = None,
        *,
        move_pending: bool = False,
    ) -> int:
        """A durable timer, unless one with this (guild, kind, key) exists; returns its id. ``move_pending``: a
        pending one is moved to ``due_at`` (an edited due date, a poll closed early)."""
        if move_pending:
            await self.reschedule(guild_id, kind, key, due_at)
        await self.execute(
            """INSERT INTO timers (guild_id, kind, key, due_at, payload, created_at)
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, kind, key) DO NOTHING""",
            (guild_id, kind.name, key, to_db(due_at), json.dumps(payload or {}), to_db(now)),
        )
        self.timers_changed = True
        return int(
            await self.fetchval(
                "SELECT id FROM timers WHERE guild_id = ? AND kind = ? AND key = ?", (guild_id, kind.name, key)
            )
        )

    async def reschedule(self, guild_id: int, kind: TimerKind, key: str, due_at: datetime) -> bool:
        """Move a pending timer (an edited due date). Returns False when there is none pending."""
        cur = await self.execute(
            "UPDATE timers SET due_at = ?, retry_at = NULL WHERE guild_id = ? AND kind = ? AND key = ?"
            " AND status = 'pending'",
            (to_db(due_at), guild_id, kind.name, key),
        )
        self.timers_changed = True
        return cur.rowcount == 1

    async def cancel_timer(self, guild_id: int, kind: TimerKind, key: str, now: datetime) -> bool:
        cur = await self.execute(
            "UPDATE timers SET status = 'cancelled', finished_at = ? WHERE guild_id = ? AND kind = ?"
            " AND key = ? AND status = 'pending'",
            (to_db(now), guild_id, kind.name, key),
        )
        return cur.rowcount == 1
