"""Orders in the fake store: ``/orders`` and ``/orders/{id}`` with the documented order shape.

The list filters as ``WC_REST_Orders_Controller`` does through ``WP_Date_Query``: ``after``/``before`` on the
creation date and ``modified_after``/``modified_before`` on the last change, each exclusive. With
``dates_are_gmt=true`` they compare with the GMT dates, else with the site's local ones; a bound without an
offset is read in that same frame, one with an offset is first turned into the site's local time (so
``…Z`` with ``dates_are_gmt=true`` is off by the site's offset, as on a real store). ``orderby=date|modified``
sorts by that date and then the id, in the ``order`` asked (``desc`` unless told).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from emulator.shop.woocommerce.auth import authorize, caller
from emulator.shop.woocommerce.rest import Invalid, WooError, as_bool, as_enum, paged, parse_date, php_json
from emulator.shop.woocommerce.state import ORDER_STATUSES, Order, WooState, decimal_2, wc_date

ORDERBY = ("date", "id", "include", "title", "slug", "modified")
BILLING_BLANK = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode", "country")


class OrderRoutes:
    """Mixed into FakeWooCommerce."""

    state: WooState
    utc_offset: timedelta
    home: str

    def order_json(self, o: Order) -> dict[str, Any]:
        """The order as ``GET /orders/{id}`` answers it, and as an ``order.*`` webhook delivers it."""
        local = self.utc_offset
        base = f"{self.home}/wp-json/wc/v3/orders"
        after_discount = o.subtotal - o.discount
        coupon_lines = []
        if o.code:
            coupon_lines.append(
                {"id": o.id * 10 + 2, "code": o.code, "discount": decimal_2(o.discount), "discount_tax": "0.00",
                 "meta_data": []}
            )  # fmt: skip
        return {
            "id": o.id,
            "parent_id": 0,
            "status": o.status,
            "currency": o.currency,
            "version": "9.4.0",
            "prices_include_tax": False,
            "date_created": wc_date(o.created, local),
            "date_modified": wc_date(o.modified, local),
            "discount_total": decimal_2(o.discount),
            "discount_tax": "0.00",
            "shipping_total": "0.00",
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": decimal_2(o.total),
            "total_tax": "0.00",
            "customer_id": 0,
            "order_key": o.order_key,
            "billing": {
                **dict.fromkeys(BILLING_BLANK, ""),
                "first_name": "Test",
                "last_name": "Buyer",
                "country": "DE",
                "email": o.email,
                "phone": "",
            },
            "shipping": {**dict.fromkeys(BILLING_BLANK, ""), "phone": ""},
            "payment_method": "bacs" if o.paid else "",
            "payment_method_title": "Direct bank transfer" if o.paid else "",
            "transaction_id": "",
            "customer_ip_address": "127.0.0.1",
            "customer_user_agent": "Mozilla/5.0",
            "created_via": "checkout",
            "customer_note": "",
            "date_completed": wc_date(o.completed, local),
            "date_paid": wc_date(o.paid, local),
            "cart_hash": "",
            "number": o.number,
            "meta_data": [],
            "line_items": [
                {
                    "id": o.id * 10 + 1,
                    "name": "Collective test product",
                    "product_id": o.product_id,
                    "variation_id": 0,
                    "quantity": 1,
                    "tax_class": "",
                    "subtotal": decimal_2(o.subtotal),
                    "subtotal_tax": "0.00",
                    "total": decimal_2(after_discount),
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [],
                    "sku": "TEST-1",
                    "price": float(o.subtotal),  # a JSON number in WooCommerce's answers
                }
            ],
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": coupon_lines,
            "refunds": [{"id": r.id, "reason": r.reason, "total": decimal_2(-r.amount)} for r in o.refunds],
            "payment_url": f"{self.home}/checkout/order-pay/{o.id}/?pay_for_order=true&key={o.order_key}",
            "is_editable": o.status in ("pending", "on-hold", "auto-draft"),
            "needs_payment": o.status in ("pending", "failed"),
            "needs_processing": True,
            "date_created_gmt": wc_date(o.created),
            "date_modified_gmt": wc_date(o.modified),
            "date_completed_gmt": wc_date(o.completed),
            "date_paid_gmt": wc_date(o.paid),
            "currency_symbol": {"USD": "$", "EUR": "€", "GBP": "£"}.get(o.currency, o.currency),
            "_links": {"self": [{"href": f"{base}/{o.id}"}], "collection": [{"href": base}]},
        }

    def _bound(self, raw: str, name: str, invalid: Invalid) -> datetime | None:
        """A date bound as a naive wall time in the frame it is compared in (GMT or the site's local time)."""
        parsed = parse_date(raw, name, invalid)
        if parsed is None:
            return None
        moment, had_offset = parsed
        # WP_Date_Query reads a bound with an offset with date_create() and writes it in the site's timezone,
        # whichever column it is then compared with.
        return moment + self.utc_offset if had_offset else moment

    async def list_orders(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "list")
        query = request.query
        invalid = Invalid()
        gmt = as_bool(query.get("dates_are_gmt", "false"), "dates_are_gmt", invalid)
        shift = timedelta(0) if gmt else self.utc_offset
        tests: list[Callable[[Order], bool]] = []
        for name, attribute, after in (
            ("after", "created", True),
            ("before", "created", False),
            ("modified_after", "modified", True),
            ("modified_before", "modified", False),
        ):
            if name not in query:
                continue
            bound = self._bound(query[name], name, invalid)
            if bound is None:
                continue
            tests.append(_compare(attribute, bound, shift, after))
        statuses = [s for s in query.get("status", "any").split(",") if s]
        for status in statuses:
            as_enum(status, "status", ("any", *ORDER_STATUSES), invalid)
        orderby = as_enum(query.get("orderby", "date"), "orderby", ORDERBY, invalid)
        order = as_enum(query.get("order", "desc"), "order", ("asc", "desc"), invalid)
        invalid.raise_if_any()
        orders = [o for o in self.state.orders.values() if all(test(o) for test in tests)]
        if "any" in statuses:
            orders = [o for o in orders if o.status != "trash"]
        else:
            orders = [o for o in orders if o.status in statuses]
        keys: dict[str, Callable[[Order], Any]] = {
            "date": lambda o: (o.created, o.id),
            "modified": lambda o: (o.modified, o.id),
        }
        orders.sort(key=keys.get(orderby, lambda o: (o.id,)), reverse=order == "desc")
        page, headers = paged(request, orders, invalid)
        return php_json([self.order_json(o) for o in page], headers=headers)

    async def get_order(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "view")
        found = self.state.orders.get(int(request.match_info["id"]))
        if found is None:
            raise WooError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        return php_json(self.order_json(found))


def _compare(attribute: str, bound: datetime, shift: timedelta, after: bool) -> Callable[[Order], bool]:
    def test(order: Order) -> bool:
        moment: datetime = getattr(order, attribute)
        wall = (moment + shift).replace(tzinfo=None)
        return wall > bound if after else wall < bound

    return test
