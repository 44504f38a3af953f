"""Orders changed in a time window, read through Shopify's ``orders`` query (the catch-up's source).

Each order becomes the very ``OrderIn`` the webhook parser (``bot/services/sales/payloads.py``) makes of that
order's webhook body, so the ledger's dedupe on (server, shop, order id) and on each refund id counts it once
whichever way it came in first:

- ``order_id``: the numeric tail of the order's gid, which is the REST ``id`` a webhook carries (and must equal
  ``legacyResourceId``); a refund's id likewise;
- codes: only ``DiscountCodeApplication`` entries of ``discountApplications`` (``discountCodes`` may hold a manual
  discount's title), ordered as ``discountCodes`` lists them — ``payloads.shopify_codes``' rule;
- currency and money: the shop's currency (``currencyCode``, the REST ``currency``) and ``shopMoney`` amounts;
  ``discount`` is ``totalDiscountsSet`` (REST ``total_discounts``) and ``gross`` is ``subtotalPriceSet`` plus it
  (REST ``total_line_items_price``: the Admin GraphQL API has no line-items total before discounts, and summing
  ``lineItems`` would multiply the query's cost. The two differ only when a shipping discount is part of
  ``total_discounts``);
- ``ordered_at`` from ``createdAt``, paid from ``displayFinancialStatus`` (paid, partially or fully refunded);
- each refund's amount by the refunds/create rule (``payloads.shopify_refund``): its line items' subtotals, or
  when it has none, its successful REFUND transactions.

Every field is checked with the webhook parser's own primitives; a node that fails is refused with a
``ShopError`` naming the order, before anything of its page reaches the ledger.

Cost. Shopify refuses a query whose requested cost is over 1,000 points, and a connection costs its page size
times the cost of one node: an order with its two money bags and five discount applications costs 14, so 250
orders in one request (3,502) are refused. The catch-up's pages of 250 orders (one unit of work each) are read
in requests of 50 (702 points); an order's refunds, and its discount applications when it has more than five,
come from one ``order(id:)`` query for that order alone (most orders have neither).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.services.sales.payloads import (
    SHOPIFY_PAID,
    OrderIn,
    PayloadError,
    RefundIn,
    currency_code,
    exact_id,
    timestamp,
    to_minor,
)
from bot.shop.connector import OrderPage
from bot.shop.errors import ShopError
from bot.shop.shopify import ShopifyClient

PAGE_SIZE = 250  # orders per OrderPage: what the catch-up records in one unit of work
REQUEST_SIZE = 50  # orders per request: 2 + 50 × 14 = 702 points, under Shopify's 1,000 per query
APPLICATIONS = 5  # discount applications read with each order; an order with more is read again in full
APPLICATIONS_IN_FULL = 25
REFUND_LINES = 50  # refund line items read per refund; a refund with more is refused (its amount unknown)
REFUND_TRANSACTIONS = 10

_MONEY = "shopMoney { amount currencyCode }"
_APPLICATION = "nodes { __typename ... on DiscountCodeApplication { code } }"
ORDERS_QUERY = f"""
query OrdersChanged($first: Int!, $after: String, $query: String!) {{
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id legacyResourceId name createdAt updatedAt test email currencyCode displayFinancialStatus discountCodes
      subtotalPriceSet {{ {_MONEY} }}
      totalDiscountsSet {{ {_MONEY} }}
      discountApplications(first: {APPLICATIONS}) {{ {_APPLICATION} }}
      refunds {{ id }}
    }}
  }}
}}
"""
ORDER_DETAIL_QUERY = f"""
query OrderDetail($id: ID!) {{
  order(id: $id) {{
    id
    discountApplications(first: {APPLICATIONS_IN_FULL}) {{ pageInfo {{ hasNextPage }} {_APPLICATION} }}
    refunds {{
      id createdAt updatedAt
      refundLineItems(first: {REFUND_LINES}) {{ pageInfo {{ hasNextPage }} nodes {{ subtotalSet {{ {_MONEY} }} }} }}
      transactions(first: {REFUND_TRANSACTIONS}) {{
        pageInfo {{ hasNextPage }}
        nodes {{ kind status amountSet {{ {_MONEY} }} }}
      }}
    }}
  }}
}}
"""

_ORDER_GID = re.compile(r"^gid://shopify/Order/(\d{1,20})$")
_REFUND_GID = re.compile(r"^gid://shopify/Refund/(\d{1,20})$")


class _Malformed(PayloadError):
    """A node that cannot be read; turned into a ShopError naming the order."""


def search_query(since: datetime, until: datetime) -> str:
    """Shopify's search syntax for changes in ``[since, until)``, to the second (the bounds are truncated)."""
    return f"updated_at:>='{_iso(since)}' updated_at:<'{_iso(until)}'"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- primitives, as strict as the webhook parser's -----------------------------------------------------


