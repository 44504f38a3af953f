"""The WooCommerce connector against the fake store over HTTP: ambassador codes as coupons (create, adopt,
update, expire, resume), the store's refusals and failures as the seam's errors. Never a patched client."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from bot.services.shop.discounts import DEFAULT, CodeDiscount
from bot.shop.connector import MARKER, CodeSpec
from bot.shop.errors import ShopAuthError, ShopError, ShopScopeError, ShopUnavailable, ShopUserErrors
from bot.shop.woocommerce import KeyPermissionError, WooClient
from bot.shop.woocommerce_connector import WooConnector
from emulator.shop import ManualClock
from emulator.shop.woocommerce import CheckoutRefused, FakeWooCommerce
from tests.shop.woo_world import START, connection, connector, connector_for, session, woo, woo_clock

__all__ = ["connector", "session", "woo", "woo_clock"]  # fixtures


def spec(code: str = "GLOWANNA7K", discount: CodeDiscount = DEFAULT, *, active: bool = True) -> CodeSpec:
    return CodeSpec(code, discount, active, START - timedelta(days=3))


@pytest.mark.parametrize(
    "discount",
    [
        DEFAULT,
        CodeDiscount("percentage", 15, once_per_customer=False, combines_order=True),
        CodeDiscount("fixed", 500, "EUR", minimum_minor=3000, combines_product=True, combines_shipping=False),
        CodeDiscount("fixed", 1250, None, combines_order=True, combines_product=True),
        CodeDiscount("percentage", 20, minimum_minor=5000, combines_shipping=False),
    ],
)
async def test_a_created_code_reads_back_as_the_discount_it_was_made_for(
    connector: WooConnector, woo: FakeWooCommerce, discount: CodeDiscount
) -> None:
    made = await connector.create_code(spec(discount=discount))
    assert made.ours and made.active and made.title == f"{MARKER} GLOWANNA7K"
    found = await connector.find_code("glowanna7k")
    assert found is not None and found.ref == made.ref and found.code == "glowanna7k"
    assert found.discount is not None
    assert found.discount.currency in (None, "EUR")
    assert found.discount == CodeDiscount(**{**discount.__dict__, "currency": found.discount.currency})


async def test_the_coupon_holds_what_woocommerce_enforces(connector: WooConnector, woo: FakeWooCommerce) -> None:
    await connector.create_code(spec(discount=CodeDiscount("fixed", 500, "EUR", minimum_minor=3000)))
    coupon = woo.coupons["glowanna7k"]
    assert (coupon.discount_type, str(coupon.amount), str(coupon.minimum_amount)) == ("fixed_cart", "5.00", "30.00")
    assert coupon.individual_use and coupon.usage_limit_per_user == 1 and coupon.expires is None
    assert coupon.description == f"{MARKER} GLOWANNA7K"
    await woo.place_order(code="GLOWANNA7K", total="45.00", email="a@example.com")
    with pytest.raises(CheckoutRefused, match="usage limit"):  # once per customer, enforced by the store
        await woo.place_order(code="GLOWANNA7K", total="45.00", email="a@example.com")
    with pytest.raises(CheckoutRefused, match="minimum spend"):
        await woo.place_order(code="GLOWANNA7K", total="20.00", email="b@example.com")


async def test_an_unknown_code_is_not_found(connector: WooConnector, woo: FakeWooCommerce) -> None:
    woo.add_coupon("glowanna7")
    assert await connector.find_code("GLOWANNA7K") is None


async def test_a_coupon_made_by_hand_is_found_and_adopted(connector: WooConnector, woo: FakeWooCommerce) -> None:
    """What a brand that followed the README's manual steps has: a 10 % coupon per code, used alone, once each."""
    woo.add_coupon("GlowAnna7K", amount="10", individual_use=True, usage_limit_per_user=1, description="Anna")
    found = await connector.find_code("GLOWANNA7K")
    assert found is not None and not found.ours and found.active and found.title == "Anna"
    assert found.discount == DEFAULT  # gives what Collective would have made: it may be adopted
    await connector.update_code(found.ref, spec())
    adopted = await connector.find_code("GLOWANNA7K")
    assert adopted is not None and adopted.ours and adopted.ref == found.ref and adopted.discount == DEFAULT


