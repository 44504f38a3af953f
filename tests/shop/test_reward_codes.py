"""Single-use reward codes against the fake Shopify and the fake WooCommerce over HTTP, with a real database: what
the shop holds, what its checkout lets through (once, before the end date, for the product it is for), and what a
redemption becomes when the shop refuses, is away, or a moderator cancelled meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.clock import FixedClock
from bot.db import Database
from bot.services.rewards import redemptions
from bot.services.rewards.balance import balance
from bot.shop import reward_codes
from bot.shop.connector import REWARD_MARKER, RewardCodeSpec
from bot.shop.errors import ShopError, ShopUnavailable, ShopUserErrors
from bot.shop.shopify_connector import ShopifyConnector
from bot.shop.woocommerce_connector import WooConnector
from emulator.shop import CheckoutRefused, FakeShopify
from emulator.shop.woocommerce import CheckoutRefused as WooCheckoutRefused
from emulator.shop.woocommerce import FakeWooCommerce
from emulator.shop.woocommerce.server import _forwards as woo_forwards
from tests.conftest import START
from tests.shop.shopify_world import connected, running_shop
from tests.shop.woo_world import START as WOO_START
from tests.shop.woo_world import connector, session, woo, woo_clock
from tests.unit.rewards_world import GUILD, MODERATOR, member, program, reward

__all__ = ["connector", "session", "woo", "woo_clock"]  # fixtures

TOKEN = "shpat_reward_test"
DOMAIN = "reward-test.myshopify.com"


@pytest.fixture
async def shop() -> AsyncIterator[FakeShopify]:
    async with running_shop(TOKEN, DOMAIN, START) as fake:
        yield fake


@pytest.fixture
async def shopify(shop: FakeShopify) -> AsyncIterator[ShopifyConnector]:
    async with connected(shop, TOKEN, DOMAIN) as connector:
        yield connector


def spec(code: str = "RWDTEST0001", *, days: int = 30, **value: object) -> RewardCodeSpec:
    amounts = value or {"amount_minor": 1000, "currency": "USD"}
    return RewardCodeSpec(code, START, START + timedelta(days=days), **amounts)  # type: ignore[arg-type]


async def test_shopify_holds_a_fixed_amount_code_usable_once_until_it_ends(
    shopify: ShopifyConnector, shop: FakeShopify
) -> None:
    made = await shopify.create_single_use_code(spec())
    assert made.title == f"{REWARD_MARKER} RWDTEST0001" and made.active
    held = shop.state.discount_by_code("rwdtest0001")
    assert held is not None and held.usage_limit == 1 and held.applies_once_per_customer
    assert str(held.amount) == "10.00" and held.ends_at == START + timedelta(days=30) and held.product_ids == []
    order = await shop.place_order(code="RWDTEST0001", subtotal="35.00")
    assert (str(order.discount), str(order.total)) == ("10.00", "25.00")
    with pytest.raises(CheckoutRefused, match="usage limit"):
        await shop.place_order(code="RWDTEST0001", subtotal="35.00")
    await shopify.create_single_use_code(spec("RWDTEST0002", days=1))
    with pytest.raises(CheckoutRefused, match="expired"):
        await shop.place_order(code="RWDTEST0002", subtotal="35.00", at=START + timedelta(days=2))


async def test_shopify_holds_a_free_product_code_only_for_that_product(
    shopify: ShopifyConnector, shop: FakeShopify
) -> None:
    serum = shop.add_product("Glow serum", price="24.00")
    found = await shopify.search_products("serum")  # what the moderator picks from
    await shopify.create_single_use_code(spec(product_id=found[0].ref))
    held = shop.state.discount_by_code("RWDTEST0001")
    assert held is not None and held.product_ids == [serum.gid] and held.percentage is None
    assert str(held.amount) == "24.00" and not held.applies_on_each_item  # one unit's price, split: taken once
    with pytest.raises(CheckoutRefused, match="isn't valid for the items"):
        await shop.place_order(code="RWDTEST0001", subtotal="20.00", product_id="gid://shopify/Product/9")
    order = await shop.place_order(code="RWDTEST0001", subtotal="24.00", product_id=serum.gid)
    assert str(order.total) == "0.00" and str(order.discount) == "24.00"


async def test_shopify_a_free_product_code_frees_one_unit_not_every_unit(
    shopify: ShopifyConnector, shop: FakeShopify
) -> None:
    serum = shop.add_product("Glow serum", price="24.00")
    await shopify.create_single_use_code(spec(product_id=serum.gid))
    order = await shop.place_order(code="RWDTEST0001", subtotal="48.00", product_id=serum.gid, quantity=2)
    assert (str(order.discount), str(order.total)) == ("24.00", "24.00")


async def test_the_fake_shopify_takes_an_amount_off_each_unit_only_when_asked(shop: FakeShopify) -> None:
    each = shop.add_discount("EACH5", percentage=None)
    each.amount, each.applies_on_each_item = Decimal("5.00"), True
    order = await shop.place_order(code="EACH5", subtotal="30.00", quantity=3)
    assert str(order.discount) == "15.00"
    once = shop.add_discount("ONCE5", percentage=None)
    once.amount = Decimal("5.00")
    order = await shop.place_order(code="ONCE5", subtotal="30.00", quantity=3)
    assert str(order.discount) == "5.00"


async def test_shopify_refuses_a_free_product_code_for_a_product_gone_from_the_store(
    shopify: ShopifyConnector, shop: FakeShopify
) -> None:
    with pytest.raises(ShopError, match="no longer in"):
        await shopify.create_single_use_code(spec(product_id="8123"))


async def test_shopify_refuses_what_the_real_api_refuses(shopify: ShopifyConnector, shop: FakeShopify) -> None:
    with pytest.raises(ShopUserErrors, match="Ends at needs to be after"):
        await shopify.create_single_use_code(RewardCodeSpec("RWDBAD", START, START, 100, "USD"))
    shop.add_discount("RWDTAKEN", title="Black Friday")
    with pytest.raises(ShopUserErrors, match="unique"):
        await shopify.create_single_use_code(spec("RWDTAKEN"))
    with pytest.raises(ShopError, match="sells in USD"):
        await shopify.create_single_use_code(spec(amount_minor=500, currency="EUR"))


async def test_woocommerce_holds_coupons_used_once_and_for_the_product(
    connector: WooConnector, woo: FakeWooCommerce
) -> None:
    ends = WOO_START + timedelta(days=10)
    made = await connector.create_single_use_code(RewardCodeSpec("RWDWOO1", WOO_START, ends, 1500, "EUR"))
    assert made.title == f"{REWARD_MARKER} RWDWOO1" and made.active
    coupon = woo.coupons["rwdwoo1"]
    assert (coupon.discount_type, str(coupon.amount), coupon.usage_limit, coupon.usage_limit_per_user) == (
        "fixed_cart", "15.00", 1, 1)  # fmt: skip
    assert coupon.expires == ends
    await woo.place_order(code="rwdwoo1", subtotal="40.00", email="a@example.com")
    with pytest.raises(WooCheckoutRefused, match="usage limit"):
        await woo.place_order(code="rwdwoo1", subtotal="40.00", email="b@example.com")

    await connector.create_single_use_code(RewardCodeSpec("RWDWOO2", WOO_START, ends, product_id="77"))
    product = woo.coupons["rwdwoo2"]
    assert (product.discount_type, str(product.amount), product.product_ids) == ("percent", "100", [77])
    assert product.limit_usage_to_x_items == 1
    with pytest.raises(WooCheckoutRefused, match="not applicable"):
        await woo.place_order(code="rwdwoo2", subtotal="19.00", product_id=11)
    order = await woo.place_order(code="rwdwoo2", subtotal="19.00", product_id=77)
    assert order.total == 0 and order.product_id == 77


async def test_woocommerce_a_free_product_coupon_frees_one_unit_not_every_unit(
    connector: WooConnector, woo: FakeWooCommerce
) -> None:
    ends = WOO_START + timedelta(days=10)
    await connector.create_single_use_code(RewardCodeSpec("RWDWOO3", WOO_START, ends, product_id="77"))
    order = await woo.place_order(code="rwdwoo3", subtotal="38.00", product_id=77, quantity=2)
    assert (str(order.discount), str(order.total)) == ("19.00", "19.00")


def test_the_fake_woocommerce_limits_product_coupons_to_x_items(woo: FakeWooCommerce) -> None:
    fixed = woo.add_coupon("fx", amount="5", discount_type="fixed_product", limit_usage_to_x_items=2)
    assert woo_forwards(fixed, Decimal("30.00"), 3) == Decimal("10.00")
    fixed.limit_usage_to_x_items = 0
    assert woo_forwards(fixed, Decimal("30.00"), 3) == Decimal("15.00")
    cart = woo.add_coupon("cart", amount="5", discount_type="fixed_cart", limit_usage_to_x_items=1)
    assert woo_forwards(cart, Decimal("30.00"), 3) == Decimal("5.00")


# -- delivering a redemption's code -----------------------------------------------------------------------


async def redeemed(db: Database, clock: FixedClock, **options: object) -> redemptions.Redeemed:
    await program(db, clock.now())
    await member(db, 1, 500, clock.now())
    voucher = await reward(db, clock.now(), "code", cost=100, stock=3, **options)
    return await db.perform(redemptions.redeem, GUILD, 1, voucher.id, "press", clock.now())


async def test_a_redemption_code_is_created_once_even_when_delivered_again(
    db: Database, clock: FixedClock, shopify: ShopifyConnector, shop: FakeShopify
) -> None:
    done = await redeemed(db, clock)
    rid = done.redemption.id
    assert await reward_codes.deliver(db, clock, shopify, rid) == "created"
    assert await reward_codes.deliver(db, clock, shopify, rid) == "gone"
    held = shop.state.discount_by_code(str(done.redemption.code))
    assert held is not None and held.usage_limit == 1
    assert await db.fetchval("SELECT status FROM redemptions WHERE id = ?", (rid,)) == "fulfilled"
    creates = [b for b in shop.requests if "discountCodeBasicCreate" in str(b["query"])]
    assert len(creates) == 1
    # As after a crash between the shop storing it and Collective hearing back: found and adopted, not made twice.
    await db.execute("UPDATE redemptions SET status = 'pending', remote_ref = NULL WHERE id = ?", (rid,))
    assert await reward_codes.deliver(db, clock, shopify, rid) == "adopted"
    assert len([b for b in shop.requests if "discountCodeBasicCreate" in str(b["query"])]) == 1


async def test_a_refusal_fails_the_redemption_and_gives_points_and_stock_back(
    db: Database, clock: FixedClock, shopify: ShopifyConnector, shop: FakeShopify
) -> None:
    done = await redeemed(db, clock, code_amount_minor=500, code_currency="EUR")  # the shop sells in USD
    assert await reward_codes.deliver(db, clock, shopify, done.redemption.id) == "refused"
    row = await db.fetchone("SELECT status, error FROM redemptions WHERE id = ?", (done.redemption.id,))
    assert row is not None and row[0] == "failed" and "sells in USD" in row[1]
    assert (await balance(db, GUILD, 1)).spendable == 500
    assert await db.fetchval("SELECT stock FROM rewards") == 3
    assert not shop.state.discounts


async def test_an_unreachable_shop_is_retried_and_a_day_later_given_up(
    db: Database, clock: FixedClock, shopify: ShopifyConnector, shop: FakeShopify
) -> None:
    done = await redeemed(db, clock)
    await shop.go_down()
    with pytest.raises(ShopUnavailable):
        await reward_codes.deliver(db, clock, shopify, done.redemption.id)
    assert await db.fetchval("SELECT status FROM redemptions") == "pending"
    clock.advance(timedelta(hours=23))
    assert await reward_codes.give_up_stale(db, clock, GUILD) == 0
    clock.advance(timedelta(hours=2))
    assert await reward_codes.give_up_stale(db, clock, GUILD) == 1
    assert await db.fetchval("SELECT status FROM redemptions") == "failed"
    assert (await balance(db, GUILD, 1)).spendable == 500


async def test_a_code_made_for_a_redemption_cancelled_meanwhile_is_switched_off(
    db: Database, clock: FixedClock, shopify: ShopifyConnector, shop: FakeShopify, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = await redeemed(db, clock)
    await db.perform(redemptions.cancel, GUILD, done.redemption.id, "changed my mind", clock.now(), actor_id=MODERATOR)
    assert await reward_codes.deliver(db, clock, shopify, done.redemption.id) == "gone"
    assert not shop.requests  # nothing owed any more: the shop was never asked

    again = await db.perform(redemptions.redeem, GUILD, 1, done.reward.id, "second", clock.now())
    original = reward_codes._find_or_create

    async def cancelled_meanwhile(connector: ShopifyConnector, spec: RewardCodeSpec) -> tuple[object, bool]:
        made = await original(connector, spec)
        await db.perform(redemptions.cancel, GUILD, again.redemption.id, "too late", clock.now(), actor_id=MODERATOR)
        return made

    monkeypatch.setattr(reward_codes, "_find_or_create", cancelled_meanwhile)
    assert await reward_codes.deliver(db, clock, shopify, again.redemption.id) == "cancelled"
    assert shop.discount_status(str(again.redemption.code)) == "EXPIRED"
    assert (await balance(db, GUILD, 1)).spendable == 500
