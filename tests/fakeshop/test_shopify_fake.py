"""The fake Shopify shop answers like Shopify: shapes, refusals, userErrors, scopes, cost, faults, webhooks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.webhooks import sign
from emulator.shop import FakeShopify, ManualClock
from emulator.shop.schema import SCHEMA_FILE
from tests.fakeshop.conftest import Client

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "commerce"

CREATE = """
mutation Create($input: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $input) {
    codeDiscountNode { id codeDiscount { ... on DiscountCodeBasic {
      title status codes(first: 1) { nodes { code } }
      customerGets { value { ... on DiscountPercentage { percentage } ... on DiscountAmount { amount { amount } } } }
    } } }
    userErrors { field code message }
  }
}
"""


def discount_input(code: str, *, percentage: float = 0.1) -> dict[str, object]:
    return {
        "title": f"Ambassador {code}",
        "code": code,
        "startsAt": "2025-06-01T00:00:00Z",
        "customerGets": {"value": {"percentage": percentage}, "items": {"all": True}},
        "appliesOncePerCustomer": True,
        "combinesWith": {"productDiscounts": False, "orderDiscounts": False, "shippingDiscounts": True},
    }


async def create(client: Client, code: str) -> Any:
    data = await client.gql(CREATE, {"input": discount_input(code)})
    return data["discountCodeBasicCreate"]


def test_schema_ships_in_the_package() -> None:
    # The bot must not read ../shared at run time: the schema and its licence live beside the code.
    assert SCHEMA_FILE.parent.name == "shop" and SCHEMA_FILE.exists()
    assert (SCHEMA_FILE.parent / "SHOPIFY_SCHEMA_LICENSE").read_text().startswith("ISC License")


async def test_shop_and_scopes(client: Client) -> None:
    data = await client.gql(
        "{ shop { name myshopifyDomain currencyCode } currentAppInstallation { accessScopes { handle } } }"
    )
    assert data["shop"] == {
        "name": "Collective Test Shop",
        "myshopifyDomain": "collective-test.myshopify.com",
        "currencyCode": "USD",
    }
    handles = {s["handle"] for s in data["currentAppInstallation"]["accessScopes"]}
    assert {"write_discounts", "read_orders"} <= handles


async def test_discount_lifecycle(client: Client, shop: FakeShopify, shop_clock: ManualClock) -> None:
    payload = await create(client, "Alice10")
    assert payload["userErrors"] == []
    node = payload["codeDiscountNode"]
    assert node["id"].startswith("gid://shopify/DiscountCodeNode/")
    assert node["codeDiscount"]["status"] == "ACTIVE"
    assert node["codeDiscount"]["codes"]["nodes"] == [{"code": "Alice10"}]
    assert node["codeDiscount"]["customerGets"]["value"] == {"percentage": 0.1}
    assert shop.discounts["ALICE10"].applies_once_per_customer is True

    by_code = await client.gql(
        'query { codeDiscountNodeByCode(code: "alice10") { id codeDiscount { ... on DiscountCodeBasic { status } } } }'
    )
    assert by_code["codeDiscountNodeByCode"]["id"] == node["id"]  # codes are case-insensitive

    off = await client.gql(
        "mutation($id: ID!) { discountCodeDeactivate(id: $id) { codeDiscountNode { codeDiscount {"
        " ... on DiscountCodeBasic { status endsAt } } } userErrors { field code message } } }",
        {"id": node["id"]},
    )
    assert off["discountCodeDeactivate"]["userErrors"] == []
    assert off["discountCodeDeactivate"]["codeDiscountNode"]["codeDiscount"]["status"] == "EXPIRED"
    assert shop.discount_status("ALICE10") == "EXPIRED"

    shop_clock.advance(60)
    on = await client.gql(
        "mutation($id: ID!) { discountCodeActivate(id: $id) { codeDiscountNode { codeDiscount {"
        " ... on DiscountCodeBasic { status endsAt } } } userErrors { field code message } } }",
        {"id": node["id"]},
    )
    assert on["discountCodeActivate"]["codeDiscountNode"]["codeDiscount"] == {"status": "ACTIVE", "endsAt": None}

    updated = await client.gql(
        "mutation($id: ID!, $input: DiscountCodeBasicInput!) { discountCodeBasicUpdate(id: $id, basicCodeDiscount:"
        " $input) { codeDiscountNode { codeDiscount { ... on DiscountCodeBasic { codes(first: 1) { nodes { code } }"
        " customerGets { value { ... on DiscountAmount { amount { amount currencyCode } } } } } } }"
        " userErrors { field code message } } }",
        {
            "id": node["id"],
            "input": {"code": "ALICE-VIP", "customerGets": {"value": {"discountAmount": {"amount": 5}}}},
        },
    )
    result = updated["discountCodeBasicUpdate"]
    assert result["userErrors"] == []
    basic = result["codeDiscountNode"]["codeDiscount"]
    assert basic["codes"]["nodes"] == [{"code": "ALICE-VIP"}]
    assert basic["customerGets"]["value"] == {"amount": {"amount": "5.00", "currencyCode": "USD"}}
    assert set(shop.discounts) == {"ALICE-VIP"}


async def test_taken_code_is_a_user_error(client: Client, shop: FakeShopify) -> None:
    assert (await create(client, "BOB15"))["userErrors"] == []
    again = await create(client, "bob15")
    assert again["codeDiscountNode"] is None
    assert again["userErrors"] == [
        {
            "field": ["basicCodeDiscount", "code"],
            "code": "TAKEN",
            "message": "Code must be unique. Please try a different code.",
        }
    ]
    # A code made by hand in the shop's admin is taken too, and a rename onto it is refused without changes.
    shop.add_discount("SUMMER")
    other = await create(client, "CAROL")
    renamed = await client.gql(
        "mutation($id: ID!, $input: DiscountCodeBasicInput!) { discountCodeBasicUpdate(id: $id, basicCodeDiscount:"
        " $input) { codeDiscountNode { id } userErrors { field code message } } }",
        {"id": other["codeDiscountNode"]["id"], "input": {"code": "summer"}},
    )
    assert renamed["discountCodeBasicUpdate"]["userErrors"][0]["code"] == "TAKEN"
    assert "CAROL" in shop.discounts


async def test_single_use_and_product_inputs_are_validated_like_shopify(client: Client, shop: FakeShopify) -> None:
    async def errors(**changes: object) -> list[Any]:
        data = await client.gql(CREATE, {"input": {**discount_input("ONCE"), **changes}})
        return [(e["field"][-1], e["code"]) for e in data["discountCodeBasicCreate"]["userErrors"]]

    assert await errors(usageLimit=0) == [("usageLimit", "GREATER_THAN")]
    assert await errors(endsAt="2025-05-01T00:00:00Z") == [("endsAt", "INVALID")]
    wrong = {"value": {"percentage": 1.0}, "items": {"products": {"productsToAdd": ["gid://shopify/Order/1"]}}}
    assert await errors(customerGets=wrong) == [("0", "INVALID")]
    none = {"value": {"percentage": 1.0}, "items": {"products": {"productsToAdd": []}}}
    assert await errors(customerGets=none) == [("products", "BLANK")]
    both = {
        "value": {"percentage": 1.0},
        "items": {"all": True, "products": {"productsToAdd": ["gid://shopify/Product/1"]}},
    }
    assert await errors(customerGets=both) == [("items", "INVALID")]
    missing = {"value": {"percentage": 1.0}, "items": {"products": {"productsToAdd": ["gid://shopify/Product/1"]}}}
    assert await errors(customerGets=missing) == [("0", "INVALID")]
    assert not shop.discounts
    serum = shop.add_product("Glow serum")
    product = {"value": {"percentage": 1.0}, "items": {"products": {"productsToAdd": [serum.gid]}}}
    assert await errors(usageLimit=1, endsAt="2025-07-01T00:00:00Z", customerGets=product) == []
    held = shop.discounts["ONCE"]
    assert (held.usage_limit, held.product_ids) == (1, [serum.gid])


async def test_blank_and_out_of_range_inputs_are_user_errors(client: Client) -> None:
    blank = await client.gql(CREATE, {"input": {**discount_input("X"), "code": ""}})
    assert blank["discountCodeBasicCreate"]["userErrors"][0]["code"] == "BLANK"
    wide = await client.gql(CREATE, {"input": discount_input("WIDE", percentage=10)})
    assert wide["discountCodeBasicCreate"]["userErrors"][0]["code"] == "VALUE_OUTSIDE_RANGE"
    missing = await client.gql(
        'mutation { discountCodeDeactivate(id: "gid://shopify/DiscountCodeNode/1") { userErrors { field message } } }'
    )
    assert missing["discountCodeDeactivate"]["userErrors"][0]["field"] == ["id"]


@pytest.mark.parametrize(
    ("query", "variables", "fragment"),
    [
        ("{ shop { name nickname } }", {}, "nickname"),  # unknown field
        ("{ codeDiscountNodeByCode(code: 5) { id } }", {}, "String"),  # wrong literal type
        ("query($c: Int!) { codeDiscountNodeByCode(code: $c) { id } }", {"c": 1}, "Int"),  # wrong variable type
        (
            "mutation($t: WebhookSubscriptionTopic!) { webhookSubscriptionCreate(topic: $t, webhookSubscription:"
            ' {uri: "https://x.example/h"}) { userErrors { message } } }',
            {"t": "ORDERS_PAID"},
            "uri",  # 2025-01 has callbackUrl; `uri` came later
        ),
        ("{ shop { name }", {}, "Syntax Error"),
    ],
)
async def test_invalid_documents_are_refused(client: Client, query: str, variables: dict, fragment: str) -> None:
    status, body = await client.post(query, variables)
    assert status == 200
    assert "data" not in body or body["data"] is None
    assert any(fragment in e["message"] for e in body["errors"]), body


async def test_variable_of_wrong_type_is_refused(client: Client) -> None:
    status, body = await client.post(CREATE, {"input": {**discount_input("Z"), "appliesOncePerCustomer": "yes"}})
    assert status == 200 and body["errors"] and "appliesOncePerCustomer" in body["errors"][0]["message"]


async def test_auth_and_version(client: Client) -> None:
    client.token = "wrong"
    status, body = await client.post("{ shop { name } }")
    assert status == 401
    assert body == {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    client.token = ""
    assert (await client.post("{ shop { name } }"))[0] == 401
    client.token = client.shop.token
    client.version = "2019-04"
    assert (await client.post("{ shop { name } }"))[0] == 404


async def test_missing_scope_is_access_denied() -> None:
    shop = FakeShopify(scopes={"read_discounts"}, clock=ManualClock())
    await shop.start()
    try:
        async with aiohttp.ClientSession() as session:
            client = Client(shop, session)
            status, body = await client.post(CREATE, {"input": discount_input("NOPE")})
            assert status == 200 and body["data"] is None
            error = body["errors"][0]
            assert error["extensions"]["code"] == "ACCESS_DENIED"
            assert error["extensions"]["requiredAccess"] == "`write_discounts` access scope."
            assert error["message"].startswith("Access denied for discountCodeBasicCreate field.")
            assert error["path"] == ["discountCodeBasicCreate"]
            status, body = await client.post("{ orders(first: 1) { nodes { id } } }")
            assert body["errors"][0]["extensions"]["requiredAccess"] == "`read_orders` access scope."
            # Reading discounts is granted; nothing was created by the refused mutation.
            assert (await client.gql('{ codeDiscountNodeByCode(code: "NOPE") { id } }')) == {
                "codeDiscountNodeByCode": None
            }
    finally:
        await shop.stop()


async def test_write_scope_grants_read() -> None:
    shop = FakeShopify(scopes={"write_discounts"}, clock=ManualClock())
    assert shop.run('{ codeDiscountNodeByCode(code: "A") { id } }', {})["data"] == {"codeDiscountNodeByCode": None}


async def test_cost_extension_throttling_and_refill() -> None:
    clock = ManualClock()
    shop = FakeShopify(clock=clock, maximum_available=100, restore_rate=10)
    query = "{ orders(first: 10) { nodes { id totalPriceSet { shopMoney { amount } } } } }"
    first = shop.run(query, {})
    cost = first["extensions"]["cost"]
    # connection 2 + 10 x (order 1 + totalPriceSet 1 + shopMoney 1) = 32
    assert cost["requestedQueryCost"] == 32 and cost["actualQueryCost"] == 32
    assert cost["throttleStatus"] == {"maximumAvailable": 100.0, "currentlyAvailable": 68.0, "restoreRate": 10.0}
    shop.run(query, {})  # 36 left
    shop.run(query, {})  # 4 left
    throttled = shop.run(query, {})
    assert throttled["errors"] == [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]
    assert "data" not in throttled
    assert throttled["extensions"]["cost"]["actualQueryCost"] is None
    assert throttled["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 4.0
    clock.advance(2.8)  # 4 + 28 = 32: exactly enough
    again = shop.run(query, {})
    assert "errors" not in again and again["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0.0
    clock.advance(60)
    assert shop.bucket.available == 100  # never above the maximum


async def test_mutation_costs_ten_and_huge_queries_are_refused() -> None:
    shop = FakeShopify(clock=ManualClock())
    payload = shop.run(CREATE, {"input": discount_input("COST")})
    assert payload["extensions"]["cost"]["requestedQueryCost"] >= 10
    huge = shop.run(
        "{ orders(first: 250) { nodes { id refunds { id totalRefundedSet { shopMoney { amount } } } } } }", {}
    )
    assert huge["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


async def test_throttled_over_http(shop: FakeShopify, client: Client) -> None:
    shop.bucket.maximum = shop.bucket._available = 5
    status, body = await client.post("{ orders(first: 5) { nodes { id } } }")
    assert status == 200 and body["errors"][0]["extensions"]["code"] == "THROTTLED"


@pytest.mark.parametrize("code", [401, 403, 429, 500, 503])
async def test_faults_on_demand(shop: FakeShopify, client: Client, code: int) -> None:
    shop.faults.fail(code, times=2)
    for _ in range(2):
        status, body = await client.post("{ shop { name } }")
        assert status == code and isinstance(body["errors"], str)
    assert (await client.gql("{ shop { name } }"))["shop"]["name"]


async def test_retry_after_on_429(shop: FakeShopify, client: Client) -> None:
    shop.faults.fail(429)
    async with client.session.post(shop.graphql_url(), json={"query": "{ shop { name } }"}) as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "1.0"


async def test_shop_down_refuses_connections(shop: FakeShopify, client: Client) -> None:
    await shop.go_down()
    with pytest.raises(aiohttp.ClientConnectionError):
        await client.post("{ shop { name } }")
    await shop.come_back()
    assert (await client.gql("{ shop { name } }"))["shop"]["name"]


ORDERS = """
query Orders($after: String, $q: String) {
  orders(first: 2, after: $after, query: $q, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId name createdAt updatedAt currencyCode displayFinancialStatus
      totalPriceSet { shopMoney { amount currencyCode } }
      subtotalPriceSet { shopMoney { amount } }
      totalDiscountsSet { shopMoney { amount } }
      discountApplications(first: 5) { nodes { __typename ... on DiscountCodeApplication { code } } }
      refunds { id createdAt totalRefundedSet { shopMoney { amount currencyCode } } }
    }
  }
}
"""


async def test_orders_pagination_and_updated_at_filter(shop: FakeShopify, client: Client) -> None:
    base = datetime(2025, 6, 1, tzinfo=UTC)
    shop.add_discount("DANA10", percentage=0.1)
    old = await shop.place_order(code="dana10", total="90.00", at=base - timedelta(days=1))
    placed = [await shop.place_order(code="DANA10", total="45.00", at=base + timedelta(hours=i)) for i in range(4)]
    placed.append(await shop.place_order(total="20.00", currency="EUR", at=base + timedelta(hours=5)))
    await shop.refund(old, "30.00", at=base + timedelta(hours=6))  # the refund makes the old order changed

    seen: list[dict] = []
    after = None
    pages = 0
    while True:
        data = await client.gql(ORDERS, {"after": after, "q": "updated_at:>'2025-05-31T12:00:00Z'"})
        conn = data["orders"]
        seen.extend(conn["nodes"])
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert pages == 3
    assert [o["legacyResourceId"] for o in seen] == [str(o.id) for o in (*placed, old)]
    first = seen[0]
    assert first["name"] == "#1002" and first["currencyCode"] == "USD"
    assert first["totalPriceSet"]["shopMoney"] == {"amount": "45.00", "currencyCode": "USD"}
    assert first["totalDiscountsSet"]["shopMoney"]["amount"] == "5.00"  # 10 % of 50.00
    assert first["discountApplications"]["nodes"] == [{"__typename": "DiscountCodeApplication", "code": "DANA10"}]
    assert first["refunds"] == []
    assert seen[4]["discountApplications"]["nodes"] == [] and seen[4]["currencyCode"] == "EUR"
    refunded = seen[-1]
    assert refunded["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert refunded["refunds"][0]["totalRefundedSet"]["shopMoney"] == {"amount": "30.00", "currencyCode": "USD"}
    assert refunded["createdAt"] == "2025-05-31T00:00:00Z" and refunded["updatedAt"] == "2025-06-01T06:00:00Z"

    later = await client.gql(ORDERS, {"q": "updated_at:>='2025-06-01T05:00:00Z'"})
    assert len(later["orders"]["nodes"]) == 2


ORDER = """
query One($id: ID!) {
  order(id: $id) {
    id email
    refunds {
      id createdAt
      refundLineItems(first: 10) { pageInfo { hasNextPage } nodes { subtotalSet { shopMoney { amount } } } }
      transactions(first: 5) { nodes { kind status amountSet { shopMoney { amount currencyCode } } } }
    }
  }
}
"""


async def test_one_order_by_id_with_its_refunds_transactions(shop: FakeShopify, client: Client) -> None:
    order = await shop.place_order(total="40.00", email="buyer@example.com")
    refund = await shop.refund(order, "15.00")
    found = (await client.gql(ORDER, {"id": order.gid}))["order"]
    assert found["id"] == order.gid and found["email"] == "buyer@example.com"
    [got] = found["refunds"]
    assert got["id"] == refund.gid
    # A refund of money only: no line items, one successful REFUND transaction, as its refunds/create body says.
    assert got["refundLineItems"] == {"pageInfo": {"hasNextPage": False}, "nodes": []}
    assert got["transactions"]["nodes"] == [
        {"kind": "REFUND", "status": "SUCCESS", "amountSet": {"shopMoney": {"amount": "15.00", "currencyCode": "USD"}}}
    ]
    assert (await client.gql(ORDER, {"id": "gid://shopify/Order/1"}))["order"] is None
    body = shop.order_webhook_body(order)
    assert body["email"] == "buyer@example.com"


async def test_page_size_limits(client: Client) -> None:
    _, body = await client.post("{ orders(first: 251) { nodes { id } } }")
    assert "250" in body["errors"][0]["message"]
    _, body = await client.post("{ orders { nodes { id } } }")
    assert "first or last" in body["errors"][0]["message"]


class Receiver:
    """A stand-in for the bot's webhook endpoint, recording raw bodies and headers."""

    def __init__(self) -> None:
        self.got: list[tuple[bytes, dict[str, str]]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((await request.read(), dict(request.headers)))
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/shopify", rec.handle)
    rec.runner = web.AppRunner(app, access_log=None)
    await rec.runner.setup()
    site = web.TCPSite(rec.runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rec.url = f"http://127.0.0.1:{port}/hooks/shopify"
    try:
        yield rec
    finally:
        await rec.runner.cleanup()


SUBSCRIBE = """
mutation Sub($topic: WebhookSubscriptionTopic!, $url: URL!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url, format: JSON}) {
    webhookSubscription { id topic format endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
    userErrors { field message }
  }
}
"""


async def test_webhook_subscriptions_and_signed_deliveries(
    shop: FakeShopify, client: Client, receiver: Receiver
) -> None:
    for topic in ("ORDERS_CREATE", "ORDERS_PAID", "REFUNDS_CREATE"):
        made = (await client.gql(SUBSCRIBE, {"topic": topic, "url": receiver.url}))["webhookSubscriptionCreate"]
        assert made["userErrors"] == [] and made["webhookSubscription"]["topic"] == topic
        assert made["webhookSubscription"]["endpoint"] == {
            "__typename": "WebhookHttpEndpoint",
            "callbackUrl": receiver.url,
        }
    twin = (await client.gql(SUBSCRIBE, {"topic": "ORDERS_PAID", "url": receiver.url}))["webhookSubscriptionCreate"]
    assert twin["webhookSubscription"] is None and twin["userErrors"][0]["field"] == [
        "webhookSubscription",
        "callbackUrl",
    ]

    listed = await client.gql(
        "{ webhookSubscriptions(first: 2) { nodes { topic } pageInfo { hasNextPage endCursor } } }"
    )
    conn = listed["webhookSubscriptions"]
    assert [n["topic"] for n in conn["nodes"]] == ["ORDERS_CREATE", "ORDERS_PAID"] and conn["pageInfo"]["hasNextPage"]
    rest = await client.gql(
        "query($a: String) { webhookSubscriptions(first: 2, after: $a) { nodes { topic } } }",
        {"a": conn["pageInfo"]["endCursor"]},
    )
    assert [n["topic"] for n in rest["webhookSubscriptions"]["nodes"]] == ["REFUNDS_CREATE"]

    shop.add_discount("ERIN20", percentage=0.2)
    order = await shop.place_order(code="erin20", total="80.00")
    await shop.refund(order, "80.00")
    topics = [h["X-Shopify-Topic"] for _, h in receiver.got]
    assert topics == ["orders/create", "orders/paid", "refunds/create"]
    for raw, headers in receiver.got:
        assert headers["X-Shopify-Hmac-Sha256"] == sign(raw, shop.client_secret)
        assert headers["X-Shopify-Shop-Domain"] == "collective-test.myshopify.com"
        assert headers["X-Shopify-Webhook-Id"] and headers["X-Shopify-Event-Id"]
    body = json.loads(receiver.got[0][0])
    assert body["id"] == order.id and body["admin_graphql_api_id"] == order.gid
    assert body["total_price"] == "80.00" and body["currency"] == "USD"
    assert body["discount_codes"] == [{"code": "ERIN20", "amount": "20.00", "type": "fixed_amount"}]
    assert body["discount_applications"][0]["type"] == "discount_code"
    assert body["discount_applications"][0]["code"] == "ERIN20"
    refund = json.loads(receiver.got[2][0])
    assert refund["order_id"] == order.id and refund["transactions"][0]["amount"] == "80.00"
    assert order.financial_status == "REFUNDED"
    assert all(d.status == 200 for d in shop.deliveries)


@pytest.mark.skipif(not FIXTURES.exists(), reason="the shared commerce fixtures are not beside the checkout")
def test_webhook_body_keys_are_those_of_shopifys_example() -> None:
    example = json.loads((FIXTURES / "shopify_order_example.json").read_text())
    shop = FakeShopify(clock=ManualClock())
    shop.add_discount("TENOFF")
    from decimal import Decimal

    from emulator.shop.state import Order

    body = shop.order_webhook_body(
        Order(1, 1001, ManualClock().now(), ManualClock().now(), "USD", Decimal("9"), Decimal("1"), "TENOFF")
    )
    assert set(body) <= set(example), set(body) - set(example)
    assert set(body["discount_codes"][0]) == set(example["discount_codes"][0])
    assert set(body["discount_applications"][0]) == set(example["discount_applications"][0])
    assert set(body["total_price_set"]) == set(example["total_price_set"])
