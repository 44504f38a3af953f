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
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.clock import to_db
from bot.storage.statements import Params, Row, Statements

INLINE_GRACE = timedelta(minutes=2)  # how long the background delivery leaves an inline row to its caller
T = TypeVar("T")
# Work made only of SQL, run in one go (``UnitOfWork.run``, ``Database.run_transaction``): on SQLite it runs
# whole in the writer's thread, so it must await nothing but the ``Statements`` it is given.
BatchWork = Callable[[Statements], Coroutine[Any, Any, T]]


@dataclass(frozen=True)
class TimerKind:
    """A kind of one-off scheduled work: ``name`` is stored in ``timers.kind``; ``label`` is what moderators
    read when it fails ("a scheduled drop"). Declared once, beside the feature that owns it."""

    name: str
    label: str


class EngineConnection(Statements, Protocol):
    """The writer connection of one engine while a transaction is open."""

    async def batch(self, work: BatchWork[T]) -> T:
        """``work`` over this connection, in as few trips as the engine allows."""
        ...


_OUTBOX_INSERT = (
    "INSERT INTO outbox (guild_id, topic, key, payload, available_at, created_at) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (topic, key) DO NOTHING"
)


async def emit_row(
    sql: Statements, guild_id: int, topic: str, stamp: str, payload: dict[str, Any], key: str | None = None
) -> None:
    """``UnitOfWork.emit`` for batch work (webhook batches), which holds only ``Statements``; ``stamp`` is the
    time already formatted for the database."""
    await sql.execute(_OUTBOX_INSERT, (guild_id, topic, key, json.dumps(payload, default=str), stamp, stamp))


class UnitOfWork:
    """The writer connection while a transaction is open, plus what must follow its commit."""

    def __init__(self, conn: EngineConnection) -> None:
        self._conn = conn
        self.engine = conn.engine
        self.emitted = 0  # outbox rows written: the outbox is woken after commit
        self.timers_changed = False  # the scheduler re-arms after commit

    # -- SQL ---------------------------------------------------------------------------------------------

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement; how many rows it changed."""
        return await self._conn.execute(sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """One ``INSERT`` of one row; the new row's id."""
        return await self._conn.insert(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._conn.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._conn.fetchall(sql, params)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        return await self._conn.fetchval(sql, params)

    async def run(self, work: BatchWork[T]) -> T:
        """``work`` — SQL only — in one go inside this transaction.

        On SQLite one thread hop for many statements instead of one per statement (the hops, not SQLite, were
        most of a webhook delivery's time). ``work`` must not commit, roll back or open a transaction itself.
        """
        self.emitted += 1  # batch work may write outbox rows (emit_row): wake the outbox to be sure
        return await self._conn.batch(work)

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
        changed = await self.execute(
            "UPDATE timers SET due_at = ?, retry_at = NULL WHERE guild_id = ? AND kind = ? AND key = ?"
            " AND status = 'pending'",
            (to_db(due_at), guild_id, kind.name, key),
        )
        self.timers_changed = True
        return changed == 1

    async def cancel_timer(self, guild_id: int, kind: TimerKind, key: str, now: datetime) -> bool:
        changed = await self.execute(
            "UPDATE timers SET status = 'cancelled', finished_at = ? WHERE guild_id = ? AND kind = ?"
            " AND key = ? AND status = 'pending'",
            (to_db(now), guild_id, kind.name, key),
        )
        return changed == 1
