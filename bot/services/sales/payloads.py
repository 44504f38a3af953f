"""Shop webhook bodies → one normalized order model. Parsing only: nothing here touches the database.

Care taken, because these numbers become money and ids people trust:
- ``json.loads`` keeps integers exact (Python ints are unbounded, so a Shopify id beyond 2^53 survives) and
  turns every JSON float into ``Decimal`` (``parse_float``), so a float never touches money or an id.
- Money becomes integer minor units using the currency's exponent (JPY 0, USD 2, KWD 3); an amount with
  more precision than its currency allows is refused rather than rounded.
- A Shopify code counts only when it appears in ``discount_applications`` with ``type == "discount_code"``:
  ``discount_codes[].code`` may hold a manual discount's title.

The generic format (``POST /webhooks/orders``), for any other shop or a spreadsheet script::

    {"event": "sale", "order_id": "A-1001", "code": "GLOWANNA7K", "currency": "EUR",
     "gross": "49.90", "discount": "5.00", "occurred_at": "2026-11-24T10:00:00+01:00",
     "order_name": "#1001", "email": "buyer@example.com", "paid": true}
    {"event": "refund", "order_id": "A-1001", "refund_id": "R-1", "amount": "10.00", "currency": "EUR",
     "occurred_at": "2026-11-25T09:00:00Z"}

``order_name``, ``email``, ``discount`` (default 0) and ``paid`` (default true) are optional.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

Shop = Literal["shopify", "woocommerce", "generic", "manual"]

ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()  # noqa: SIM905 — readable list
)
THREE_DECIMAL = frozenset("BHD IQD JOD KWD LYD OMR TND".split())  # noqa: SIM905
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ID = re.compile(r"^[A-Za-z0-9#_.:/-]{1,64}$")
SHOPIFY_PAID = frozenset({"paid", "partially_refunded", "refunded"})
WOO_PAID = frozenset({"processing", "completed", "refunded"})


class PayloadError(ValueError):
    """The body is not a valid order/refund; the message says why (logged, answered with 400)."""


@dataclass(frozen=True)
class RefundIn:
    shop: Shop
    order_id: str
    refund_id: str
    amount_minor: int  # positive: how much was given back (excluding tax where the shop says so)
    currency: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class OrderIn:
    shop: Shop
    order_id: str
    order_name: str | None
    codes: tuple[str, ...]  # attribution candidates, upper case, in the shop's order
    currency: str
    gross_minor: int  # line items before discounts
    discount_minor: int
    ordered_at: datetime
    paid: bool
    email: str | None = None
    test: bool = False
    refunds: tuple[RefundIn, ...] = ()

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.discount_minor


# -- primitives ------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise PayloadError(f"JSON constant {name} is not allowed")


# One decoder for every body: json.loads builds a new one per call when given parse_float/parse_constant.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
        value = _DECODER.decode(text)
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(f"body is not JSON: {exc.msg} at {exc.pos}") from None
    except ValueError:  # an integer of over 4300 digits (Python's int-parsing limit)
        raise PayloadError("body has a number too long to read") from None
    except RecursionError:
        raise PayloadError("body is nested too deeply") from None
    if not isinstance(value, dict):
        raise PayloadError("body must be a JSON object")
    # A "\ud800" escape parses into a lone surrogate, which SQLite cannot store; look only when one may be there.
    if re.search(rb"\\u[dD][89a-fA-F]", body):
        try:
            json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
        except UnicodeEncodeError:
            raise PayloadError("body has text with an unpaired UTF-16 surrogate") from None
    return value


def currency_code(value: Any, field: str = "currency") -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value.strip().upper()):
        raise PayloadError(f"{field}: expected a 3-letter ISO currency code")
    return value.strip().upper()


def exponent(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def to_minor(value: Any, currency: str, field: str, *, allow_negative: bool = False) -> int:
    """'19.99' USD → 1999. Strings, ints and Decimals only; never floats."""
    if isinstance(value, (bool, float)) or not isinstance(value, (str, int, Decimal)):  # Decimal() reads lists too
        raise PayloadError(f"{field}: money must be a decimal string")
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise PayloadError(f"{field}: {str(value)[:40]!r} is not an amount") from None
    if not amount.is_finite():
        raise PayloadError(f"{field}: not a finite amount")
    if amount != 0 and not -20 <= amount.adjusted() <= 20:  # scaleb/int would overflow or eat memory
        raise PayloadError(f"{field}: implausibly large or small")
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise PayloadError(f"{field}: {amount} has more decimals than {currency} allows")
    minor = int(scaled)
    if minor < 0 and not allow_negative:
        raise PayloadError(f"{field}: must not be negative")
    if abs(minor) > 10**15:
        raise PayloadError(f"{field}: implausibly large")
    return minor


def exact_id(value: Any, field: str) -> str:
    """An id as exact text. Integers stay exact at any size; floats (rounded by someone) are refused."""
    if isinstance(value, bool):
        raise PayloadError(f"{field}: expected an id")
    if isinstance(value, int):
        if value < 0:
            raise PayloadError(f"{field}: must not be negative")
        return str(value)
    if isinstance(value, str) and _ID.fullmatch(value.strip()):
        return value.strip()
    raise PayloadError(f"{field}: expected an integer or a short id string")


def timestamp(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise PayloadError(f"{field}: expected an ISO-8601 time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PayloadError(f"{field}: {value[:40]!r} is not an ISO-8601 time") from None
    # WooCommerce's *_gmt fields carry no offset; they are UTC by definition.
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        raise PayloadError(f"{field}: {value[:40]!r} is out of range") from None


def _text(value: Any, field: str, limit: int = 200) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise PayloadError(f"{field}: expected text up to {limit} characters")
    return value.strip() or None


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{field}: expected a list")
    return value


def _obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{field}: expected an object")
    return value


def _code(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise PayloadError(f"{field}: expected a discount code")
    return value.strip().upper()


# -- Shopify ---------------------------------------------------------------------------------------------


def shopify_codes(body: dict[str, Any]) -> tuple[str, ...]:
    """Codes that are real discount codes: listed in discount_applications with type discount_code."""
    applied: list[str] = []
    for i, app in enumerate(_list(body.get("discount_applications"), "discount_applications")):
        app = _obj(app, f"discount_applications[{i}]")
        if app.get("type") == "discount_code" and app.get("code") is not None:
            applied.append(_code(app["code"], f"discount_applications[{i}].code"))
    listed = []
    for i, entry in enumerate(_list(body.get("discount_codes"), "discount_codes")):
        code = _code(_obj(entry, f"discount_codes[{i}]").get("code"), f"discount_codes[{i}].code")
        if code in applied and code not in listed:
            listed.append(code)
    listed += [code for code in applied if code not in listed]
    return tuple(listed)


def shopify_order(body: dict[str, Any]) -> OrderIn:
    currency = currency_code(body.get("currency"))
    gross_field = "total_line_items_price" if body.get("total_line_items_price") is not None else "subtotal_price"
    email = body.get("email") or body.get("contact_email")
    if email is None and isinstance(body.get("customer"), dict):
        email = body["customer"].get("email")
    return OrderIn(
        shop="shopify",
        order_id=exact_id(body.get("id"), "id"),
        order_name=_text(body.get("name"), "name", 64),
        codes=shopify_codes(body),
        currency=currency,
        gross_minor=to_minor(body.get(gross_field), currency, gross_field),
        discount_minor=to_minor(body.get("total_discounts", "0"), currency, "total_discounts"),
        ordered_at=timestamp(body.get("created_at"), "created_at"),
        paid=str(body.get("financial_status")) in SHOPIFY_PAID,  # str(): a list here is unhashable
        email=_text(email, "email", 320),
        test=body.get("test") is True,
    )


def shopify_refund(body: dict[str, Any]) -> RefundIn:
    """The refunded merchandise (line subtotals after discounts, before tax); else the refund transactions."""
    total, currency = 0, None
    for i, line in enumerate(_list(body.get("refund_line_items"), "refund_line_items")):
        line = _obj(line, f"refund_line_items[{i}]")
        money = _obj(line.get("subtotal_set") or {}, "subtotal_set").get("shop_money") or {}
        money = _obj(money, "subtotal_set.shop_money")
        currency = currency_code(money.get("currency_code", currency or "USD"), f"refund_line_items[{i}].currency")
        amount = money.get("amount", line.get("subtotal"))
        total += to_minor(amount, currency, f"refund_line_items[{i}].subtotal")
    if not body.get("refund_line_items"):
        for i, txn in enumerate(_list(body.get("transactions"), "transactions")):
            txn = _obj(txn, f"transactions[{i}]")
            if txn.get("kind") == "refund" and txn.get("status") in ("success", None):
                currency = currency_code(txn.get("currency"), f"transactions[{i}].currency")
                total += to_minor(txn.get("amount"), currency, f"transactions[{i}].amount")
    return RefundIn(
        shop="shopify",
        order_id=exact_id(body.get("order_id"), "order_id"),
        refund_id=exact_id(body.get("id"), "id"),
        amount_minor=total,
        currency=currency,
        occurred_at=timestamp(body.get("created_at") or body.get("processed_at"), "created_at"),
    )


# -- WooCommerce -----------------------------------------------------------------------------------------


def woocommerce_order(body: dict[str, Any]) -> OrderIn:
    currency = currency_code(body.get("currency"))
    order_id = exact_id(body.get("id"), "id")
    gross = 0
    for i, line in enumerate(_list(body.get("line_items"), "line_items")):
        gross += to_minor(_obj(line, f"line_items[{i}]").get("subtotal", "0"), currency, f"line_items[{i}].subtotal")
    codes = tuple(
        _code(_obj(line, f"coupon_lines[{i}]").get("code"), f"coupon_lines[{i}].code")
        for i, line in enumerate(_list(body.get("coupon_lines"), "coupon_lines"))
    )
    refunds = []
    for i, entry in enumerate(_list(body.get("refunds"), "refunds")):
        entry = _obj(entry, f"refunds[{i}]")
        amount = to_minor(entry.get("total"), currency, f"refunds[{i}].total", allow_negative=True)
        refunds.append(
            RefundIn(
                shop="woocommerce",
                order_id=order_id,
                refund_id=exact_id(entry.get("id"), f"refunds[{i}].id"),
                amount_minor=abs(amount),
                currency=currency,
                occurred_at=timestamp(body.get("date_modified_gmt") or body.get("date_created_gmt"), "date"),
            )
        )
    billing: dict[str, Any] = body["billing"] if isinstance(body.get("billing"), dict) else {}
    return OrderIn(
        shop="woocommerce",
        order_id=order_id,
        order_name=_text(str(body["number"]) if body.get("number") is not None else None, "number", 64),
        codes=codes,
        currency=currency,
        gross_minor=gross,
        discount_minor=to_minor(body.get("discount_total", "0"), currency, "discount_total"),
        ordered_at=timestamp(body.get("date_created_gmt") or body.get("date_created"), "date_created_gmt"),
        paid=str(body.get("status")) in WOO_PAID,
        email=_text(billing.get("email"), "billing.email", 320),
        refunds=tuple(refunds),
    )


# -- generic ---------------------------------------------------------------------------------------------


def generic_event(body: dict[str, Any]) -> OrderIn | RefundIn:
    event = body.get("event")
    currency = currency_code(body.get("currency"))
    order_id = exact_id(body.get("order_id"), "order_id")
    occurred_at = timestamp(body.get("occurred_at"), "occurred_at")
    if event == "refund":
        return RefundIn(
            shop="generic",
            order_id=order_id,
            refund_id=exact_id(body.get("refund_id"), "refund_id"),
            amount_minor=to_minor(body.get("amount"), currency, "amount"),
            currency=currency,
            occurred_at=occurred_at,
        )
    if event != "sale":
        raise PayloadError("event: expected 'sale' or 'refund'")
    paid = body.get("paid", True)
    if not isinstance(paid, bool):
        raise PayloadError("paid: expected true or false")
    gross = to_minor(body.get("gross"), currency, "gross")
    discount = to_minor(body.get("discount", "0"), currency, "discount")
    if discount > gross:
        raise PayloadError("discount: larger than gross")
    code = body.get("code")
    return OrderIn(
        shop="generic",
        order_id=order_id,
        order_name=_text(body.get("order_name"), "order_name", 64),
        codes=() if code is None else (_code(code, "code"),),
        currency=currency,
        gross_minor=gross,
        discount_minor=discount,
        ordered_at=occurred_at,
        paid=paid,
        email=_text(body.get("email"), "email", 320),
    )


def format_minor(amount: int, currency: str) -> str:
    """1999, 'USD' → '19.99 USD' (for people; never parsed back)."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    value = abs(amount)
    if places == 0:
        return f"{sign}{value:,} {currency}"
    whole, frac = divmod(value, 10**places)
    return f"{sign}{whole:,}.{frac:0{places}d} {currency}"
