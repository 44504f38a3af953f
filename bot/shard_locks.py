"""Which process is active for a set of shards: the one holding their advisory locks in PostgreSQL.

A process takes one session-level advisory lock per shard it runs (one lock for "every shard" without a shard
list) on a connection of its own, and keeps that connection for its whole life. PostgreSQL releases the locks
when the session ends — the process exited, was killed, or lost the network — so a standby polling for them
(``--standby``) takes over within a poll of the active one's death, and never while it lives.

The converse matters as much: a process whose lock connection is lost no longer holds its shards (a standby may
already have them), so it must stop at once (``lost``); its supervisor restarts it, as a standby if need be.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from bot.sharding import ShardPlan

log = logging.getLogger("collective")

POLL_SECONDS = 1.0  # a standby's attempts to take the locks
CHECK_SECONDS = 5.0  # the active process makes sure its lock session is alive this often


def lock_keys(plan: ShardPlan) -> list[int]:
    """One signed 64-bit key per shard (PostgreSQL's bigint advisory-lock space), stable across versions."""
    names = (
        ["collective:shard:all"]
        if plan.shard_ids is None
        else [f"collective:shard:{shard}:of:{plan.shard_count}" for shard in plan.shard_ids]
    )
    digests = (hashlib.blake2b(name.encode(), digest_size=8).digest() for name in names)
    return [int.from_bytes(digest, "big", signed=True) for digest in digests]


class ShardLocks:
    """The advisory locks of one shard plan, on a connection kept open while they are held."""

    def __init__(self, url: str, plan: ShardPlan) -> None:
        self._url = url
        self.plan = plan
        self._keys = lock_keys(plan)
        self._conn: asyncpg.Connection | None = None
        self._watch: asyncio.Task[None] | None = None
        self.lost = asyncio.Event()

    async def try_take(self) -> bool:
        """All the plan's locks, or none (those taken are let go when one is held elsewhere)."""
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._url)
        taken: list[int] = []
        for key in self._keys:
            if not await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                for held in taken:
                    await self._conn.fetchval("SELECT pg_advisory_unlock($1)", held)
                return False
            taken.append(key)
        self._conn.add_termination_listener(lambda _conn: self.lost.set())
        self._watch = asyncio.create_task(self._check_alive(), name="shard-locks-watch")
        return True

    async def wait_to_take(self, stopping: Callable[[float], Awaitable[bool]]) -> bool:
        """As a standby: try every ``POLL_SECONDS`` until the locks are ours (True) or a stop is asked (False).
        ``stopping(seconds)`` sleeps and says whether a stop came meanwhile."""
        while True:
            try:
                if await self.try_take():
                    return True
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("standby cannot reach the database (%s); trying again", type(exc).__name__)
                await self._drop()
            if await stopping(POLL_SECONDS):
                return False

    async def _check_alive(self) -> None:
        # The termination listener hears a closed socket; a silent network needs a question with a deadline.
        while not self.lost.is_set():
            await asyncio.sleep(CHECK_SECONDS)
            conn = self._conn
            if conn is None:
                return
            try:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), CHECK_SECONDS)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                self.lost.set()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def release(self) -> None:
        """Closing the session releases every lock it holds."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(OSError, asyncpg.InterfaceError, asyncpg.PostgresError):
                await asyncio.wait_for(conn.close(), 5)
