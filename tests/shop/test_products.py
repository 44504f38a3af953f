"""Searching the store's catalogue (what a moderator picks a gift or a reward from), against both fake stores
over HTTP: active products only, matched by title, at most the limit, with the price and what an order names."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest

from bot.shop.shopify_connector import ShopifyConnector
from bot.shop.woocommerce_connector import WooConnector
from emulator.shop import FakeShopify
from emulator.shop.woocommerce import FakeWooCommerce
from tests.shop.test_code_push import connector, shop
from tests.shop.woo_world import connector as woo_connector_fixture
from tests.shop.woo_world import session, woo, woo_clock

__all__ = ["connector", "session", "shop", "woo", "woo_clock", "woo_connector_fixture"]  # fixtures


async def test_shopify_products_by_title_active_only_with_price_and_variant(
    shop: FakeShopify, connector: ShopifyConnector
) -> None:
    serum = shop.add_product("Vitamin C Serum", price="32.00", variants=["30 ml", "50 ml"])
    shop.add_product("Night Serum", price="28.50")
    shop.add_product("Old Serum", status="ARCHIVED")
    shop.add_product("Lip Balm", price="6.00")
    found = await connector.search_products("serum")
    assert [p.title for p in found] == ["Night Serum", "Vitamin C Serum"]
    vitamin = found[1]
    assert vitamin.ref == serum.gid and vitamin.variant_ref == serum.variants[0].gid
    assert vitamin.price == Decimal("32.00")
    assert [p.title for p in await connector.search_products("")] == ["Lip Balm", "Night Serum", "Vitamin C Serum"]
    assert await connector.search_products("vit: 'c*") != []  # search syntax typed by a moderator is neutralised
    assert len(await connector.search_products("", limit=2)) == 2


async def test_shopify_products_need_read_products(shop: FakeShopify, connector: ShopifyConnector) -> None:
    from bot.shop.errors import ShopScopeError

    shop.scopes.discard("read_products")
    with pytest.raises(ShopScopeError):
        await connector.search_products("serum")


@pytest.fixture
def woo_connector(woo_connector_fixture: WooConnector) -> WooConnector:
    return woo_connector_fixture


async def test_woocommerce_products_by_name_published_only(woo: FakeWooCommerce, session: aiohttp.ClientSession,
                                                           woo_connector: WooConnector) -> None:  # fmt: skip
    made = woo.add_product("Vitamin C Serum", price="32.00")
    woo.add_product("Draft Serum", status="draft")
    woo.add_product("Lip Balm", price="6.00")
    found = await woo_connector.search_products("serum")
    assert [(p.title, p.ref, p.variant_ref, p.price) for p in found] == [
        ("Vitamin C Serum", str(made.id), str(made.id), Decimal("32.00"))
    ]
    assert [p.title for p in await woo_connector.search_products("")] == ["Lip Balm", "Vitamin C Serum"]
