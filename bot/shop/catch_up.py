"""The catch-up: orders the shop holds that the webhooks did not bring (the bot was down longer than the shop's
retries), read back through the shop's API into the same ledger, each counted once.

``catch_up`` reads from the connection's cursor (minus ``OVERLAP``) up to now minus ``SETTLE``, page by page. Each
page is one unit of work: every order through the ledger's ``record_order`` (with its refunds), and the cursor
moved to the page's ``reached`` — so a crash or a shop gone away mid-run resumes from the last committed page,
and what is read twice (the overlap, a page re-read after a crash, an order a webhook delivered too) is a
duplicate to the ledger, never a second sale. No transaction is open while the shop is being read.

The first run of a new connection is the 60-day backfill: ``record_connection`` starts the cursor at the
connection's time minus 60 days, as far back as Shopify lets an app read without ``read_all_orders``; the run
that reaches the end marks it done.

``CatchUpRuns`` is what the scheduler calls (cogs/shop/catch_up.py): one run per server at a time, and the shop's
failures turned into what moderators and the operator should hear.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.db import Database
from bot.services.sales import ledger
from bot.services.sales.payloads import OrderIn, PayloadError
from bot.services.shop.connection import BACKFILL_WINDOW, advance_cursor, get_connection, record_problem
from bot.shop.connector import ShopConnector
from bot.shop.errors import ShopError, ShopUnavailable
from bot.storage.statements import Statements, savepoint
from bot.text import plural

log = logging.getLogger(__name__)

# Shopify orders by updated_at, but an order saved a moment before another can reach the search index after
# it, and the shop's clock is not ours: each run re-reads the last ten minutes before the cursor (duplicates to
# the ledger) and leaves the last two minutes for the next run, so changes still settling are read when done.
OVERLAP = timedelta(minutes=10)
SETTLE = timedelta(minutes=2)

# The ledger's source for a sale the catch-up recorded. ``sales.source`` is CHECKed to webhook/csv/manual, and
# SQLite cannot change a CHECK without rebuilding ``sales`` with its indexes and the read-model triggers of
# migrations 0008/0009 — a large migration for a label. The catch-up reads the very order records Shopify's
# webhooks carry, parsed to the same values, so it records them as the webhook path would have.
SOURCE: ledger.Source = "webhook"

Progress = Callable[[int, int, datetime], Awaitable[None] | None]  # (pages done, orders read, read up to)


@dataclass
class CatchUpReport:
    guild_id: int
    since: datetime
    until: datetime
    backfill: bool  # this run reads (part of) the connection's 60-day backfill
    unreadable_before: datetime | None = None  # the cursor was older than the shop lets us read: a gap
    pages: int = 0
    orders_read: int = 0
    sales_recorded: int = 0
    duplicates: int = 0  # sales the ledger held already (a webhook brought them, or an earlier run)
    refunds_recorded: int = 0
    not_attributed: int = 0  # no ambassador's code, or not paid (yet)
    refused: list[str] = field(default_factory=list)  # orders the ledger refused, with why
    reached: datetime | None = None
    finished: bool = False

    def describe(self) -> str:
        what = "backfill" if self.backfill else "catch-up"
        upto = f", up to {self.reached:%Y-%m-%d %H:%M} UTC" if self.reached else ""
        text = (
            f"{what}: {plural(self.pages, 'page')}, {plural(self.orders_read, 'order')} read{upto}; "
            f"{plural(self.sales_recorded, 'sale')} and {plural(self.refunds_recorded, 'refund')} recorded, "
            f"{self.duplicates} already known"
        )
        if self.refused:
            text += f", {len(self.refused)} refused ({'; '.join(self.refused[:3])})"
        return text


@dataclass
class _Tally:
    sales: int = 0
    duplicates: int = 0
    refunds: int = 0
    not_attributed: int = 0
    refused: list[str] = field(default_factory=list)


async def record_page(sql: Statements, guild_id: int, orders: list[OrderIn], now: datetime) -> _Tally:
    """Every order of a page through the ledger, in the caller's transaction (batch work).

    The page is written under one savepoint; only if the ledger refuses an order (a refund in another currency
    than its sale) is it undone and written again one savepoint per order, so the others are kept and the
    refused one is reported — as the webhook writer answers such a delivery on its own.
    """
    try:
        async with savepoint(sql, "catch_up_page"):
            return await _record(sql, guild_id, orders, now, one_by_one=False)
    except PayloadError:
        return await _record(sql, guild_id, orders, now, one_by_one=True)


async def _record(sql: Statements, guild_id: int, orders: list[OrderIn], now: datetime, *, one_by_one: bool) -> _Tally:
    lookups = ledger.Lookups(sql)
    settings = await lookups.sales_settings(guild_id)
    tally = _Tally()
    for order in orders:
        try:
            if one_by_one:
                async with savepoint(sql, "catch_up_order"):
                    result = await ledger.record_order(
                        sql, guild_id, order, source=SOURCE, now=now, settings=settings, lookups=lookups
                    )
            else:
                result = await ledger.record_order(
                    sql, guild_id, order, source=SOURCE, now=now, settings=settings, lookups=lookups
                )
        except PayloadError as exc:
            if not one_by_one:
                raise
            tally.refused.append(f"order {order.order_name or order.order_id}: {exc}")
            continue
        if result.outcome == "recorded":
            tally.sales += 1
        elif result.outcome == "duplicate":
            tally.duplicates += 1
        elif result.outcome != "test":
            tally.not_attributed += 1
        tally.refunds += sum(1 for event in result.events if event.name == "refund_recorded")
    return tally


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


async def catch_up(
    db: Database, connector: ShopConnector, guild_id: int, now: datetime, *, progress: Progress | None = None
) -> CatchUpReport:
    """Read what changed in the shop since the cursor into the ledger; see the module's docstring."""
    connection = await get_connection(db, guild_id)
    if connection is None:
        raise LookupError(f"no shop connection is recorded for server {guild_id}")
    oldest = now - BACKFILL_WINDOW  # Shopify serves no older orders without read_all_orders
    cursor = connection.orders_cursor or oldest
    since = _second(max(cursor - OVERLAP, oldest))
    until = _second(now - SETTLE)
    report = CatchUpReport(guild_id, since, until, backfill=connection.backfill_done_at is None)
    if cursor < oldest - OVERLAP:
        report.unreadable_before = since
        log.warning(
            "shop catch-up for server %s: orders changed between %s and %s are older than the shop lets an app "
            "read (60 days) and are not caught up; import them from an orders export (/codes import)",
            guild_id, f"{cursor:%Y-%m-%d %H:%M}", f"{since:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    if until <= since:
        return report
    pages = connector.orders_changed(since, until)
    try:
        async for page in pages:  # each page is read from the shop here, outside any transaction
            reached = min(page.reached, until)
            finished = reached >= until
            orders = page.orders
            async with db.transaction() as tx:
                tally = await tx.run(lambda sql: record_page(sql, guild_id, orders, now))  # noqa: B023 — awaited here
                await advance_cursor(tx, guild_id, reached, now, finished=finished)
            report.pages += 1
            report.orders_read += len(page.orders)
            report.sales_recorded += tally.sales
            report.duplicates += tally.duplicates
            report.refunds_recorded += tally.refunds
            report.not_attributed += tally.not_attributed
            report.refused += tally.refused
            report.reached, report.finished = reached, finished
            for refused in tally.refused:
                log.warning("shop catch-up for server %s: the ledger refused %s", guild_id, refused)
            if progress is not None:
                shown = progress(report.pages, report.orders_read, reached)
                if inspect.isawaitable(shown):
                    await shown
    finally:
        close = getattr(pages, "aclose", None)
        if close is not None:
            await close()
    if not report.finished:  # a connector that ended without a last page: nothing more changed
        async with db.transaction() as tx:
            await advance_cursor(tx, guild_id, until, now, finished=True)
        report.reached, report.finished = until, True
    return report


class CatchUpRuns:
    """One catch-up per server at a time, and what a failure means for whom.

    - ``ShopUnavailable`` (down, 5xx, throttled for too long): logged; the next run covers the same ground.
    - any other ``ShopError`` (a refused token, a missing scope, an order that cannot be read): recorded as the
      connection's problem, which moderators hear about once; the next run tries again.
    A run that succeeds clears the problem it recorded itself (a problem another part of the bot recorded, a
    scope only code pushes need, is not the catch-up's to clear).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._locks: dict[int, asyncio.Lock] = {}
        self._problems: dict[int, str] = {}  # the problem each server's catch-up recorded, in this process

    def running(self, guild_id: int) -> bool:
        lock = self._locks.get(guild_id)
        return lock is not None and lock.locked()

    async def run(
        self, connector: ShopConnector, guild_id: int, now: datetime, *, progress: Progress | None = None
    ) -> CatchUpReport | None:
        """A catch-up unless one is running for this server already (then None); shop failures are handled
        here (then None), anything else raises."""
        lock = self._locks.setdefault(guild_id, asyncio.Lock())
        if lock.locked():
            return None
        async with lock:
            try:
                report = await catch_up(self.db, connector, guild_id, now, progress=progress)
            except ShopUnavailable as exc:
                log.warning("shop catch-up for server %s: %s", guild_id, exc)
                return None
            except ShopError as exc:
                problem = str(exc)
                log.error("shop catch-up for server %s failed: %s", guild_id, problem)
                async with self.db.transaction() as tx:
                    await record_problem(tx, guild_id, problem, now)
                self._problems[guild_id] = problem
                return None
            recorded = self._problems.pop(guild_id, None)
            if recorded is not None:
                connection = await get_connection(self.db, guild_id)
                if connection is not None and connection.problem == recorded:
                    async with self.db.transaction() as tx:
                        await record_problem(tx, guild_id, None, now)
            return report
