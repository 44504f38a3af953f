"""The attribution ledger: exactly-once sales, proportional refunds, flags, settings, manual sales."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import Conflict, InvalidInput
from bot.services.sales import codes, orders
from bot.services.sales.orders import SalesSettings
from bot.services.sales.payloads import OrderIn, RefundIn, shopify_order
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador
from tests.fixtures.commerce.sales_world import shopify_order as order_body


def order(code: str | None, order_id: str = "1", *, paid: bool = True, net: int = 10000, email: str | None = None,
          clock: FixedClock) -> OrderIn:  # fmt: skip
    return OrderIn(
        "shopify", order_id, f"#{order_id}", (code,) if code else (), "USD", net, 0, clock.now(), paid, email
    )


async def record(db: Database, item: OrderIn, clock: FixedClock, settings: SalesSettings | None = None) -> str:
    async with db.transaction() as tx:
        result = await orders.record_order(
            tx, GUILD, item, source="webhook", now=clock.now(), settings=settings or SalesSettings()
        )
    return result.outcome


async def refund(db: Database, order_id: str, refund_id: str, amount: int, clock: FixedClock) -> str:
    async with db.transaction() as tx:
        result = await orders.record_refund(
            tx, GUILD, RefundIn("shopify", order_id, refund_id, amount, "USD", clock.now()), source="webhook",
            now=clock.now(),
        )  # fmt: skip
    return result.outcome


async def points_of(db: Database, user_id: int) -> int:
    return int(await db.fetchval("SELECT COALESCE(SUM(points), 0) FROM points_ledger WHERE user_id = ?", (user_id,)))


async def test_the_documented_example_order_parses_to_minor_units(db: Database, clock: FixedClock) -> None:
    parsed = shopify_order(order_body("TENOFF"))
    assert (parsed.order_id, parsed.codes, parsed.currency) == ("450789469", ("TENOFF",), "USD")
    assert (parsed.gross_minor, parsed.discount_minor, parsed.net_minor) == (59700, 1000, 58700)
    assert parsed.email == "bob.norman@mail.example.com" and parsed.paid


async def test_several_partial_refunds_reverse_exactly_the_whole_award(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    assert await record(db, order("ann10", net=10000, clock=clock), clock) == "recorded"
    assert await points_of(db, 1) == 20
    assert await refund(db, "1", "r1", 3333, clock) == "refund"
    assert await points_of(db, 1) == 20 - 7  # 20 × 33.33% = 6.67 → 7
    assert await refund(db, "1", "r2", 3333, clock) == "refund"
    assert await refund(db, "1", "r2", 3333, clock) == "duplicate"
    assert await refund(db, "1", "r3", 99999, clock) == "refund"  # capped at what is left
    assert await refund(db, "1", "r4", 100, clock) == "duplicate"  # nothing left to refund
    assert await points_of(db, 1) == 0
    total = await db.fetchval("SELECT SUM(net_minor) FROM sales")
    assert total == 0


async def test_a_refund_for_an_order_no_code_brought_in_records_nothing(db: Database, clock: FixedClock) -> None:
    assert await refund(db, "404", "r1", 100, clock) == "no_sale"
    assert await db.fetchval("SELECT COUNT(*) FROM sales") == 0


async def test_retired_codes_still_attribute_and_are_flagged(db: Database, clock: FixedClock) -> None:
    old = await add_ambassador(db, 1, "Ann", clock.now(), code="ANNOLD")
    async with db.transaction() as tx:
        new = await codes.regenerate_code(tx, GUILD, 1, clock.now())
    assert new.code != old.code
    assert await record(db, order("annold", "1", clock=clock), clock) == "recorded"
    assert await record(db, order(new.code, "2", clock=clock), clock) == "recorded"
    rows = await db.fetchall("SELECT order_id, code_retired FROM sales ORDER BY order_id")
    assert [(r["order_id"], r["code_retired"]) for r in rows] == [("1", 1), ("2", 0)]
    usage = await codes.code_stats(db, GUILD, 1)
    assert [(u.code.code, u.sales) for u in usage] == [("ANNOLD", 1), (new.code, 1)]


async def test_self_referral_is_flagged_by_hashed_email(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10", email="ann@example.com")
    await record(db, order("ANN10", "1", email=" Ann@Example.com ", clock=clock), clock)
    await record(db, order("ANN10", "2", email="friend@example.com", clock=clock), clock)
    rows = await db.fetchall("SELECT order_id, self_referral, email_hash FROM sales ORDER BY order_id")
    assert [(r["order_id"], r["self_referral"]) for r in rows] == [("1", 1), ("2", 0)]
    assert all("@" not in r["email_hash"] for r in rows)  # the buyer's email itself is never stored


async def test_unknown_codes_are_noted_once_per_order(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    assert await record(db, order("LEAKED50", "1", clock=clock), clock) == "unknown_code"
    assert await record(db, order("LEAKED50", "1", clock=clock), clock) == "unknown_code"
    assert await record(db, order("leaked50", "2", clock=clock), clock) == "unknown_code"
    assert await db.fetchval("SELECT orders FROM unknown_codes WHERE code = 'LEAKED50'") == 2


async def test_unpaid_orders_count_only_when_the_setting_says_so(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    assert await record(db, order("ANN10", "1", paid=False, clock=clock), clock) == "stored"
    async with db.transaction() as tx:
        await orders.set_sales_settings(tx, GUILD, clock.now(), actor_id=9, count_unpaid=True)
    settings = await orders.get_sales_settings(db, GUILD)
    assert settings == SalesSettings(count_unpaid_orders=True, shoutouts=False)
    assert await record(db, order("ANN10", "2", paid=False, clock=clock), clock, settings) == "recorded"
    # Paid later: no second count.
    assert await record(db, order("ANN10", "2", paid=True, clock=clock), clock, settings) == "duplicate"


async def test_manual_sales_validate_and_refuse_repeats(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    async with db.transaction() as tx:
        result = await orders.record_manual_sale(
            tx, GUILD, order_id="POP-1", code="ann10", amount="12.50", currency="eur", actor_id=9, now=clock.now()
        )
    assert [e.name for e in result.events] == ["sale_recorded"]
    for kwargs, error in [
        ({"order_id": "POP-1", "code": "ANN10", "amount": "1", "currency": "EUR"}, Conflict),
        ({"order_id": "POP-2", "code": "NOPE", "amount": "1", "currency": "EUR"}, InvalidInput),
        ({"order_id": "POP-3", "code": "ANN10", "amount": "1.234", "currency": "EUR"}, InvalidInput),
        ({"order_id": "POP-4", "code": "ANN10", "amount": "-5", "currency": "EUR"}, InvalidInput),
        ({"order_id": "POP-5", "code": "ANN10", "amount": "5", "currency": "euro"}, InvalidInput),
    ]:
        with pytest.raises(error):
            async with db.transaction() as tx:
                await orders.record_manual_sale(tx, GUILD, actor_id=9, now=clock.now(), **kwargs)
    assert await db.fetchval("SELECT COUNT(*) FROM sales") == 1
    assert await db.fetchval("SELECT net_minor FROM sales") == 1250


async def test_test_orders_are_never_counted(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    item = order("ANN10", clock=clock)
    test_order = OrderIn(**{**item.__dict__, "test": True})
    assert await record(db, test_order, clock) == "test"
    clock.advance(timedelta(minutes=1))
    assert await db.fetchval("SELECT COUNT(*) FROM shop_orders") == 0
