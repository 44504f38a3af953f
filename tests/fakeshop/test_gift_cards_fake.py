"""The fake Shopify's gift cards answer like Shopify's: validated against the 2025-01 schema, scoped
(write_gift_cards), refused with GiftCardUserErrors, the full code answered once at creation and only its last
characters afterwards, found by code, spent at a checkout."""

from __future__ import annotations

import pytest

from emulator.shop import FakeShopify
from tests.fakeshop.conftest import Client

CREATE = """
mutation Create($input: GiftCardCreateInput!) {
  giftCardCreate(input: $input) {
    giftCard { id note lastCharacters maskedCode initialValue { amount currencyCode } balance { amount } }
    giftCardCode
    userErrors { field code message }
  }
}
"""
FIND = "query Find($q: String!) { giftCards(first: 5, query: $q) { nodes { id note lastCharacters enabled } } }"


async def test_a_gift_card_is_created_once_per_code_and_found_by_it(client: Client, shop: FakeShopify) -> None:
    shop.scopes |= {"write_gift_cards"}
    made = await client.gql(CREATE, {"input": {"initialValue": "15.00", "code": "abcd2345efgh", "note": "n1"}})
    payload = made["giftCardCreate"]
    assert payload["userErrors"] == [] and payload["giftCardCode"] == "abcd2345efgh"
    card = payload["giftCard"]
    assert card["initialValue"] == {"amount": "15.00", "currencyCode": "USD"} and card["lastCharacters"] == "efgh"
    assert "abcd" not in card["maskedCode"]  # only the end of the code is ever shown again
    again = await client.gql(CREATE, {"input": {"initialValue": "15.00", "code": "ABCD2345EFGH"}})
    assert [e["code"] for e in again["giftCardCreate"]["userErrors"]] == ["TAKEN"]  # codes ignore case
    found = await client.gql(FIND, {"q": "abcd2345efgh"})
    assert [n["id"] for n in found["giftCards"]["nodes"]] == [card["id"]]
    assert (await client.gql(FIND, {"q": "zzzz2345efgh"}))["giftCards"]["nodes"] == []
    assert shop.spend("ABCD2345EFGH", "10.00") == 5
    with pytest.raises(ValueError, match="balance"):
        shop.spend("abcd2345efgh", "6.00")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [("code", "short1", "TOO_SHORT"), ("code", "a" * 21, "TOO_LONG"), ("code", "has-dash-123", "INVALID"),
     ("initialValue", "0", "GREATER_THAN"), ("initialValue", "20000", "GIFT_CARD_LIMIT_EXCEEDED")],
)  # fmt: skip
async def test_refusals_are_user_errors(client: Client, shop: FakeShopify, field: str, value: str, code: str) -> None:
    shop.scopes |= {"write_gift_cards"}
    fields = {"initialValue": "5.00", "code": "goodcode2345", field: value}
    made = await client.gql(CREATE, {"input": fields})
    assert [e["code"] for e in made["giftCardCreate"]["userErrors"]] == [code]
    assert shop.gift_cards == []


async def test_without_the_scope_access_is_denied_and_the_schema_is_enforced(client: Client, shop: FakeShopify) -> None:
    status, body = await client.post(CREATE, {"input": {"initialValue": "5.00"}})
    assert status == 200 and body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert "write_gift_cards" in body["errors"][0]["message"]
    shop.scopes |= {"write_gift_cards"}
    status, body = await client.post(CREATE, {"input": {"initialValue": "5.00", "currency": "USD"}})
    assert "errors" in body  # not a field of GiftCardCreateInput
    assert shop.gift_cards == []
