"""Delivers the outbox: what a committed unit of work said must follow it (``UnitOfWork.emit``).

Subscribers register per topic under a stable name (``subscribe(topic, name, handler)``; ``unsubscribe`` on
unload, so extensions reload). After a commit the database wakes the dispatcher, which delivers due rows
in id order: each row is claimed (``pending`` → ``running``), handed to every subscriber that has not yet
taken it (``delivered_to`` remembers who has, so a retry never repeats a subscriber that succeeded), and
marked ``done``. A failing subscriber is retried with backoff and, after ``max_attempts``, the row is marked
``failed`` and logged. Rows of a topic with no subscriber wait (a cog being reloaded picks them up).

Exactly once: a crash after the commit leaves the row ``pending`` (delivered on the next start); a crash in
the middle of a delivery leaves it ``running`` under this process's lease (``bot/claims.py``), which the next
owner of the server turns back into ``pending`` with ``attempt > 1`` — subscribers that act on Discord make that
retry harmless (``bot/posting.py``).

Several processes: each delivers only its servers' rows (``Claimant.plan``), and any process may write them — a
webhook received by another shard or by the webhook tier wakes the owner through PostgreSQL's NOTIFY.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.claims import Claimant, release_outbox_orphans
from bot.clock import Clock, from_db, to_db
from bot.db import Database, Wake
from bot.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxItem:
    id: int
    guild_id: int
    topic: str
    key: str | None
    payload: dict[str, Any]
    attempt: int  # 1 on the first delivery; more after a failure or a crash
    created_at: datetime


class RetryLater(Exception):
    """A subscriber's expected, passing failure (the shop is down): retried with backoff like any failure, logged as
    one line without a traceback. When the outbox gives up, the subscriber's own state must still say what is
    owed (a code push stays ``pending`` and its retry loop takes over)."""


Subscriber = Callable[[OutboxItem], Awaitable[Any]]  # what it returns reaches a ``deliver_now`` caller


class Outbox:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        max_attempts: int = 8,
        retry_delay: timedelta = timedelta(seconds=10),
        batch: int = 100,
        claimant: Claimant | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self.claimant = claimant or Claimant()
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._batch = batch
        self._subscribers: dict[str, dict[str, Subscriber]] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        db.commit_listeners.append(self._on_commit)
        db.wake_listeners.append(self._on_wake)

    # -- registration ----------------------------------------------------------------------------------

    def subscribe(self, topic: str, name: str, handler: Subscriber) -> None:
        handlers = self._subscribers.setdefault(topic, {})
        if name in handlers:
            raise ValueError(f"outbox subscriber {name!r} registered twice for {topic!r}")
        handlers[name] = handler
        self._wake.set()  # rows that waited for this subscriber are due now

    def unsubscribe(self, topic: str, name: str) -> None:
        handlers = self._subscribers.get(topic, {})
        handlers.pop(name, None)
        if not handlers:
            self._subscribers.pop(topic, None)

    def topics(self) -> list[str]:
        return sorted(self._subscribers)

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover deliveries cut off by a crash, then deliver in the background until ``stop``."""
        await release_outbox_orphans(self._db, self.claimant)
        self._stopping = False
        self._wake.set()
        self._task = asyncio.create_task(self._loop(), name="outbox")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            try:
                await asyncio.wait_for(task, timeout=10)
            except TimeoutError:
                log.warning("outbox delivery did not finish in 10 s; the rest is delivered on the next start")
            except Exception:
                log.exception("the outbox loop failed")
        if self._on_commit in self._db.commit_listeners:
            self._db.commit_listeners.remove(self._on_commit)
        if self._on_wake in self._db.wake_listeners:
            self._db.wake_listeners.remove(self._on_wake)

    def _on_wake(self, what: Wake) -> None:
        if what == "outbox":  # another process wrote rows; ours are selected by the loop
            self._wake.set()

    def _on_commit(self, uow: UnitOfWork | None) -> None:
        if uow is None or uow.emitted:
            self._wake.set()

    async def drain(self, within: float = 10.0) -> None:
        """Wait until nothing deliverable is due (tests and the demo: "the side effects have happened")."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            if not await self.due_count():
                return
            self._idle.clear()
            self._wake.set()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"the outbox still has {await self.due_count()} due deliveries")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout=min(remaining, 0.5))

    async def due_count(self) -> int:
        topics = self.topics()
        if not topics:
            return 0
        marks = ",".join("?" for _ in topics)
        return int(
            await self._db.fetchval(
                f"SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'running') AND available_at <= ?"
                f" AND topic IN ({marks}) AND {self.claimant.owned()}",
                (to_db(self._clock.now()), *topics),
            )
        )

    # -- delivering ------------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                delivered = await self.deliver_due()
            except Exception:
                log.exception("outbox delivery pass failed")
                delivered = 0
            if delivered:
                continue  # more may be due: a full batch, or rows emitted while we delivered
            self._idle.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=await self._next_delay())

    async def _next_delay(self) -> float:
        topics = self.topics()
        if not topics:
            return 60.0
        marks = ",".join("?" for _ in topics)
        value = await self._db.fetchval(
            f"SELECT MIN(available_at) FROM outbox WHERE status = 'pending' AND topic IN ({marks})"
            f" AND {self.claimant.owned()}",
            tuple(topics),
        )
        if value is None:
            return 60.0
        # The clock may not be the system's (demo, tests): wait by the difference on ours, at most a minute.
        return min(max((from_db(value) - self._clock.now()).total_seconds(), 0.05), 60.0)

    async def deliver_due(self) -> int:
        """Deliver every due row of a subscribed topic, oldest first. Returns how many were attempted."""
        topics = self.topics()
        if not topics:
            return 0
        marks = ",".join("?" for _ in topics)
        now = to_db(self._clock.now())
        rows = await self._db.fetchall(
            f"""SELECT * FROM outbox
                WHERE ((status = 'pending' AND available_at <= ?)
                       OR (status = 'running' AND lease_until < ? AND COALESCE(claimed_by, '') <> ?))
                  AND topic IN ({marks}) AND {self.claimant.owned()}
                ORDER BY id LIMIT ?""",
            (now, now, self.claimant.holder, *topics, self._batch),
        )
        attempted = 0
        for row in rows:
            if self._stopping:
                break
            if not await self._claim(row["id"]):
                continue
            attempted += 1
            await self._deliver(row)
        return attempted

    async def _claim(self, row_id: int) -> bool:
        """Take the row: pending, or running under a lease another process stopped renewing."""
        now = self._clock.now()
        holder = self.claimant.holder
        claimed = await self._db.execute(
            """UPDATE outbox SET status = 'running', attempts = attempts + 1, claimed_by = ?, lease_until = ?
               WHERE id = ? AND (status = 'pending'
                                 OR (status = 'running' AND lease_until < ? AND COALESCE(claimed_by, '') <> ?))""",
            (holder, self.claimant.lease_until(now), row_id, to_db(now), holder),
        )
        return bool(claimed)

    async def deliver_now(self, topic: str, key: str) -> dict[str, Any] | None:
        """Deliver the row ``(topic, key)`` in this task, right after the commit that wrote it (``emit(...,
        inline=True)``), returning each subscriber's result by name; None when it is not pending any more (the
        background delivery took it) or a subscriber failed (it is retried in the background)."""
        row = await self._db.fetchone("SELECT * FROM outbox WHERE topic = ? AND key = ?", (topic, key))
        if row is None or row["status"] != "pending" or not await self._claim(row["id"]):
            return None
        return await self._deliver(row)

    async def _deliver(self, row: Any) -> dict[str, Any] | None:
        item = OutboxItem(
            id=row["id"],
            guild_id=row["guild_id"],
            topic=row["topic"],
            key=row["key"],
            payload=json.loads(row["payload"]),
            attempt=row["attempts"] + 1,
            created_at=from_db(row["created_at"]),
        )
        delivered: list[str] = json.loads(row["delivered_to"])
        results: dict[str, Any] = {}
        error: Exception | None = None
        for name, handler in list(self._subscribers.get(item.topic, {}).items()):
            if name in delivered:
                continue
            try:
                results[name] = await handler(item)
            except RetryLater as exc:
                log.warning(
                    "outbox %s #%d: %s will retry (attempt %d): %s", item.topic, item.id, name, item.attempt, exc
                )
                error = exc
                continue
            except Exception as exc:
                log.error(
                    "outbox %s #%d: %s failed (attempt %d)", item.topic, item.id, name, item.attempt, exc_info=exc
                )
                error = exc
                continue
            delivered.append(name)
        now = self._clock.now()
        if error is None:
            await self._db.execute(
                "UPDATE outbox SET status = 'done', delivered_to = ?, finished_at = ?, last_error = NULL,"
                " claimed_by = NULL, lease_until = NULL WHERE id = ?",
                (json.dumps(delivered), to_db(now), item.id),
            )
        elif item.attempt >= self._max_attempts:
            await self._db.execute(
                "UPDATE outbox SET status = 'failed', delivered_to = ?, finished_at = ?, last_error = ?,"
                " claimed_by = NULL, lease_until = NULL WHERE id = ?",
                (json.dumps(delivered), to_db(now), repr(error)[:500], item.id),
            )
            level = logging.WARNING if isinstance(error, RetryLater) else logging.ERROR
            log.log(level, "outbox %s #%d gave up after %d attempts", item.topic, item.id, item.attempt)
        else:
            retry_at = now + self._retry_delay * (2 ** (item.attempt - 1))
            await self._db.execute(
                "UPDATE outbox SET status = 'pending', delivered_to = ?, available_at = ?, last_error = ?,"
                " claimed_by = NULL, lease_until = NULL WHERE id = ?",
                (json.dumps(delivered), to_db(retry_at), repr(error)[:500], item.id),
            )
        return results if error is None else None
