"""Products in the fake WooCommerce store: ``GET /products`` (``search``, ``status``, paging) and ``/products/{id}``
in the REST API v3 shape the bot reads (id, name, slug, status, type, price as a string, variations' ids)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from emulator.shop.clock import Clock
from emulator.shop.woocommerce.auth import authorize, caller
from emulator.shop.woocommerce.rest import Invalid, WooError, paged, php_json
from emulator.shop.woocommerce.state import WooState, decimal_2, stamp, wc_date

PRODUCT_STATUSES = ("draft", "pending", "private", "publish")


@dataclass
class WooProduct:
    id: int
    name: str
    slug: str
    status: str
    price: Decimal
    created: Any


class ProductRoutes:
    """Mixed into FakeWooCommerce."""

    state: WooState
    clock: Clock
    utc_offset: timedelta
    home: str
    products: dict[int, WooProduct]

    def add_product(self, name: str, *, price: str = "25.00", status: str = "publish") -> WooProduct:
        made = WooProduct(self.state.next_post_id(), name, "-".join(name.lower().split()), status,
                          Decimal(price), stamp(self.clock))  # fmt: skip
        self.products[made.id] = made
        return made

    def product_json(self, p: WooProduct) -> dict[str, Any]:
        return {
            "id": p.id,
            "name": p.name,
            "slug": p.slug,
            "permalink": f"{self.home}/product/{p.slug}/",
            "date_created": wc_date(p.created, self.utc_offset),
            "date_created_gmt": wc_date(p.created),
            "type": "simple",
            "status": p.status,
            "price": decimal_2(p.price),
            "regular_price": decimal_2(p.price),
            "variations": [],
        }

    async def list_products(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "list")
        query = request.query
        invalid = Invalid()
        orderby = query.get("orderby", "date")
        if orderby not in ("date", "id", "title", "slug"):
            invalid.add("orderby", "orderby is not one of date, id, title, and slug.")
        keys = {"title": lambda p: (p.name.lower(), p.id), "slug": lambda p: (p.slug, p.id)}
        descending = query.get("order", "desc") == "desc"  # newest first unless asked otherwise, as WordPress
        found = sorted(self.products.values(), key=keys.get(orderby, lambda p: (p.id,)), reverse=descending)
        status = query.get("status", "any")
        if status not in (*PRODUCT_STATUSES, "any"):
            invalid.add("status", f"status is not one of {', '.join(PRODUCT_STATUSES)}, and any.")
        elif status != "any":
            found = [p for p in found if p.status == status]
        if query.get("search"):
            term = query["search"].lower()
            found = [p for p in found if term in p.name.lower()]
        page, headers = paged(request, found, invalid)
        return php_json([self.product_json(p) for p in page], headers=headers)

    async def get_product(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "view")
        found = self.products.get(int(request.match_info["id"]))
        if found is None:
            raise WooError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return php_json(self.product_json(found))
