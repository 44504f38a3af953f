"""Moderator code actions (regenerate, deactivate) and the celebration debounce bookkeeping."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import NotFound
from bot.services.sales import celebrations, codes, orders
from bot.services.sales.orders import SalesSettings
from bot.services.sales.payloads import OrderIn
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador


async def test_regenerate_uses_the_server_pattern_and_keeps_history(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Zoë", clock.now(), code="ZOE")
    await db.execute("UPDATE guild_settings SET code_prefix = 'GLOW', code_pattern = '{PREFIX}-{NAME}{RAND4}'")
    async with db.transaction() as tx:
        new = await codes.regenerate_code(tx, GUILD, 1, clock.now(), actor_id=9)
    assert new.code.startswith("GLOW-ZOE") and len(new.code) == len("GLOW-ZOE") + 4
    history = await codes.code_history(db, GUILD, 1)
    assert [(c.code, c.status) for c in history] == [("ZOE", "retired"), (new.code, "active")]


async def test_deactivate_retires_and_refuses_twice(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    async with db.transaction() as tx:
        retired = await codes.deactivate_code(tx, GUILD, 1, clock.now())
    assert retired.code == "ANN10" and await codes.current_code(db, GUILD, 1) is None
    with pytest.raises(NotFound):
        async with db.transaction() as tx:
            await codes.deactivate_code(tx, GUILD, 1, clock.now())
    with pytest.raises(NotFound):
        async with db.transaction() as tx:
            await codes.regenerate_code(tx, GUILD, 404, clock.now())


async def _sale(db: Database, order_id: str, clock: FixedClock) -> int:
    item = OrderIn("shopify", order_id, None, ("ANN10",), "USD", 100, 0, clock.now(), True)
    async with db.transaction() as tx:
        result = await orders.record_order(tx, GUILD, item, source="webhook", now=clock.now(), settings=SalesSettings())
    return result.events[0].row_id


async def test_a_burst_of_fifty_sales_is_one_celebration(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    keys = set()
    for i in range(50):
        sale_id = await _sale(db, str(i), clock)
        async with db.transaction() as tx:
            keys.add(await celebrations.note_sale(tx, GUILD, 1, sale_id, clock.now()))
    assert len(keys) == 1
    (key,) = keys
    assert key is not None
    burst = await celebrations.pending_burst(db, GUILD, 1, key, clock.now())
    assert burst is not None and burst.sales == 50
    late = await _sale(db, "late", clock)  # arrives while the DM is going out
    more = await db.perform(celebrations.finish_burst, GUILD, 1, key, burst.upto_sale_id, clock.now())
    assert more == f"1:{late}"
    assert more is not None
    assert await celebrations.pending_burst(db, GUILD, 1, key, clock.now()) is None  # the old timer is stale now
    nxt = await celebrations.pending_burst(db, GUILD, 1, more, clock.now())
    assert nxt is not None and nxt.sales == 1
    assert await db.perform(celebrations.finish_burst, GUILD, 1, more, nxt.upto_sale_id, clock.now()) is None


async def test_a_sale_that_reaches_the_ledger_days_late_is_counted_not_celebrated(
    db: Database, clock: FixedClock
) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    old = OrderIn("shopify", "backfilled", None, ("ANN10",), "USD", 100, 0, clock.now() - timedelta(days=3), True)
    async with db.transaction() as tx:
        result = await orders.record_order(tx, GUILD, old, source="webhook", now=clock.now(), settings=SalesSettings())
        assert result.outcome == "recorded"
        assert await celebrations.note_sale(tx, GUILD, 1, result.events[0].row_id, clock.now()) is None
    fresh = await _sale(db, "today", clock)
    async with db.transaction() as tx:
        key = await celebrations.note_sale(tx, GUILD, 1, fresh, clock.now())
    assert key is not None
    burst = await celebrations.pending_burst(db, GUILD, 1, key, clock.now())
    assert burst is not None and burst.sales == 1  # the backfilled order is not in "used 2 times"
