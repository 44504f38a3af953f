"""Products in the fake shop: the `products` connection with Shopify's search syntax (free text on the title,
`title:`, `status:`), and `product(id:)`, in the 2025-01 shapes the bot reads."""

from __future__ import annotations

import re
from typing import Any

from emulator.shop.paging import page
from emulator.shop.state import Product, ShopState, iso, money

_TERM = re.compile(r"(\w+):(?:'([^']*)'|\"([^\"]*)\"|(\S+))|'([^']*)'|\"([^\"]*)\"|(\S+)")


def _matches(product: Product, query: str | None) -> bool:
    """Shopify's product search: free words match the title (a trailing * as a prefix), `title:` likewise,
    `status:` the status; every term must hold."""
    for m in _TERM.finditer(query or ""):
        field = (m.group(1) or "").lower()
        value = next((g for g in m.groups()[1:] if g is not None), "")
        wanted = value.lower().strip("*")
        if field == "status" and product.status.lower() not in wanted.split(","):
            return False
        if field in ("", "title") and wanted not in product.title.lower():
            return False
    return True


class ProductResolvers:
    """Mixed into FakeShopify: products over its `state`."""

    state: ShopState
    currency: str

    def _product_node(self, p: Product) -> dict[str, Any]:
        variants = [
            {"id": v.gid, "title": v.title, "price": money(v.price), "legacyResourceId": str(v.id)} for v in p.variants
        ]
        prices = [v.price for v in p.variants]
        low = min(prices) if prices else None
        return {
            "id": p.gid,
            "legacyResourceId": str(p.id),
            "title": p.title,
            "handle": p.handle,
            "status": p.status,
            "createdAt": iso(p.created_at),
            "totalInventory": 100,
            "variants": lambda _info, **args: page(
                p.variants, args, lambda v: str(v.id), lambda v: variants[p.variants.index(v)]
            ),
            "priceRangeV2": {
                "minVariantPrice": {"amount": money(low) if low is not None else "0.00", "currencyCode": self.currency},
                "maxVariantPrice": {
                    "amount": money(max(prices)) if prices else "0.00",
                    "currencyCode": self.currency,
                },
            },
        }

    def _q_products(self, _info: Any, **args: Any) -> dict[str, Any]:
        order = (lambda p: (p.title.lower(), p.id)) if args.get("sortKey") == "TITLE" else (lambda p: (p.id,))
        found = [p for p in sorted(self.state.products.values(), key=order) if _matches(p, args.get("query"))]
        return page(found, args, lambda p: str(p.id), self._product_node)

    def _q_product(self, _info: Any, id: str) -> dict[str, Any] | None:
        found = next((p for p in self.state.products.values() if p.gid == id), None)
        return self._product_node(found) if found else None
