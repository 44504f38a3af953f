"""The catch-up's reading of a WooCommerce store: every order changed in the window exactly once, page by page,
each the same ``OrderIn`` the webhook path makes of the same order (so the ledger counts it once)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.services.sales.payloads import OrderIn, parse_json, woocommerce_order
from bot.shop.connector import OrderPage
from bot.shop.errors import ShopError
from bot.shop.woocommerce_connector import WooConnector
from emulator.shop import ManualClock
from emulator.shop.woocommerce import FakeWooCommerce
from tests.shop.woo_world import START, connector, session, woo, woo_clock

__all__ = ["connector", "session", "woo", "woo_clock"]  # fixtures


async def read(connector: WooConnector, since: datetime, until: datetime) -> list[OrderPage]:
    return [page async for page in connector.orders_changed(since, until)]


def ids(pages: list[OrderPage]) -> list[str]:
    return [order.order_id for page in pages for order in page.orders]


async def test_the_same_order_is_the_same_order_in_through_the_catch_up_and_the_webhook(
    connector: WooConnector, woo: FakeWooCommerce, woo_clock: ManualClock
) -> None:
    # The store delivers to the bot's address (recorded by the fake: the address is not on this machine).
    await connector.ensure_webhooks("https://hooks.example.com/webhooks/woocommerce/1")
    woo.add_coupon("glowanna7k", amount="10")
    order = await woo.place_order(code="GLOWANNA7K", total="45.00", email="buyer@example.com")
    woo_clock.advance(60)
    [created] = ids_and_orders(await read(connector, START, START + timedelta(seconds=30)))
    assert woo.deliveries[-1].topic == "order.created"
    assert created == woocommerce_order(parse_json(woo.deliveries[-1].body))
    await woo.refund(order, "9.00", reason="late")
    woo_clock.advance(60)
    [updated] = ids_and_orders(await read(connector, START, START + timedelta(minutes=5)))
    delivered = woocommerce_order(parse_json(woo.deliveries[-1].body))
    assert woo.deliveries[-1].topic == "order.updated"
    assert updated == delivered
    assert (updated.order_id, updated.codes, updated.gross_minor, updated.discount_minor, updated.paid) == (
        str(order.id), ("GLOWANNA7K",), 5000, 500, True,
    )  # fmt: skip
    assert [(r.refund_id, r.amount_minor) for r in updated.refunds] == [(str(order.refunds[0].id), 900)]


def ids_and_orders(pages: list[OrderPage]) -> list[OrderIn]:
    return [order for page in pages for order in page.orders]


async def test_the_window_takes_changes_from_since_up_to_but_not_including_until(
    connector: WooConnector, woo: FakeWooCommerce, woo_clock: ManualClock
) -> None:
    before = await woo.place_order(at=START - timedelta(seconds=1))
    at_since = await woo.place_order(at=START)
    inside = await woo.place_order(at=START + timedelta(minutes=5))
    at_until = await woo.place_order(at=START + timedelta(minutes=10))
    pages = await read(connector, START, START + timedelta(minutes=10))
    assert ids(pages) == [str(at_since.id), str(inside.id)]
    assert pages[-1].reached == START + timedelta(minutes=10)
    assert {str(before.id), str(at_until.id)}.isdisjoint(ids(pages))
    # The store was asked in GMT, without an offset, sorted by the last change.
    query = woo.requests[-1].query
    assert (query["modified_after"], query["modified_before"]) == ("2025-06-01T11:59:59", "2025-06-01T12:10:00")
    assert (query["dates_are_gmt"], query["orderby"], query["order"], query["per_page"]) == (
        "true",
        "modified",
        "asc",
        "100",
    )
    assert await read(connector, START, START) == []


async def test_many_orders_come_in_pages_once_each_also_when_many_share_a_second(
    connector: WooConnector, woo: FakeWooCommerce
) -> None:
    placed = [await woo.place_order(at=START) for _ in range(130)]  # a bulk change: 130 orders in one second
    placed += [await woo.place_order(at=START + timedelta(seconds=n)) for n in range(1, 121)]
    until = START + timedelta(hours=1)
    pages = await read(connector, START, until)
    assert sorted(ids(pages), key=int) == [str(o.id) for o in placed]  # every one, exactly once
    assert len(pages) >= 3
    reached = [page.reached for page in pages]
    assert reached == sorted(reached) and reached[-1] == until and all(START <= r <= until for r in reached)
    assert all(len(page.orders) <= 100 for page in pages)


async def test_an_order_changed_while_the_catch_up_reads_does_not_hide_another(
    connector: WooConnector, woo: FakeWooCommerce, woo_clock: ManualClock
) -> None:
    """Paging by number would skip one: the changed order leaves the window and every later one moves up."""
    placed = [await woo.place_order(at=START + timedelta(seconds=n)) for n in range(150)]
    until = START + timedelta(minutes=10)
    woo_clock.advance(3600)
    pages = connector.orders_changed(START, until)
    first = await anext(pages)
    assert len(first.orders) == 100 and first.reached == START + timedelta(seconds=99)
    await woo.refund(placed[5], "5.00")  # changed now: after ``until``, so out of this window (the next one reads it)
    rest = [page async for page in pages]
    seen = [o.order_id for o in first.orders] + ids(rest)
    assert sorted(seen, key=int) == [str(o.id) for o in placed]


async def test_a_store_that_ignores_the_date_filter_is_refused_not_misread(
    connector: WooConnector, woo: FakeWooCommerce
) -> None:
    old = await woo.place_order(at=START - timedelta(days=30))
    woo.faults.fail(200, body=[woo.order_json(old)])  # what an old WooCommerce answers: every order
    with pytest.raises(ShopError, match="modified_after"):
        await read(connector, START, START + timedelta(hours=1))
