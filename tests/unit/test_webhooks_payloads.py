"""Parsing shop bodies: exact ids, money by currency exponent, real discount codes only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.services.sales.payloads import (
    PayloadError,
    format_minor,
    parse_json,
    shopify_codes,
    shopify_refund,
    to_minor,
    woocommerce_order,
)
from tests.fixtures.commerce.sales_world import sample


def test_json_keeps_big_ids_exact_and_floats_as_decimal() -> None:
    data = parse_json(b'{"id": 820982911946154508, "subtotal": 195.66}')
    assert data["id"] == 820982911946154508 and data["subtotal"] == Decimal("195.66")
    for bad in (b'{"a": NaN}', b"\xff", b'"text"'):
        with pytest.raises(PayloadError):
            parse_json(bad)


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("19.99", "USD", 1999),
        ("1000", "JPY", 1000),
        ("1.234", "KWD", 1234),
        (Decimal("3.10"), "EUR", 310),
        ("0", "USD", 0),
    ],
)
def test_money_to_minor_units(value: object, currency: str, minor: int) -> None:
    assert to_minor(value, currency, "x") == minor


@pytest.mark.parametrize(
    ("value", "currency"),
    [("1.5", "JPY"), ("0.001", "USD"), (1.5, "USD"), ("-1", "USD"), ("x", "USD"), ("Infinity", "USD")],
)
def test_bad_money_is_refused(value: object, currency: str) -> None:
    with pytest.raises(PayloadError):
        to_minor(value, currency, "x")


def test_only_discount_code_applications_count() -> None:
    body = {
        "discount_codes": [{"code": "Summer Staff Discount"}, {"code": "ann10"}],
        "discount_applications": [
            {"type": "manual", "title": "Summer Staff Discount"},
            {"type": "discount_code", "code": "ann10"},
            {"type": "automatic", "title": "BOGO"},
        ],
    }
    assert shopify_codes(body) == ("ANN10",)


def test_the_refund_sample_sums_its_refunded_lines() -> None:
    refund = shopify_refund(sample("shopify_refund_example.json"))
    assert (refund.order_id, refund.refund_id, refund.amount_minor, refund.currency) == (
        "450789469",
        "509562969",
        39133,
        "USD",
    )


def test_woocommerce_refunds_come_with_the_order() -> None:
    order = woocommerce_order({
        "id": 5, "status": "refunded", "currency": "USD", "date_created_gmt": "2026-11-24T10:00:00",
        "line_items": [{"subtotal": "20.00"}], "coupon_lines": [{"code": "ann10"}],
        "refunds": [{"id": 31, "total": "-7.50"}],
    })  # fmt: skip
    assert order.codes == ("ANN10",) and order.paid
    assert [(r.refund_id, r.amount_minor) for r in order.refunds] == [("31", 750)]


def test_format_minor() -> None:
    assert format_minor(123456, "USD") == "1,234.56 USD" and format_minor(-5000, "JPY") == "-5,000 JPY"
