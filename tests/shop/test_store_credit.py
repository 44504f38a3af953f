"""Store credit against the fake Shopify and the fake WooCommerce over HTTP, with a real database: a paid
store-credit statement becomes one gift card (Shopify) or one coupon only its ambassador can use (WooCommerce), found
again rather than made twice, refused clearly in another currency, retried while the shop is away."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import FixedClock
from bot.db import Database
from bot.services.affiliates import store_credit
from bot.services.shop.connection import get_connection
from bot.shop import store_credit as push
from bot.shop.connector import StoreCreditSpec
from bot.shop.errors import ShopScopeError, ShopUnavailable
from bot.shop.shopify_connector import ShopifyConnector
from bot.shop.woocommerce_connector import WooConnector
from emulator.shop import FakeShopify
from emulator.shop.shopify import DEFAULT_SCOPES
from emulator.shop.woocommerce import CheckoutRefused, FakeWooCommerce
from tests.conftest import START
from tests.fixtures.commerce.sales_world import GUILD
from tests.shop.shopify_world import connected, running_shop
from tests.shop.woo_world import connector, session, woo, woo_clock
from tests.unit.store_credit_world import pay, statement_to_pay

__all__ = ["connector", "session", "woo", "woo_clock"]  # fixtures

TOKEN = "shpat_credit_test"
DOMAIN = "credit-test.myshopify.com"


@pytest.fixture
async def shop() -> AsyncIterator[FakeShopify]:
    async with running_shop(TOKEN, DOMAIN, START, scopes=(*DEFAULT_SCOPES, "write_gift_cards")) as fake:
        yield fake


@pytest.fixture
async def shopify(shop: FakeShopify) -> AsyncIterator[ShopifyConnector]:
    async with connected(shop, TOKEN, DOMAIN) as connector:
        yield connector


def creates(shop: FakeShopify) -> int:
    return sum(1 for body in shop.requests if "giftCardCreate" in str(body.get("query")))


async def test_a_paid_statement_becomes_one_gift_card_and_its_code_is_owed_by_dm(
    db: Database, clock: FixedClock, shop: FakeShopify, shopify: ShopifyConnector
) -> None:
    statement = await pay(db, await statement_to_pay(db))
    assert await push.deliver(db, clock, shopify, statement.id) == "created"
    credit = await store_credit.find_credit(db, statement.id)
    assert credit is not None and credit.status == "created"
    (card,) = shop.gift_cards
    assert (str(card.initial_value), card.currency, card.code) == ("15.00", "USD", credit.code)
    assert card.note == f"Collective store credit: statement #{statement.id}" and credit.remote_ref == card.gid
    assert await push.deliver(db, clock, shopify, statement.id) == "gone"  # done: never asked again
    assert creates(shop) == 1
    ready = await db.fetchall("SELECT key FROM outbox WHERE topic = ?", (store_credit.CREDIT_READY,))
    assert [r[0] for r in ready] == [str(statement.id)]
    assert shop.spend(credit.code, "15.00") == 0  # worth the statement's total at the checkout


async def test_a_card_the_shop_made_before_a_crash_is_adopted_not_made_twice(
    db: Database, clock: FixedClock, shop: FakeShopify, shopify: ShopifyConnector
) -> None:
    statement = await pay(db, await statement_to_pay(db))
    credit = await store_credit.find_credit(db, statement.id)
    assert credit is not None
    # The shop created it, the bot died before recording it:
    await shopify.create_store_credit(StoreCreditSpec(statement.id, credit.code, 1500, "USD", None))
    assert await push.deliver(db, clock, shopify, statement.id) == "adopted"
    assert len(shop.gift_cards) == 1 and creates(shop) == 1
    assert (await store_credit.find_credit(db, statement.id)).status == "created"  # type: ignore[union-attr]


async def test_another_currency_is_refused_clearly_and_moderators_are_told(
    db: Database, clock: FixedClock, shop: FakeShopify, shopify: ShopifyConnector
) -> None:
    statement = await pay(db, await statement_to_pay(db, currency="EUR"))
    assert await push.deliver(db, clock, shopify, statement.id) == "refused"
    credit = await store_credit.find_credit(db, statement.id)
    assert credit is not None and credit.status == "refused"
    assert (
        "EUR" in (credit.problem or "")
        and "USD" in (credit.problem or "")
        and "no conversion" in (credit.problem or "")
    )
    assert shop.gift_cards == [] and creates(shop) == 0
    told = await db.fetchall("SELECT key FROM outbox WHERE topic = ?", (store_credit.CREDIT_REFUSED,))
    assert [r[0] for r in told] == [str(statement.id)]


async def test_a_shop_away_or_without_the_scope_is_retried_and_nothing_is_lost(
    db: Database, clock: FixedClock, shop: FakeShopify, shopify: ShopifyConnector
) -> None:
    statement = await pay(db, await statement_to_pay(db))
    await shop.go_down()
    with pytest.raises(ShopUnavailable):
        await push.deliver(db, clock, shopify, statement.id)
    await shop.come_back()
    shop.scopes.discard("write_gift_cards")
    with pytest.raises(ShopScopeError):
        await push.deliver(db, clock, shopify, statement.id)
    problem = (await get_connection(db, GUILD)).problem  # type: ignore[union-attr]
    assert problem is not None and "gift_cards" in problem  # moderators hear of it once (read comes with write)
    assert (await store_credit.find_credit(db, statement.id)).status == "owed"  # type: ignore[union-attr]
    shop.scopes.add("write_gift_cards")
    assert await push.deliver(db, clock, shopify, statement.id) == "created"
    assert (await get_connection(db, GUILD)).problem is None  # type: ignore[union-attr]
    assert len(shop.gift_cards) == 1


async def test_woocommerce_makes_a_one_use_coupon_only_the_ambassador_can_use(
    db: Database, clock: FixedClock, woo: FakeWooCommerce, connector: WooConnector
) -> None:
    statement = await pay(db, await statement_to_pay(db, platform="woocommerce", shop="glow.example.com",
                                                     currency="EUR"))  # fmt: skip
    assert await push.deliver(db, clock, connector, statement.id) == "created"
    credit = await store_credit.find_credit(db, statement.id)
    assert credit is not None
    coupon = woo.coupons[credit.code]
    assert (coupon.discount_type, str(coupon.amount), coupon.usage_limit) == ("fixed_cart", "15.00", 1)
    assert coupon.email_restrictions == ["ann@example.com"]
    with pytest.raises(CheckoutRefused, match="not yours"):
        await woo.place_order(code=credit.code, total="5.00", email="someone@example.com")
    await woo.place_order(code=credit.code, total="5.00", email="Ann@example.com")
    with pytest.raises(CheckoutRefused, match="usage limit"):
        await woo.place_order(code=credit.code, total="5.00", email="ann@example.com")
    # A retry after a crash finds it by its code:
    await db.execute("UPDATE store_credits SET status = 'owed'")
    assert await push.deliver(db, clock, connector, statement.id) == "adopted"
    assert len(woo.coupons) == 1


@pytest.mark.parametrize(("currency", "email", "why"), [("EUR", None, "no email"), ("USD", "ann@example.com",
                                                                               "no conversion")])  # fmt: skip
async def test_woocommerce_refuses_without_an_email_or_in_another_currency(
    db: Database, clock: FixedClock, woo: FakeWooCommerce, connector: WooConnector, currency: str, email: str | None,
    why: str,
) -> None:  # fmt: skip
    statement = await pay(db, await statement_to_pay(db, platform="woocommerce", shop="glow.example.com",
                                                     currency=currency, email=email))  # fmt: skip
    assert await push.deliver(db, clock, connector, statement.id) == "refused"
    credit = await store_credit.find_credit(db, statement.id)
    assert credit is not None and why in (credit.problem or "")
    assert woo.coupons == {}