def _obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed(f"{field}: expected an object")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Malformed(f"{field}: expected a list")
    return value


def _nodes(connection: Any, field: str, *, complete: bool = False) -> list[Any]:
    conn = _obj(connection, field)
    if complete and _obj(conn.get("pageInfo"), f"{field}.pageInfo").get("hasNextPage") is not False:
        raise _Malformed(f"{field}: more entries than one request reads")
    return _list(conn.get("nodes"), f"{field}.nodes")


def _text(value: Any, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise _Malformed(f"{field}: expected text up to {limit} characters")
    return value.strip() or None


def _code(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise _Malformed(f"{field}: expected a discount code")
    return value.strip().upper()


def _gid(value: Any, pattern: re.Pattern[str], field: str) -> str:
    """The numeric tail of a gid such as gid://shopify/Order/123: the id the REST API and webhooks use."""
    match = pattern.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _Malformed(f"{field}: expected a Shopify id of the form gid://shopify/<type>/<number>")
    return exact_id(match.group(1), field)


def _money(bag: Any, currency: str | None, field: str) -> tuple[int, str]:
    """A MoneyBag's shop amount in minor units, and its currency (which must be ``currency`` when given)."""
    shop = _obj(_obj(bag, field).get("shopMoney"), f"{field}.shopMoney")
    cur = currency_code(shop.get("currencyCode"), f"{field}.shopMoney.currencyCode")
    if currency is not None and cur != currency:
        raise _Malformed(f"{field}: in {cur}, the order is in {currency}")
    return to_minor(shop.get("amount"), cur, f"{field}.shopMoney.amount"), cur


# -- nodes ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Read:
    order: OrderIn
    gid: str
    updated_at: datetime
    needs_detail: bool  # refunds to read, or possibly more discount applications than the page holds


def _codes(applications: list[Any], listed: Any, field: str) -> tuple[str, ...]:
    """``payloads.shopify_codes`` over the GraphQL shapes: codes from DiscountCodeApplication entries only, in
    the order ``discountCodes`` lists them."""
    applied: list[str] = []
    for i, app in enumerate(applications):
        app = _obj(app, f"{field}[{i}]")
        if app.get("__typename") == "DiscountCodeApplication":
            applied.append(_code(app.get("code"), f"{field}[{i}].code"))
    ordered: list[str] = []
    for i, entry in enumerate(_list(listed, "discountCodes")):
        code = _code(entry, f"discountCodes[{i}]")
        if code in applied and code not in ordered:
            ordered.append(code)
    ordered += [code for code in applied if code not in ordered]
    return tuple(ordered)


def read_order(node: Any) -> tuple[OrderIn, str, datetime, bool]:
    """One ``orders`` node → (the order without refunds, its gid, its updatedAt, whether it needs ``order(id:)``).
    Raises ``PayloadError`` for anything the webhook parser would refuse too."""
    node = _obj(node, "order")
    gid = node.get("id")
    order_id = _gid(gid, _ORDER_GID, "id")
    legacy = node.get("legacyResourceId")
    if legacy is not None and str(legacy) != order_id:
        raise _Malformed(f"legacyResourceId {str(legacy)[:24]!r} differs from the id's {order_id}")
    currency = currency_code(node.get("currencyCode"), "currencyCode")
    subtotal, _ = _money(node.get("subtotalPriceSet"), currency, "subtotalPriceSet")
    discount, _ = _money(node.get("totalDiscountsSet"), currency, "totalDiscountsSet")
    applications = _nodes(node.get("discountApplications"), "discountApplications")
    refunds = _list(node.get("refunds"), "refunds")
    order = OrderIn(
        shop="shopify",
        order_id=order_id,
        order_name=_text(node.get("name"), "name", 64),
        codes=_codes(applications, node.get("discountCodes"), "discountApplications"),
        currency=currency,
        gross_minor=subtotal + discount,
        discount_minor=discount,
        ordered_at=timestamp(node.get("createdAt"), "createdAt"),
        paid=str(node.get("displayFinancialStatus")).lower() in SHOPIFY_PAID,  # str(): null is not paid
        email=_text(node.get("email"), "email", 320),
        test=node.get("test") is True,
    )
    needs_detail = bool(refunds) or len(applications) >= APPLICATIONS
    return order, str(gid), timestamp(node.get("updatedAt"), "updatedAt"), needs_detail


def read_refund(node: Any, order_id: str, field: str) -> RefundIn:
    """A refund as refunds/create would give it: the refunded line items' subtotals (after discounts, before
    tax), or when none were refunded, the successful REFUND transactions."""
    node = _obj(node, field)
    total, currency = 0, None
    lines = _nodes(node.get("refundLineItems"), f"{field}.refundLineItems", complete=True)
    for i, line in enumerate(lines):
        amount, currency = _money(_obj(line, f"{field}.refundLineItems[{i}]").get("subtotalSet"), currency,
                                  f"{field}.refundLineItems[{i}].subtotalSet")  # fmt: skip
        total += amount
    if not lines:
        transactions = _nodes(node.get("transactions"), f"{field}.transactions", complete=True)
        for i, txn in enumerate(transactions):
            txn = _obj(txn, f"{field}.transactions[{i}]")
            if txn.get("kind") == "REFUND" and txn.get("status") == "SUCCESS":
                amount, currency = _money(txn.get("amountSet"), currency, f"{field}.transactions[{i}].amountSet")
                total += amount
    return RefundIn(
        shop="shopify",
        order_id=order_id,
        refund_id=_gid(node.get("id"), _REFUND_GID, f"{field}.id"),
        amount_minor=total,
        currency=currency,
        occurred_at=timestamp(node.get("createdAt") or node.get("updatedAt"), f"{field}.createdAt"),
    )


def read_detail(order: OrderIn, node: Any, listed: tuple[str, ...]) -> OrderIn:
    """The order completed from its ``order(id:)`` node: every discount application, and its refunds."""
    node = _obj(node, "order")
    applications = _nodes(node.get("discountApplications"), "discountApplications", complete=True)
    codes = _codes(applications, list(listed), "discountApplications")
    refunds = tuple(
        read_refund(refund, order.order_id, f"refunds[{i}]")
        for i, refund in enumerate(_list(node.get("refunds"), "refunds"))
    )
    return replace(order, codes=codes, refunds=refunds)


# -- the query ----------------------------------------------------------------------------------------


def _refused(label: str, node: Any, exc: PayloadError) -> ShopError:
    which = "an order"
    if isinstance(node, dict):
        name, gid = node.get("name"), node.get("id")
        which = f"order {str(name)[:64]}" if isinstance(name, str) else f"order {str(gid)[:80]}"
    return ShopError(
        f"{label} sent {which} that Collective cannot read ({exc}); nothing of its page was recorded. "
        "The catch-up stops there and tries again at its next run."
    )


async def _complete(client: ShopifyClient, read: _Read, listed: tuple[str, ...], node: Any) -> OrderIn:
    label = client.connection.shop_domain
    data = await client.execute(ORDER_DETAIL_QUERY, {"id": read.gid})
    detail = data.get("order")
    if detail is None:
        raise ShopError(f"{label} no longer finds order {read.order.order_name or read.order.order_id}; "
                        "the catch-up tries again at its next run")  # fmt: skip
    try:
        return read_detail(read.order, detail, listed)
    except PayloadError as exc:
        raise _refused(label, node, exc) from None


async def orders_changed(
    client: ShopifyClient,
    since: datetime,
    until: datetime,
    *,
    page_size: int = PAGE_SIZE,
    request_size: int = REQUEST_SIZE,
) -> AsyncIterator[OrderPage]:
    """Orders whose last change is in ``[since, until)`` (to the second), oldest change first, in pages of
    ``page_size``; a page's ``reached`` is its last order's ``updatedAt``, and ``until`` on the last page."""
    label = client.connection.shop_domain
    variables: dict[str, Any] = {"query": search_query(since, until), "after": None}
    page: list[OrderIn] = []
    reached = since
    while True:
        variables["first"] = min(request_size, page_size - len(page))
        data = await client.execute(ORDERS_QUERY, variables)
        try:
            connection = _obj(data.get("orders"), "orders")
            nodes = _list(connection.get("nodes"), "orders.nodes")
            info = _obj(connection.get("pageInfo"), "orders.pageInfo")
        except PayloadError as exc:
            raise ShopError(f"{label} answered the orders query in a shape Collective cannot read ({exc})") from None
        more = info.get("hasNextPage") is True
        if more and (not nodes or not isinstance(info.get("endCursor"), str)):
            raise ShopError(f"{label} said more orders follow but gave no way to read them")
        reads: list[tuple[_Read, tuple[str, ...], Any]] = []
        for node in nodes:
            try:
                order, gid, updated_at, needs_detail = read_order(node)
                listed = tuple(_code(c, "discountCodes") for c in node["discountCodes"])
            except PayloadError as exc:
                raise _refused(label, node, exc) from None
            reads.append((_Read(order, gid, updated_at, needs_detail), listed, node))
        for read, listed, node in reads:
            page.append(await _complete(client, read, listed, node) if read.needs_detail else read.order)
            reached = read.updated_at
        if not more:
            yield OrderPage(page, until)
            return
        variables["after"] = info["endCursor"]
        if len(page) >= page_size:
            yield OrderPage(page, min(reached, until))
            page = []
