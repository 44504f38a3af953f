"""The fake Shopify's draft orders answer like Shopify's: validated against the 2025-01 schema, scoped, refused with
userErrors, found by tag, completed once into a paid order whose fulfilment a test moves with ``fulfil``."""

from __future__ import annotations

from typing import Any

from emulator.shop import FakeShopify
from tests.fakeshop.conftest import Client

CREATE = """
mutation Create($input: DraftOrderInput!) {
  draftOrderCreate(input: $input) { draftOrder { id name status tags } userErrors { field message } }
}
"""
COMPLETE = """
mutation Complete($id: ID!) {
  draftOrderComplete(id: $id) { draftOrder { id status order { id name } } userErrors { field message } }
}
"""
FIND = "query Find($q: String!) { draftOrders(first: 5, query: $q) { nodes { id tags status } } }"
ORDER = """
query Order($id: ID!) {
  order(id: $id) {
    displayFulfillmentStatus totalPriceSet { shopMoney { amount } }
    shippingAddress { firstName lastName city zip countryCodeV2 }
    fulfillments(first: 5) { status displayStatus deliveredAt trackingInfo(first: 1) { url } }
  }
}
"""


def gift_input(variant: str, **extra: Any) -> dict[str, Any]:
    return {
        "lineItems": [{"variantId": variant, "quantity": 1}],
        "appliedDiscount": {"valueType": "PERCENTAGE", "value": 100.0, "title": "Gift"},
        "shippingAddress": {"firstName": "Ana", "lastName": "Lima", "address1": "Rua A 1", "city": "Lisboa",
                            "zip": "1000-001", "countryCode": "PT"},
        "tags": ["collective-gift-abc"],
        **extra,
    }  # fmt: skip


async def test_a_draft_is_created_found_by_tag_completed_once_and_fulfilled(shop: FakeShopify, client: Client) -> None:
    shop.scopes |= {"write_draft_orders", "read_orders"}
    variant = shop.add_product("Serum", price="30.00").variants[0].gid
    made = (await client.gql(CREATE, {"input": gift_input(variant)}))["draftOrderCreate"]
    assert made["userErrors"] == [] and made["draftOrder"]["status"] == "OPEN"
    draft_id = made["draftOrder"]["id"]
    found = (await client.gql(FIND, {"q": "tag:'collective-gift-abc'"}))["draftOrders"]["nodes"]
    assert [n["id"] for n in found] == [draft_id]
    assert (await client.gql(FIND, {"q": "tag:other"}))["draftOrders"]["nodes"] == []

    done = (await client.gql(COMPLETE, {"id": draft_id}))["draftOrderComplete"]
    order_id = done["draftOrder"]["order"]["id"]
    assert done["draftOrder"]["status"] == "COMPLETED" and order_id.startswith("gid://shopify/Order/")
    again = (await client.gql(COMPLETE, {"id": draft_id}))["draftOrderComplete"]
    assert again["userErrors"] and len(shop.orders) == 1

    order = (await client.gql(ORDER, {"id": order_id}))["order"]
    assert order["displayFulfillmentStatus"] == "UNFULFILLED"
    assert order["totalPriceSet"]["shopMoney"]["amount"] == "0.00"
    assert order["shippingAddress"] == {"firstName": "Ana", "lastName": "Lima", "city": "Lisboa", "zip": "1000-001",
                                        "countryCodeV2": "PT"}  # fmt: skip
    shop.fulfil(shop.orders[0], tracking_url="https://track.example/1")
    order = (await client.gql(ORDER, {"id": order_id}))["order"]
    (shipment,) = order["fulfillments"]
    assert order["displayFulfillmentStatus"] == "FULFILLED" and shipment["displayStatus"] == "IN_TRANSIT"
    assert shipment["trackingInfo"] == [{"url": "https://track.example/1"}] and shipment["deliveredAt"] is None
    shop.fulfil(shop.orders[0], delivered=True)
    (shipment,) = (await client.gql(ORDER, {"id": order_id}))["order"]["fulfillments"]
    assert shipment["displayStatus"] == "DELIVERED" and shipment["deliveredAt"] is not None


async def test_refusals_scopes_and_the_schema(shop: FakeShopify, client: Client) -> None:
    status, body = await client.post(CREATE, {"input": gift_input("gid://shopify/ProductVariant/1")})
    assert status == 200 and body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert "write_draft_orders" in body["errors"][0]["message"]
    shop.scopes.add("write_draft_orders")
    unknown = (await client.gql(CREATE, {"input": gift_input("gid://shopify/ProductVariant/1")}))["draftOrderCreate"]
    assert unknown["draftOrder"] is None and unknown["userErrors"][0]["field"] == ["lineItems", "0", "variantId"]
    variant = shop.add_product("Serum").variants[0].gid
    long_tag = (await client.gql(CREATE, {"input": gift_input(variant, tags=["x" * 41])}))["draftOrderCreate"]
    assert long_tag["userErrors"][0]["field"] == ["tags"]
    status, body = await client.post(CREATE.replace("tags }", "tags discountPercent }"), {"input": gift_input(variant)})
    assert "errors" in body and "discountPercent" in body["errors"][0]["message"]  # refused by Shopify's schema
    status, body = await client.post(COMPLETE, {"id": "gid://shopify/DraftOrder/1", "paymentPending": True})
    assert body["data"]["draftOrderComplete"]["userErrors"][0]["message"] == "Draft order does not exist"
    assert shop.draft_orders == [] and shop.orders == []