async def test_a_coupon_that_gives_something_else_is_not_taken_for_a_code(
    connector: WooConnector, woo: FakeWooCommerce
) -> None:
    woo.add_coupon("freeship", amount="0", discount_type="fixed_cart", free_shipping=True)
    woo.add_coupon("perproduct", amount="5", discount_type="fixed_product")
    woo.add_coupon("shoesonly", amount="10", product_ids=[12])
    woo.add_coupon("half", amount="12.5")
    for code in ("freeship", "perproduct", "shoesonly", "half"):
        found = await connector.find_code(code)
        assert found is not None and found.discount is None, code
        assert found.title == code and not found.ours  # no description: named by its code


async def test_an_update_gives_the_new_discount_and_undoes_edits_by_hand(
    connector: WooConnector, woo: FakeWooCommerce
) -> None:
    made = await connector.create_code(spec())
    coupon = woo.coupons["glowanna7k"]
    coupon.product_ids, coupon.exclude_sale_items = [12, 13], True  # someone restricted it in the admin
    assert (await connector.find_code("GLOWANNA7K")).discount is None  # type: ignore[union-attr]
    richer = CodeDiscount("percentage", 15, once_per_customer=False, combines_order=True)
    await connector.update_code(made.ref, spec(discount=richer))
    coupon = woo.coupons["glowanna7k"]
    assert coupon.product_ids == [] and not coupon.exclude_sale_items and coupon.usage_limit_per_user == 0
    assert (await connector.find_code("GLOWANNA7K")).discount == richer  # type: ignore[union-attr]
    assert len(coupon.meta_data) == 1  # the combination note is updated, not piled up


async def test_pausing_expires_the_coupon_and_resuming_clears_the_expiry(
    connector: WooConnector, woo: FakeWooCommerce, woo_clock: ManualClock
) -> None:
    made = await connector.create_code(spec())
    await connector.set_active(made.ref, False)
    await connector.set_active(made.ref, False)  # twice is harmless
    coupon = woo.coupons["glowanna7k"]
    assert coupon.expires is not None and coupon.expires < START
    assert not woo.coupon_usable("GLOWANNA7K")
    with pytest.raises(CheckoutRefused, match="expired"):
        await woo.place_order(code="GLOWANNA7K")
    paused = await connector.find_code("GLOWANNA7K")
    assert paused is not None and not paused.active and paused.ours
    woo_clock.advance(3600)
    await connector.set_active(made.ref, True)
    assert woo.coupons["glowanna7k"].expires is None and woo.coupon_usable("glowanna7k")
    resumed = await connector.find_code("GLOWANNA7K")
    assert resumed is not None and resumed.active
    await woo.place_order(code="GLOWANNA7K")


async def test_a_code_created_paused_is_created_expired(connector: WooConnector, woo: FakeWooCommerce) -> None:
    made = await connector.create_code(spec(active=False))
    assert not made.active and not woo.coupon_usable("GLOWANNA7K")


async def test_a_taken_code_is_the_shops_own_words_with_the_seams_taken_code(
    connector: WooConnector, woo: FakeWooCommerce
) -> None:
    woo.add_coupon("glowanna7k")
    with pytest.raises(ShopUserErrors) as raised:
        await connector.create_code(spec())
    assert [(e.field, e.code, e.message) for e in raised.value.errors] == [
        (("code",), "TAKEN", "The coupon code already exists")
    ]
    assert "The coupon code already exists" in str(raised.value)
    assert len(woo.coupons) == 1


async def test_a_refused_amount_is_the_shops_own_words(connector: WooConnector, woo: FakeWooCommerce) -> None:
    with pytest.raises(ShopUserErrors) as raised:
        await connector.create_code(spec(discount=CodeDiscount("percentage", 150)))
    assert [(e.field, e.code, e.message) for e in raised.value.errors] == [
        (("amount",), "coupon_invalid_amount", "Invalid discount amount")
    ]
    assert woo.coupons == {}


async def test_a_fixed_discount_in_another_currency_is_refused_before_the_shop(
    connector: WooConnector, woo: FakeWooCommerce
) -> None:
    with pytest.raises(ShopError, match="sells in EUR"):
        await connector.create_code(spec(discount=CodeDiscount("fixed", 500, "USD")))
    assert woo.coupons == {} and not any(r.method == "POST" for r in woo.requests)


async def test_a_ref_from_another_platform_is_refused(connector: WooConnector, woo: FakeWooCommerce) -> None:
    with pytest.raises(ShopError, match="not a WooCommerce coupon id"):
        await connector.set_active("gid://shopify/DiscountCodeNode/1", False)
    assert woo.requests == []


# ---- what goes wrong --------------------------------------------------------------------------------------


