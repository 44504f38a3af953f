"""The orders query's nodes, read as strictly as a webhook body: what counts, and what is refused."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import parse, validate

from bot.services.sales.payloads import PayloadError
from bot.shop.shopify_orders import (
    ORDER_DETAIL_QUERY,
    ORDERS_QUERY,
    read_detail,
    read_order,
    read_refund,
    search_query,
)
from emulator.shop.schema import admin_schema


def money(amount: Any, currency: str = "USD") -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": currency}}


NODE: dict[str, Any] = {
    "id": "gid://shopify/Order/9007199254740993",  # beyond 2^53: kept exact
    "legacyResourceId": "9007199254740993",
    "name": "#1001",
    "createdAt": "2026-11-24T09:00:00Z",
    "updatedAt": "2026-11-24T09:30:00Z",
    "test": False,
    "email": "Buyer@Example.com",
    "currencyCode": "USD",
    "displayFinancialStatus": "PAID",
    "discountCodes": ["SUMMER", "anna10"],
    "subtotalPriceSet": money("90.00"),
    "totalDiscountsSet": money("10.00"),
    "discountApplications": {
        "nodes": [
            {"__typename": "DiscountCodeApplication", "code": "anna10"},
            {"__typename": "ManualDiscountApplication"},  # "SUMMER" is a manual discount's title, not a code
            {"__typename": "AutomaticDiscountApplication"},
        ]
    },
    "refunds": [],
}


def node(**changes: Any) -> dict[str, Any]:
    made = copy.deepcopy(NODE)
    made.update(changes)
    return made


def test_a_node_reads_as_its_webhook_body_would() -> None:
    order, gid, updated, needs_detail = read_order(node())
    assert order.order_id == "9007199254740993" and gid == NODE["id"]
    assert order.codes == ("ANNA10",)  # only DiscountCodeApplication entries count
    assert (order.gross_minor, order.discount_minor, order.net_minor) == (10000, 1000, 9000)
    assert order.currency == "USD" and order.paid and not order.test
    assert order.ordered_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert updated == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    assert order.email == "Buyer@Example.com" and order.order_name == "#1001"
    assert not needs_detail


def test_codes_follow_the_order_discount_codes_lists_them() -> None:
    apps = {"nodes": [{"__typename": "DiscountCodeApplication", "code": c} for c in ("BEN5", "ANNA10")]}
    order, *_ = read_order(node(discountApplications=apps, discountCodes=["anna10", "ben5"]))
    assert order.codes == ("ANNA10", "BEN5")


@pytest.mark.parametrize(
    ("status", "paid"),
    [("PAID", True), ("PARTIALLY_REFUNDED", True), ("REFUNDED", True), ("PENDING", False), (None, False)],
)
def test_paid_means_what_the_webhooks_financial_status_means(status: str | None, paid: bool) -> None:
    order, *_ = read_order(node(displayFinancialStatus=status))
    assert order.paid is paid


def test_refunds_or_many_discount_applications_ask_for_the_order_in_full() -> None:
    assert read_order(node(refunds=[{"id": "gid://shopify/Refund/1"}]))[3]
    five = {"nodes": [{"__typename": "AutomaticDiscountApplication"}] * 5}
    assert read_order(node(discountApplications=five))[3]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"id": "gid://shopify/Product/1"}, "id"),
        ({"id": 5001}, "id"),
        ({"legacyResourceId": "5002"}, "legacyResourceId"),
        ({"currencyCode": "usd dollars"}, "currencyCode"),
        ({"subtotalPriceSet": money(90.0)}, "decimal string"),  # a float never touches money
        ({"subtotalPriceSet": money("90.001")}, "more decimals"),
        ({"subtotalPriceSet": money("-1.00")}, "negative"),
        ({"totalDiscountsSet": money("10.00", "EUR")}, "EUR"),
        ({"totalDiscountsSet": None}, "totalDiscountsSet"),
        ({"createdAt": "yesterday"}, "createdAt"),
        ({"updatedAt": None}, "updatedAt"),
        ({"name": "#" * 65}, "name"),
        ({"discountCodes": "ANNA10"}, "discountCodes"),
        ({"discountApplications": {"nodes": [{"__typename": "DiscountCodeApplication", "code": ""}]}}, "code"),
        ({"discountApplications": {"nodes": [{"__typename": "DiscountCodeApplication", "code": "X" * 101}]}}, "code"),
        ({"refunds": None}, "refunds"),
    ],
)
def test_a_malformed_node_is_refused(changes: dict[str, Any], why: str) -> None:
    with pytest.raises(PayloadError, match=why):
        read_order(node(**changes))


def refund(**changes: Any) -> dict[str, Any]:
    made: dict[str, Any] = {
        "id": "gid://shopify/Refund/7000001",
        "createdAt": "2026-11-25T08:00:00Z",
        "updatedAt": "2026-11-25T08:00:00Z",
        "refundLineItems": {"pageInfo": {"hasNextPage": False}, "nodes": []},
        "transactions": {
            "pageInfo": {"hasNextPage": False},
            "nodes": [
                {"kind": "REFUND", "status": "SUCCESS", "amountSet": money("12.50")},
                {"kind": "REFUND", "status": "FAILURE", "amountSet": money("99.00")},  # not money given back
                {"kind": "SALE", "status": "SUCCESS", "amountSet": money("99.00")},
            ],
        },
    }
    made.update(changes)
    return made


def test_a_refund_of_money_counts_its_successful_refund_transactions() -> None:
    got = read_refund(refund(), "5001", "refunds[0]")
    assert (got.refund_id, got.order_id, got.amount_minor, got.currency) == ("7000001", "5001", 1250, "USD")
    assert got.occurred_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_a_refund_of_line_items_counts_their_subtotals_not_the_money_moved() -> None:
    lines = {
        "pageInfo": {"hasNextPage": False},
        "nodes": [{"subtotalSet": money("30.00")}, {"subtotalSet": money("5.25")}],
    }
    assert read_refund(refund(refundLineItems=lines), "5001", "refunds[0]").amount_minor == 3525


def test_a_refund_with_more_line_items_than_one_request_reads_is_refused() -> None:
    lines = {"pageInfo": {"hasNextPage": True}, "nodes": [{"subtotalSet": money("30.00")}]}
    with pytest.raises(PayloadError, match="more entries"):
        read_refund(refund(refundLineItems=lines), "5001", "refunds[0]")


def test_the_detail_completes_codes_and_refunds() -> None:
    order, *_ = read_order(node())
    detail = {
        "id": NODE["id"],
        "discountApplications": {
            "pageInfo": {"hasNextPage": False},
            "nodes": [{"__typename": "DiscountCodeApplication", "code": c} for c in ("anna10", "BEN5")],
        },
        "refunds": [refund()],
    }
    full = read_detail(order, detail, ("ANNA10",))
    assert full.codes == ("ANNA10", "BEN5") and len(full.refunds) == 1
    assert full.refunds[0].order_id == order.order_id and full.refunds[0].amount_minor == 1250


def test_the_queries_are_valid_against_shopifys_schema() -> None:
    schema = admin_schema()
    for query in (ORDERS_QUERY, ORDER_DETAIL_QUERY):
        assert validate(schema, parse(query)) == []


def test_the_search_window_is_in_whole_seconds_utc() -> None:
    since = datetime(2026, 11, 24, 9, 0, 0, 999999, tzinfo=UTC)
    until = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert search_query(since, until) == "updated_at:>='2026-11-24T09:00:00Z' updated_at:<'2026-11-24T10:00:00Z'"
