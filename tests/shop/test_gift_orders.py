"""Gift orders against the fake Shopify over HTTP, with a real migrated database: one completed zero-value order per
gift however often (or after whatever interruption) it is pushed, the address on it, the scope it needs, a refusal
moving the gift to the queue, and the fulfilment read back step by step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.clock import FixedClock, to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.gifting import fulfilment, shipping
from bot.services.program.guild_settings import ensure_guild
from bot.services.shop import connection
from bot.shop.errors import ShopScopeError, ShopUnavailable
from bot.shop.gift_orders import GiftOrders
from bot.shop.shopify_connector import ShopifyConnector
from emulator.shop import FakeShopify
from emulator.shop.state import Product
from tests.conftest import START
from tests.shop.shopify_world import connected, running_shop

GUILD, ALICE = 4343, 11
TOKEN, DOMAIN = "shpat_gift_test", "gift-test.myshopify.com"
SCOPES = {"write_discounts", "read_orders", "read_products", "write_draft_orders"}


@pytest.fixture
async def shop() -> AsyncIterator[FakeShopify]:
    async with running_shop(TOKEN, DOMAIN, START, scopes=SCOPES) as fake:
        yield fake


@pytest.fixture
async def connector(shop: FakeShopify) -> AsyncIterator[ShopifyConnector]:
    async with connected(shop, TOKEN, DOMAIN) as connector:
        yield connector


@pytest.fixture
async def serum(shop: FakeShopify) -> Product:
    return shop.add_product("Vitamin C Serum", price="32.00", variants=["30 ml"])


async def ready_gift(db: Database, clock: FixedClock, serum: Product) -> fulfilment.Gift:
    now = clock.now()
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), now)
    await db.perform(connection.record_connection, GUILD, "shopify", DOMAIN, now)
    await db.execute(
        "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
        " VALUES (?, ?, 'alice', 'active', ?, ?)",
        (GUILD, ALICE, to_db(now), to_db(now)),
    )
    form = shipping.check_form("Alice Marie Doe", "Torstraße 1\n3. OG", "Berlin", "10119", "DE")
    await db.perform(shipping.save_details, GUILD, ALICE, form, now)
    await db.perform(shipping.save_phone, GUILD, ALICE, "+49 30 1234567", now)
    return await db.perform(fulfilment.request_fulfilment, GUILD, ALICE, "Vitamin C Serum", "campaign:1", now,
                            variant_ref=serum.variants[0].gid, campaign_id=None)  # fmt: skip


def calls(shop: FakeShopify, name: str) -> int:
    return sum(1 for body in shop.requests if name in str(body.get("query")))


async def test_a_gift_becomes_one_completed_zero_value_order_with_the_address(
    db: Database, clock: FixedClock, shop: FakeShopify, connector: ShopifyConnector, serum: Product
) -> None:
    gift = await ready_gift(db, clock, serum)
    orders = GiftOrders(db, clock)
    assert await orders.place(connector, gift.id) == "placed"
    assert await orders.place(connector, gift.id) == "already"  # a repeated push asks the store nothing more
    assert calls(shop, "draftOrderCreate") == 1 and calls(shop, "draftOrderComplete") == 1
    (draft,) = shop.draft_orders
    assert draft.status == "COMPLETED" and gift.order_key in draft.tags
    (order,) = shop.orders
    assert order.total == Decimal("0.00") and order.discount == Decimal("32.00")
    assert order.shipping_address is not None
    assert order.shipping_address["firstName"] == "Alice Marie" and order.shipping_address["lastName"] == "Doe"
    assert (order.shipping_address["address1"], order.shipping_address["address2"]) == ("Torstraße 1", "3. OG")
    assert (order.shipping_address["zip"], order.shipping_address["countryCode"]) == ("10119", "DE")
    assert order.shipping_address["phone"] == "+49 30 1234567"
    after = await fulfilment.get_gift(db, GUILD, gift.id)
    assert after.state == "ordered" and after.order_ref == order.gid and after.order_name == order.name


@pytest.mark.parametrize("cut", ["after the draft was created", "after it was completed"])
async def test_an_interrupted_push_finds_its_draft_and_places_one_order(
    db: Database, clock: FixedClock, shop: FakeShopify, connector: ShopifyConnector, serum: Product, cut: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    gift = await ready_gift(db, clock, serum)
    real_run = shop.run
    target = "draftOrderCreate" if cut.startswith("after the draft") else "draftOrderComplete"

    def run(query: str, variables: dict[str, Any], operation: str | None = None) -> dict[str, Any]:
        answer = real_run(query, variables, operation)
        if target in query:
            raise ConnectionResetError("the answer never reached the bot")  # the store did it, the bot never hears
        return answer

    monkeypatch.setattr(shop, "run", run)
    orders = GiftOrders(db, clock)
    with pytest.raises(ShopUnavailable):
        await orders.place(connector, gift.id)
    monkeypatch.setattr(shop, "run", real_run)
    assert await orders.place(connector, gift.id) == "adopted"
    assert len(shop.draft_orders) == 1 and len(shop.orders) == 1
    assert (await fulfilment.get_gift(db, GUILD, gift.id)).state == "ordered"


async def test_without_write_draft_orders_the_gift_waits_and_moderators_hear_once(
    db: Database, clock: FixedClock, shop: FakeShopify, connector: ShopifyConnector, serum: Product
) -> None:
    gift = await ready_gift(db, clock, serum)
    shop.scopes.discard("write_draft_orders")
    shop.scopes.add("read_draft_orders")
    with pytest.raises(ShopScopeError, match="write_draft_orders"):
        await GiftOrders(db, clock).place(connector, gift.id)
    assert (await fulfilment.get_gift(db, GUILD, gift.id)).state == "ready"
    problem = await db.fetchval("SELECT problem FROM shop_connections WHERE guild_id = ?", (GUILD,))
    assert "write_draft_orders" in problem
    assert "Torstra" not in problem
    shop.scopes.add("write_draft_orders")
    clock.advance(timedelta(hours=1))
    assert await GiftOrders(db, clock).retry_waiting(connector, GUILD, clock.now()) == 1
    assert len(shop.orders) == 1


async def test_a_refused_order_moves_the_gift_to_the_queue(
    db: Database, clock: FixedClock, shop: FakeShopify, connector: ShopifyConnector, serum: Product
) -> None:
    gift = await ready_gift(db, clock, serum)
    serum.status = "ARCHIVED"  # the product was withdrawn after the campaign was set up
    assert await GiftOrders(db, clock).place(connector, gift.id) == "refused"
    after = await fulfilment.get_gift(db, GUILD, gift.id)
    assert after.route == "queue" and after.state == "ready" and "no longer available" in (after.error or "")
    refused = await db.fetchall("SELECT payload FROM outbox WHERE topic = ?", (fulfilment.REFUSED,))
    assert len(refused) == 1 and "Torstra" not in refused[0][0]


async def test_the_fulfilment_is_followed_to_delivery(
    db: Database, clock: FixedClock, shop: FakeShopify, connector: ShopifyConnector, serum: Product
) -> None:
    gift = await ready_gift(db, clock, serum)
    orders = GiftOrders(db, clock)
    await orders.place(connector, gift.id)
    assert (await orders.follow(connector, GUILD)).changed == 0
    (order,) = shop.orders
    shop.fulfil(order, tracking_url="https://track.example/ZX81")
    assert (await orders.follow(connector, GUILD)).changed == 1
    shipped = await fulfilment.get_gift(db, GUILD, gift.id)
    assert shipped.state == "shipped" and shipped.tracking_url == "https://track.example/ZX81"
    shop.fulfil(order, delivered=True)
    assert (await orders.follow(connector, GUILD)).changed == 1
    assert (await fulfilment.get_gift(db, GUILD, gift.id)).state == "delivered"
    assert await fulfilment.orders_to_follow(db, GUILD) == []
    rows = await db.fetchall("SELECT key FROM outbox WHERE topic = ? ORDER BY id", (fulfilment.TELL,))
    assert [row[0].split(":")[-1] for row in rows] == ["ordered", "shipped", "delivered"]