async def test_a_wrong_secret_is_an_auth_error_that_repeats_no_key(
    session: aiohttp.ClientSession, woo: FakeWooCommerce, woo_clock: ManualClock
) -> None:
    wrong = woo.add_key()
    wrong.consumer_secret = "cs_rotated_since"
    config = connection(woo, wrong)
    wrong.consumer_secret = "cs_the_store_has_now"
    client = WooClient(session, config)
    with pytest.raises(ShopAuthError) as raised:
        await WooConnector(client, webhook_secret=None, clock=woo_clock).find_code("X")
    message = str(raised.value)
    assert "401" in message and "Consumer secret is invalid." in message and "Read/Write" in message
    assert wrong.consumer_key not in message and "cs_rotated_since" not in message


async def test_keys_that_are_not_set_are_refused_before_any_request(
    session: aiohttp.ClientSession, woo: FakeWooCommerce
) -> None:
    with pytest.raises(ShopAuthError, match="CONSUMER_KEY"):
        WooClient(session, connection(woo, keys=False))
    assert woo.requests == []


async def test_a_read_key_cannot_create_and_says_what_to_change(
    session: aiohttp.ClientSession, woo: FakeWooCommerce, woo_clock: ManualClock
) -> None:
    read_only = connector_for(session, woo, woo_clock, woo.add_key("read"))
    assert await read_only.find_code("GLOWANNA7K") is None
    with pytest.raises(KeyPermissionError) as raised:
        await read_only.create_code(spec())
    assert isinstance(raised.value, ShopScopeError) and raised.value.lacking == "write"
    assert "Read/Write" in str(raised.value) and woo.coupons == {}


async def test_a_key_of_a_user_who_may_not_manage_the_shop_is_a_scope_error(
    session: aiohttp.ClientSession, woo: FakeWooCommerce, woo_clock: ManualClock
) -> None:
    customer = connector_for(session, woo, woo_clock, woo.add_key(manages_shop=False))
    with pytest.raises(ShopScopeError, match=r"403.*administrator or shop manager"):
        await customer.find_code("GLOWANNA7K")


@pytest.mark.parametrize(("status", "retry_after"), [(429, 1.0), (500, None), (502, None), (503, 600.0)])
async def test_throttling_and_server_errors_are_unavailable_with_the_stores_retry_after(
    connector: WooConnector, woo: FakeWooCommerce, status: int, retry_after: float | None
) -> None:
    headers = {"Retry-After": "600"} if status == 503 else None  # WordPress's maintenance mode asks for 10 minutes
    woo.faults.fail(status, headers=headers)
    with pytest.raises(ShopUnavailable) as raised:
        await connector.create_code(spec())
    assert raised.value.retry_after == retry_after and str(status) in str(raised.value)
    assert woo.coupons == {}
    await connector.create_code(spec())  # the next attempt goes through
    assert list(woo.coupons) == ["glowanna7k"]


async def test_retry_after_may_be_an_http_date(connector: WooConnector, woo: FakeWooCommerce) -> None:
    woo.faults.fail(429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    with pytest.raises(ShopUnavailable) as raised:
        await connector.find_code("X")
    assert raised.value.retry_after is not None and raised.value.retry_after > 3600


async def test_a_store_that_is_down_is_unavailable(
    session: aiohttp.ClientSession, woo: FakeWooCommerce, woo_clock: ManualClock
) -> None:
    await woo.go_down()
    try:
        async with aiohttp.ClientSession() as fresh:
            with pytest.raises(ShopUnavailable, match="could not be reached"):
                await connector_for(fresh, woo, woo_clock).find_code("X")
    finally:
        await woo.come_back()


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (200, "<html><body>Log in</body></html>", "not JSON"),
        (200, {"code": "x"}, "not a list"),
        (404, None, "no WooCommerce REST API at /wp-json/wc/v3"),
        (301, {}, "redirects the REST API"),
    ],
)
async def test_answers_that_are_not_what_was_asked_are_explained(
    connector: WooConnector, woo: FakeWooCommerce, status: int, body: object, words: str
) -> None:
    headers = {"Location": "https://www.glow.example.com/wp-json/wc/v3/coupons"} if status == 301 else None
    woo.faults.fail(status, body=body, headers=headers)
    with pytest.raises(ShopError, match=words) as raised:
        await connector.find_code("X")
    assert not isinstance(raised.value, ShopUnavailable)


async def test_an_update_of_a_coupon_deleted_in_the_store_says_so(
    connector: WooConnector, woo: FakeWooCommerce
) -> None:
    made = await connector.create_code(spec())
    del woo.state.coupons[int(made.ref)]
    with pytest.raises(ShopError, match="no longer has"):
        await connector.update_code(made.ref, spec())
