"""The fake WooCommerce store answers like WooCommerce: keys and permissions, WordPress's errors and paging,
coupons with their refusals, orders by modification date, signed webhook deliveries the bot itself accepts."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy
from pydantic import SecretStr

from bot.clock import FixedClock
from bot.config import WebhookSettings
from bot.db import Database
from bot.services.sales.payloads import parse_json, woocommerce_order
from bot.webhooks import WebhookServer, signature_ok
from emulator.shop import ManualClock
from emulator.shop.woocommerce import CheckoutRefused, FakeWooCommerce
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador

API = "/wp-json/wc/v3"


class Wire:
    """What a client of the REST API does: Basic auth with a key, JSON in and out."""

    def __init__(self, shop: FakeWooCommerce, session: aiohttp.ClientSession) -> None:
        self.shop = shop
        self.session = session
        self.key: tuple[str, str] | None = (shop.key.consumer_key, shop.key.consumer_secret)

    async def call(
        self, method: str, path: str, body: Any = None, **params: str
    ) -> tuple[int, Any, CIMultiDictProxy[str]]:
        headers = {}
        if self.key is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(self.key).encode()).decode()
        async with self.session.request(
            method, f"{self.shop.url}{API}{path}", json=body, params=params, headers=headers
        ) as response:
            return response.status, await response.json(content_type=None), response.headers

    async def ok(self, method: str, path: str, body: Any = None, **params: str) -> Any:
        status, answer, _ = await self.call(method, path, body, **params)
        assert status in (200, 201), answer
        return answer


@pytest.fixture
def woo_clock() -> ManualClock:
    return ManualClock(datetime(2025, 6, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
async def woo(woo_clock: ManualClock) -> AsyncIterator[FakeWooCommerce]:
    shop = FakeWooCommerce(clock=woo_clock, currency="EUR")
    await shop.start()
    try:
        yield shop
    finally:
        await shop.stop()


@pytest.fixture
async def wire(woo: FakeWooCommerce) -> AsyncIterator[Wire]:
    async with aiohttp.ClientSession() as session:
        yield Wire(woo, session)


# ---- keys and permissions ---------------------------------------------------------------------------------


async def test_without_a_known_key_the_route_refuses_as_woocommerce_does(wire: Wire) -> None:
    wire.key = None
    status, answer, _ = await wire.call("GET", "/coupons")
    assert (status, answer["code"], answer["data"]) == (401, "woocommerce_rest_cannot_view", {"status": 401})
    wire.key = ("ck_unknown", "cs_whatever")
    status, answer, _ = await wire.call("POST", "/coupons", {"code": "x"})
    assert (status, answer["code"]) == (401, "woocommerce_rest_cannot_create")
    assert wire.shop.coupons == {}


async def test_a_wrong_secret_is_named_and_basic_auth_is_asked_for(wire: Wire) -> None:
    wire.key = (wire.shop.key.consumer_key, "cs_wrong")
    status, answer, headers = await wire.call("GET", "/coupons")
    assert (status, answer["code"], answer["message"]) == (
        401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.",
    )  # fmt: skip
    assert headers["WWW-Authenticate"].startswith('Basic realm="WooCommerce API')


async def test_the_key_may_come_in_the_query_string(wire: Wire) -> None:
    wire.key = None
    key = wire.shop.key
    status, answer, _ = await wire.call(
        "GET", "/coupons", consumer_key=key.consumer_key, consumer_secret=key.consumer_secret
    )
    assert (status, answer) == (200, [])
    assert wire.shop.requests[-1].auth == "query" and "consumer_secret" not in wire.shop.requests[-1].query


async def test_a_read_key_cannot_write_and_a_write_key_cannot_read(wire: Wire) -> None:
    read = wire.shop.add_key("read")
    wire.key = (read.consumer_key, read.consumer_secret)
    assert await wire.ok("GET", "/coupons") == []
    status, answer, _ = await wire.call("POST", "/coupons", {"code": "alice10", "amount": "10"})
    assert (status, answer["code"], answer["message"]) == (
        401, "woocommerce_rest_authentication_error", "The API key provided does not have write permissions.",
    )  # fmt: skip
    status, answer, _ = await wire.call("POST", "/coupons/batch", {})
    assert status == 401 and "write permissions" in answer["message"]
    write = wire.shop.add_key("write")
    wire.key = (write.consumer_key, write.consumer_secret)
    status, answer, _ = await wire.call("GET", "/orders")
    assert status == 401 and answer["message"] == "The API key provided does not have read permissions."
    assert wire.shop.coupons == {}


async def test_a_key_of_a_user_who_may_not_manage_the_shop_gets_403(wire: Wire) -> None:
    customer = wire.shop.add_key("read_write", manages_shop=False)
    wire.key = (customer.consumer_key, customer.consumer_secret)
    status, answer, _ = await wire.call("GET", "/settings/general/woocommerce_currency")
    assert (status, answer["code"]) == (403, "woocommerce_rest_cannot_view")


async def test_an_unknown_route_is_wordpress_404(wire: Wire) -> None:
    status, answer, _ = await wire.call("GET", "/discounts")
    assert (status, answer["code"]) == (404, "rest_no_route")


async def test_the_currency_setting_reads_without_side_effects(wire: Wire) -> None:
    setting = await wire.ok("GET", "/settings/general/woocommerce_currency")
    assert (setting["id"], setting["value"]) == ("woocommerce_currency", "EUR")
    assert await wire.ok("POST", "/coupons/batch", {}) == []  # an empty batch: allowed to a write key, changes nothing
    assert wire.shop.coupons == {}


# ---- coupons ------------------------------------------------------------------------------------------------


async def test_a_coupon_is_created_in_lower_case_with_the_documented_shape(wire: Wire) -> None:
    made = await wire.ok("POST", "/coupons", {
        "code": "ALICE10", "discount_type": "percent", "amount": "10", "description": "Collective ambassador code",
        "individual_use": True, "usage_limit_per_user": 1, "minimum_amount": "20",
    })  # fmt: skip
    assert made["code"] == "alice10" and made["amount"] == "10.00" and made["minimum_amount"] == "20.00"
    assert (made["discount_type"], made["individual_use"], made["usage_limit_per_user"]) == ("percent", True, 1)
    assert made["usage_limit"] is None and made["date_expires"] is None and made["status"] == "publish"
    # The site is at UTC+2: local and GMT dates differ.
    assert (made["date_created"], made["date_created_gmt"]) == ("2025-06-01T14:00:00", "2025-06-01T12:00:00")
    assert await wire.ok("GET", f"/coupons/{made['id']}") == made
    assert list(wire.shop.coupons) == ["alice10"]


async def test_a_taken_code_is_refused_whatever_its_case(wire: Wire) -> None:
    wire.shop.add_coupon("alice10")
    status, answer, _ = await wire.call("POST", "/coupons", {"code": "Alice10", "amount": "5"})
    assert (status, answer["code"], answer["message"]) == (
        400, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists",
    )  # fmt: skip
    assert len(wire.shop.coupons) == 1


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"code": "x1", "discount_type": "percent_off", "amount": "10"}, "rest_invalid_param", "discount_type"),
        ({"code": "x1", "amount": 10}, "rest_invalid_param", "amount"),
        ({"code": "x1", "amount": "10", "individual_use": "sometimes"}, "rest_invalid_param", "individual_use"),
        ({"code": "x1", "amount": "10", "usage_limit_per_user": "once"}, "rest_invalid_param", "usage_limit_per_user"),
        ({"code": "x1", "amount": "-5"}, "coupon_invalid_amount", None),
        ({"code": "x1", "amount": "150", "discount_type": "percent"}, "coupon_invalid_amount", None),
        ({"code": "x1", "amount": "ten"}, "coupon_invalid_amount", None),
        ({"code": "   ", "amount": "10"}, "woocommerce_rest_empty_coupon_code", None),
        ({"amount": "10"}, "rest_missing_callback_param", None),
    ],
)
async def test_refusals_carry_woocommerces_codes(
    wire: Wire, body: dict[str, Any], code: str, param: str | None
) -> None:
    status, answer, _ = await wire.call("POST", "/coupons", body)
    assert (status, answer["code"]) == (400, code), answer
    if param is not None:
        assert param in answer["data"]["params"] and param in answer["message"]
    assert wire.shop.coupons == {}


async def test_updates_skip_nulls_and_an_empty_expiry_clears_it(wire: Wire, woo_clock: ManualClock) -> None:
    coupon = wire.shop.add_coupon("alice10")
    # With an offset the time is exact; date_expires_gmt has no setter in WooCommerce and changes nothing.
    updated = await wire.ok("PUT", f"/coupons/{coupon.id}", {
        "date_expires": "2025-05-31T12:00:00Z", "date_expires_gmt": "2030-01-01T00:00:00", "description": "paused",
    })  # fmt: skip
    assert (updated["date_expires_gmt"], updated["date_expires"]) == ("2025-05-31T12:00:00", "2025-05-31T14:00:00")
    assert not wire.shop.coupon_usable("ALICE10")
    kept = await wire.ok("PUT", f"/coupons/{coupon.id}", {"date_expires": None, "description": None})
    assert kept["date_expires_gmt"] == "2025-05-31T12:00:00" and kept["description"] == "paused"
    cleared = await wire.ok("PUT", f"/coupons/{coupon.id}", {"date_expires": ""})
    assert cleared["date_expires_gmt"] is None and wire.shop.coupon_usable("alice10")
    # Without an offset the time is the site's local time (UTC+2).
    local = await wire.ok("PUT", f"/coupons/{coupon.id}", {"date_expires": "2025-06-01T15:00:00"})
    assert local["date_expires_gmt"] == "2025-06-01T13:00:00"
    woo_clock.advance(2 * 3600)
    assert not wire.shop.coupon_usable("alice10")


async def test_a_refused_update_changes_nothing(wire: Wire) -> None:
    coupon = wire.shop.add_coupon("alice10", amount="10")
    wire.shop.add_coupon("bob10")
    status, answer, _ = await wire.call("PUT", f"/coupons/{coupon.id}", {"description": "new", "code": "BOB10"})
    assert (status, answer["code"]) == (400, "woocommerce_rest_coupon_code_already_exists")
    assert wire.shop.coupons["alice10"].description == ""


async def test_meta_data_is_updated_by_key_not_duplicated(wire: Wire) -> None:
    coupon = wire.shop.add_coupon("alice10")
    await wire.ok("PUT", f"/coupons/{coupon.id}", {"meta_data": [{"key": "collective", "value": "a"}]})
    answer = await wire.ok("PUT", f"/coupons/{coupon.id}", {"meta_data": [{"key": "collective", "value": "b"}]})
    assert [(m["key"], m["value"]) for m in answer["meta_data"]] == [("collective", "b")]


async def test_delete_trashes_first_and_a_trashed_code_is_free_again(wire: Wire) -> None:
    coupon = wire.shop.add_coupon("alice10")
    trashed = await wire.ok("DELETE", f"/coupons/{coupon.id}")
    assert trashed["status"] == "trash" and wire.shop.coupons == {}
    assert await wire.ok("GET", "/coupons", code="alice10") == []
    again = await wire.ok("POST", "/coupons", {"code": "ALICE10", "amount": "10"})
    assert again["id"] != coupon.id
    await wire.ok("DELETE", f"/coupons/{coupon.id}", force="true")
    status, answer, _ = await wire.call("GET", f"/coupons/{coupon.id}")
    assert (status, answer["code"]) == (404, "woocommerce_rest_shop_coupon_invalid_id")


async def test_coupons_are_found_by_code_and_searched(wire: Wire) -> None:
    wire.shop.add_coupon("alice10", description="Collective ambassador code ALICE10")
    wire.shop.add_coupon("summer", description="season")
    assert [c["code"] for c in await wire.ok("GET", "/coupons", code="ALICE10")] == ["alice10"]
    assert await wire.ok("GET", "/coupons", code="alice") == []  # exact, not a prefix
    assert [c["code"] for c in await wire.ok("GET", "/coupons", search="ambassador")] == ["alice10"]


async def test_collections_page_with_wordpress_headers(wire: Wire) -> None:
    for n in range(12):
        wire.shop.add_coupon(f"code{n:02d}")
    status, first, headers = await wire.call("GET", "/coupons", per_page="5", orderby="id", order="asc")
    assert status == 200 and [c["code"] for c in first] == [f"code{n:02d}" for n in range(5)]
    assert (headers["X-WP-Total"], headers["X-WP-TotalPages"]) == ("12", "3")
    assert 'rel="next"' in headers["Link"] and "page=2" in headers["Link"]
    _, last, headers = await wire.call("GET", "/coupons", per_page="5", page="3", orderby="id", order="asc")
    assert [c["code"] for c in last] == ["code10", "code11"] and 'rel="next"' not in headers["Link"]
    assert len(await wire.ok("GET", "/coupons")) == 10  # WordPress's default page size
    for bad in ({"per_page": "101"}, {"per_page": "0"}, {"page": "0"}):
        status, answer, _ = await wire.call("GET", "/coupons", **bad)
        assert (status, answer["code"]) == (400, "rest_invalid_param"), bad


# ---- orders -------------------------------------------------------------------------------------------------


async def test_an_order_has_what_the_webhook_parser_reads(wire: Wire) -> None:
    wire.shop.add_coupon("alice10", amount="10")
    order = await wire.shop.place_order(code="ALICE10", total="45.00", email="Buyer@Example.com")
    answer = await wire.ok("GET", f"/orders/{order.id}")
    assert answer["coupon_lines"][0]["code"] == "alice10" and answer["line_items"][0]["subtotal"] == "50.00"
    assert (answer["discount_total"], answer["total"], answer["status"]) == ("5.00", "45.00", "processing")
    assert answer["date_created_gmt"] == "2025-06-01T12:00:00" and answer["date_paid_gmt"] == "2025-06-01T12:00:00"
    await wire.shop.refund(order, "10.00", reason="damaged")
    answer = await wire.ok("GET", f"/orders/{order.id}")
    assert answer["refunds"] == [{"id": order.refunds[0].id, "reason": "damaged", "total": "-10.00"}]
    parsed = woocommerce_order(answer)
    assert (parsed.order_id, parsed.codes, parsed.gross_minor, parsed.discount_minor) == (
        str(order.id), ("ALICE10",), 5000, 500,
    )  # fmt: skip
    assert [r.amount_minor for r in parsed.refunds] == [1000] and parsed.paid and parsed.currency == "EUR"


async def test_checkout_refuses_a_coupon_the_store_would_refuse(wire: Wire, woo_clock: ManualClock) -> None:
    wire.shop.add_coupon("once", usage_limit_per_user=1)
    await wire.shop.place_order(code="ONCE", email="a@example.com")
    with pytest.raises(CheckoutRefused, match="usage limit"):
        await wire.shop.place_order(code="once", email="a@example.com")
    wire.shop.add_coupon("big", minimum_amount="100")
    with pytest.raises(CheckoutRefused, match="minimum spend"):
        await wire.shop.place_order(code="big", total="45.00")
    wire.shop.add_coupon("old", date_expires="2025-06-01T11:00:00Z")
    with pytest.raises(CheckoutRefused, match="expired"):
        await wire.shop.place_order(code="old")
    with pytest.raises(CheckoutRefused, match="does not exist"):
        await wire.shop.place_order(code="nobody")
    assert len(wire.shop.orders) == 1


async def test_orders_are_filtered_by_modification_exclusively_and_sorted(wire: Wire, woo_clock: ManualClock) -> None:
    first = await wire.shop.place_order()  # 12:00:00 UTC
    woo_clock.advance(60)
    second = await wire.shop.place_order(paid=False)  # 12:01:00
    woo_clock.advance(60)
    await wire.shop.mark_paid(first)  # first modified at 12:02:00
    found = await wire.ok("GET", "/orders", modified_after="2025-06-01T12:00:00", modified_before="2025-06-01T12:02:00",
                          dates_are_gmt="true", orderby="modified", order="asc")  # fmt: skip
    assert [o["id"] for o in found] == [second.id]  # both bounds exclusive
    found = await wire.ok("GET", "/orders", modified_after="2025-06-01T11:59:59", dates_are_gmt="true",
                          orderby="modified", order="asc")  # fmt: skip
    assert [o["id"] for o in found] == [second.id, first.id]
    # Without dates_are_gmt the bound is the site's local time (UTC+2): 12:00:30 local is 10:00:30 GMT.
    found = await wire.ok("GET", "/orders", modified_after="2025-06-01T12:00:30", orderby="modified", order="asc")
    assert [o["id"] for o in found] == [second.id, first.id]
    # With an offset, WordPress turns the bound into local time even for GMT columns: 12:00:30Z reads as 14:00:30.
    found = await wire.ok("GET", "/orders", modified_after="2025-06-01T12:00:30Z", dates_are_gmt="true")
    assert found == []
    status, answer, _ = await wire.call("GET", "/orders", modified_after="yesterday")
    assert (status, answer["data"]["params"]) == (400, {"modified_after": "Invalid date."})
    status, answer, _ = await wire.call("GET", "/orders", orderby="updated")
    assert (status, answer["code"]) == (400, "rest_invalid_param")


# ---- webhooks -----------------------------------------------------------------------------------------------


async def test_webhooks_are_created_listed_and_deleted_only_with_force(wire: Wire) -> None:
    made = await wire.ok("POST", "/webhooks", {"name": "Collective", "topic": "order.created",
                                               "delivery_url": "https://collective.example.com/webhooks/woocommerce/1",
                                               "secret": "s3cret"})  # fmt: skip
    assert (made["status"], made["resource"], made["event"]) == ("active", "order", "created")
    assert "secret" not in made  # write-only
    assert (
        wire.shop.deliveries[-1].topic == "ping"
        and wire.shop.deliveries[-1].body == f"webhook_id={made['id']}".encode()
    )
    assert [w["id"] for w in await wire.ok("GET", "/webhooks")] == [made["id"]]
    status, answer, _ = await wire.call("DELETE", f"/webhooks/{made['id']}")
    assert (status, answer["code"]) == (501, "woocommerce_rest_trash_not_supported")
    await wire.ok("DELETE", f"/webhooks/{made['id']}", force="true")
    assert wire.shop.webhooks == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"topic": "order.paid", "delivery_url": "https://x.example/h"}, "woocommerce_rest_shop_webhook_invalid_topic"),
        ({"delivery_url": "https://x.example/h"}, "woocommerce_rest_shop_webhook_invalid_topic"),
        ({"topic": "order.created", "delivery_url": "ftp://x.example/h"},
         "woocommerce_rest_shop_webhook_invalid_delivery_url"),
    ],
)  # fmt: skip
async def test_a_bad_webhook_is_refused(wire: Wire, body: dict[str, Any], code: str) -> None:
    status, answer, _ = await wire.call("POST", "/webhooks", body)
    assert (status, answer["code"]) == (400, code)
    assert wire.shop.webhooks == []


async def test_deliveries_are_signed_and_recorded_by_the_bots_own_webhook_server(
    wire: Wire, db: Database, clock: FixedClock
) -> None:
    """The real receiver (bot/webhooks.py) verifies the fake's signature, answers its ping, and records the sale
    and the refund that arrives as an order update."""
    secret = "woo-webhook-secret"
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    hooks = WebhookServer(db, WebhookSettings(enabled=True, woocommerce_secret=SecretStr(secret)), clock)
    async with TestServer(hooks.app) as bot_server:
        url = str(bot_server.make_url(f"/webhooks/woocommerce/{GUILD}"))
        for topic in ("order.created", "order.updated"):
            await wire.ok("POST", "/webhooks", {"topic": topic, "delivery_url": url, "secret": secret})
        assert [d.status for d in wire.shop.deliveries] == [200, 200]  # the unsigned pings
        wire.shop.add_coupon("alice10", amount="10")
        order = await wire.shop.place_order(code="ALICE10", total="45.00")
        await wire.shop.refund(order, "9.00")
    created, updated = wire.shop.deliveries[-2:]
    assert (created.topic, created.status, updated.topic, updated.status) == (
        "order.created", 200, "order.updated", 200,
    )  # fmt: skip
    for delivery in (created, updated):
        assert signature_ok(delivery.body, delivery.headers["X-WC-Webhook-Signature"], SecretStr(secret))
        assert delivery.headers["X-WC-Webhook-Resource"] == "order" and delivery.headers["X-WC-Webhook-ID"]
    assert not signature_ok(created.body, created.headers["X-WC-Webhook-Signature"], SecretStr("other"))
    assert woocommerce_order(parse_json(updated.body)).refunds[0].amount_minor == 900
    rows = await db.fetchall("SELECT kind, net_minor FROM sales WHERE shop = 'woocommerce' ORDER BY id")
    assert [(r["kind"], r["net_minor"]) for r in rows] == [("sale", 4500), ("refund", -900)]


async def test_a_webhook_that_keeps_failing_is_disabled(wire: Wire) -> None:
    made = await wire.ok("POST", "/webhooks", {"topic": "order.created", "delivery_url": "http://127.0.0.1:9/nothing"})
    for _ in range(5):
        await wire.shop.place_order()
    assert [d.status for d in wire.shop.deliveries if d.topic == "order.created"] == [None] * 5
    assert (await wire.ok("GET", f"/webhooks/{made['id']}"))["status"] == "disabled"
    await wire.shop.place_order()
    assert len([d for d in wire.shop.deliveries if d.topic == "order.created"]) == 5  # disabled: no more tries


# ---- faults -------------------------------------------------------------------------------------------------


async def test_faults_answer_like_wordpress_and_its_hosts(wire: Wire) -> None:
    wire.shop.faults.fail(503)
    async with wire.session.get(f"{wire.shop.url}{API}/coupons") as response:
        assert response.status == 503 and response.content_type == "text/html"
        assert "maintenance" in await response.text()
    wire.shop.faults.fail(429)
    status, answer, headers = await wire.call("GET", "/coupons")
    assert (status, headers["Retry-After"]) == (429, "1.0")
    wire.shop.faults.fail(500)
    status, answer, _ = await wire.call("GET", "/coupons")
    assert (status, answer["code"]) == (500, "internal_server_error")
    assert await wire.ok("GET", "/coupons") == []


async def test_a_store_that_is_down_refuses_connections_until_it_comes_back(woo: FakeWooCommerce) -> None:
    await woo.go_down()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{woo.url}{API}/coupons")
    await woo.come_back()
    async with aiohttp.ClientSession() as session:
        assert Wire(woo, session).key is not None
        assert await Wire(woo, session).ok("GET", "/coupons") == []
    assert woo.utc_offset == timedelta(hours=2)
