"""Group commit for webhook deliveries: one writer task, many deliveries per transaction, each answered after it.

Request handlers verify and parse, then ``await writer.submit(delivery)``. A single task takes everything queued
(up to ``MAX_BATCH``), and records it in one transaction run in the database writer's thread in a single hop:

    BEGIN IMMEDIATE
      SAVEPOINT batch; <delivery 1>; <delivery 2>; ...; RELEASE batch
    COMMIT

and only if a delivery raises, the batch is rolled back to its savepoint and written again one savepoint per
delivery (SAVEPOINT delivery; <delivery>; RELEASE — or ROLLBACK TO: only that one is undone).

Each delivery is still deduped by its own event id and order id (inside the batch too: they run in order), and
its handler resumes only after the COMMIT that holds it — a 200 is never sent for something not yet durable. A
delivery that fails (a bad refund, an unknown server) is rolled back to its savepoint and answered on its own;
the others commit. If the COMMIT itself fails, every delivery in the batch gets the error (500; the shop retries).

Why: one transaction per delivery meant a BEGIN/COMMIT and a dozen aiosqlite thread hops each, behind one
writer lock — about 6 ms a delivery whatever the load. Batching amortises the commit and the hop; with nothing
queued a delivery is written alone at once, so a quiet shop waits for nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from bot.db import Database
from bot.services.sales.ledger import Delivery, Lookups, RecordResult, ingest_delivery
from bot.services.sales.payloads import RefundIn
from bot.storage.statements import Statements, TransactionAbandoned, savepoint

log = logging.getLogger(__name__)

MAX_BATCH = 100  # bounds how long one transaction holds the writer (about 0.1–0.3 ms a delivery)


@dataclass
class _Pending:
    delivery: Delivery
    answer: asyncio.Future[RecordResult] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def lock_order(delivery: Delivery) -> tuple[int, int, str]:
    """Where a delivery goes in its batch: by server, orders before refunds, then by code (an order's sale locks
    its ambassador's totals rows) or refunded order. Two processes writing batches at once (several webhook
    receivers over one PostgreSQL) then take the rows they share in the same order, and do not deadlock."""
    item = delivery.item
    if isinstance(item, RefundIn):
        return (delivery.guild_id or 0, 1, item.order_id)
    return (delivery.guild_id or 0, 0, item.codes[0] if item.codes else "")


async def write_batch(sql: Statements, deliveries: list[Delivery]) -> list[RecordResult | Exception]:
    """Record the deliveries inside the caller's open transaction (batch work), each failure on its own; the
    outcomes in the order given. They are written in ``lock_order`` (stable: a delivery repeated in the batch, or
    another of the same order, keeps its place after the first).

    Deliveries almost never fail, so the batch is first written under one savepoint; only if one raises is it
    undone and written again with a savepoint per delivery (two statements each, a tenth of a delivery's work).
    If the engine abandoned the whole transaction (disk full, I/O error, a conflict another process won),
    nothing here is durable: that raises.
    """
    order = sorted(range(len(deliveries)), key=lambda n: lock_order(deliveries[n]))
    written = dict(zip(order, await _write_in_order(sql, [deliveries[n] for n in order]), strict=True))
    return [written[n] for n in range(len(deliveries))]


async def _write_in_order(sql: Statements, deliveries: list[Delivery]) -> list[RecordResult | Exception]:
    try:
        async with savepoint(sql, "batch"):
            lookups = Lookups(sql)
            fast: list[RecordResult | Exception] = [
                await ingest_delivery(sql, delivery, lookups) for delivery in deliveries
            ]
    except TransactionAbandoned:
        raise
    except Exception:
        return await _write_one_by_one(sql, deliveries)
    return fast


async def _write_one_by_one(sql: Statements, deliveries: list[Delivery]) -> list[RecordResult | Exception]:
    lookups = Lookups(sql)
    outcomes: list[RecordResult | Exception] = []
    for delivery in deliveries:
        try:
            async with savepoint(sql, "delivery"):
                outcomes.append(await ingest_delivery(sql, delivery, lookups))
        except TransactionAbandoned:
            raise
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def _log_death(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the webhook writer stopped", exc_info=task.exception())


class DeliveryWriter:
    """The single task that writes webhook deliveries in batches; ``submit`` returns after commit."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()  # None: finish what is queued, then stop
        self._task: asyncio.Task[None] | None = None
        self.largest_batch = 0  # for tests and /status-style curiosity

    async def submit(self, delivery: Delivery) -> RecordResult:
        """Record one delivery; returns once the transaction holding it committed, or raises its error."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="webhook-writer")
            self._task.add_done_callback(_log_death)  # restarted by the next submit; its reason must not vanish
        pending = _Pending(delivery)
        self._queue.put_nowait(pending)
        # A client that hangs up cancels this wait (and so the future), not the delivery: it is written anyway,
        # and the shop's retry is then a duplicate.
        return await pending.answer

    async def close(self) -> None:
        """Write whatever is queued, then stop (call once no handler can submit any more)."""
        if self._task is None or self._task.done():
            return
        self._queue.put_nowait(None)
        await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < self.max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self._write(batch)
            if stopping:
                return

    async def _write(self, batch: list[_Pending]) -> None:
        deliveries = [pending.delivery for pending in batch]
        self.largest_batch = max(self.largest_batch, len(batch))
        try:
            outcomes = await self.db.run_transaction(lambda sql: write_batch(sql, deliveries), emits=True)
        except Exception as exc:
            log.exception("webhook batch of %d could not be committed", len(batch))
            outcomes = [exc] * len(batch)
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.answer.done():
                continue  # its request was cancelled
            if isinstance(outcome, Exception):
                pending.answer.set_exception(outcome)
            else:
                pending.answer.set_result(outcome)
