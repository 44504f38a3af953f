"""Draft orders in the fake shop — how an app places an order nobody checks out: `draftOrderCreate` (line items
naming variants, an order-level `appliedDiscount`, the shipping address, tags), `draftOrderComplete` (the draft
becomes a paid order), `draftOrders` searched by `tag:`/`status:`, `draftOrder(id:)` — and what happens to the
order afterwards: `fulfil(order, tracking_url=..., delivered=...)`, the test's stand-in for the brand's warehouse,
which the order's `displayFulfillmentStatus` and `fulfillments` then show (emulator/shop/orders.py).

Shapes and refusals are Shopify's 2025-01 ones; the fake sends no webhooks for completed drafts.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from emulator.shop.clock import Clock
from emulator.shop.paging import page
from emulator.shop.state import DraftLine, DraftOrder, Fulfillment, Order, ShopState, iso, money

_TERM = re.compile(r"(\w+):(?:'([^']*)'|\"([^\"]*)\"|(\S+))")
ADDRESS_FIELDS = ("firstName", "lastName", "address1", "address2", "city", "zip", "countryCode", "phone", "company",
                  "provinceCode")  # fmt: skip


def _error(field: list[str], message: str) -> dict[str, Any]:
    return {"draftOrder": None, "userErrors": [{"field": field, "message": message}]}


def fulfillment_fields(order: Order) -> dict[str, Any]:
    """The order node's fulfilment part: its display status and its fulfillments with their tracking."""

    def node(f: Fulfillment, number: int) -> dict[str, Any]:
        tracking = [{"company": None, "number": None, "url": f.tracking_url}] if f.tracking_url else []
        return {
            "id": f.gid,
            "legacyResourceId": str(f.id),
            "name": f"{order.name}-F{number}",
            "status": "SUCCESS",
            "displayStatus": "DELIVERED" if f.delivered_at else ("IN_TRANSIT" if f.tracking_url else "FULFILLED"),
            "createdAt": iso(f.created_at),
            "updatedAt": iso(f.updated_at),
            "inTransitAt": iso(f.created_at) if f.tracking_url else None,
            "deliveredAt": iso(f.delivered_at) if f.delivered_at else None,
            "trackingInfo": lambda _info, **kw: tracking[: kw.get("first") or None],
        }

    nodes = [node(f, n) for n, f in enumerate(order.fulfillments, start=1)]
    return {
        "displayFulfillmentStatus": "FULFILLED" if order.fulfillments else "UNFULFILLED",
        "fulfillments": lambda _info, **kw: nodes[: kw.get("first") or None],
        "shippingAddress": _address_node(order.shipping_address),
        "tags": list(order.tags),
    }


def _address_node(address: dict[str, str | None] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    node: dict[str, Any] = {name: address.get(name) for name in ADDRESS_FIELDS}
    node["country"] = node["countryCodeV2"] = address.get("countryCode")
    node["province"] = address.get("provinceCode")
    node["name"] = " ".join(p for p in (address.get("firstName"), address.get("lastName")) if p) or None
    return node


class DraftOrderResolvers:
    """Mixed into FakeShopify: draft orders over its `state`, and `fulfil` for tests."""

    state: ShopState
    clock: Clock
    currency: str

    def _order_node(self, o: Order) -> dict[str, Any]:
        raise NotImplementedError  # OrderResolvers' (emulator/shop/orders.py), earlier in FakeShopify's bases

    # ---- test API --------------------------------------------------------------------------------------

    @property
    def draft_orders(self) -> list[DraftOrder]:
        return list(self.state.draft_orders.values())

    def fulfil(self, order: Order, *, tracking_url: str | None = None, delivered: bool = False) -> Fulfillment:
        """The brand's warehouse ships the whole order (once; again only adds tracking or marks it delivered)."""
        now = self.clock.now()
        if order.fulfillments:
            shipment = order.fulfillments[0]
            shipment.tracking_url = tracking_url or shipment.tracking_url
            shipment.updated_at = now
        else:
            shipment = Fulfillment(self.state.next_fulfillment_id(), now, now, tracking_url)
            order.fulfillments.append(shipment)
        if delivered and shipment.delivered_at is None:
            shipment.delivered_at = now
        order.updated_at = now
        return shipment

    # ---- GraphQL ---------------------------------------------------------------------------------------

    def _draft_node(self, d: DraftOrder) -> dict[str, Any]:
        order = self.state.orders.get(d.order_id) if d.order_id is not None else None
        total = d.subtotal - d.discount
        return {
            "id": d.gid,
            "legacyResourceId": str(d.id),
            "name": d.name,
            "status": d.status,
            "tags": list(d.tags),
            "note2": d.note,
            "email": d.email,
            "createdAt": iso(d.created_at),
            "updatedAt": iso(d.updated_at),
            "completedAt": iso(d.completed_at) if d.completed_at else None,
            "currencyCode": self.currency,
            "subtotalPriceSet": {"shopMoney": {"amount": money(d.subtotal), "currencyCode": self.currency}},
            "totalPriceSet": {"shopMoney": {"amount": money(total), "currencyCode": self.currency}},
            "shippingAddress": _address_node(d.shipping_address),
            "order": self._order_node(order) if order is not None else None,
        }

    def _q_draft_orders(self, _info: Any, **args: Any) -> dict[str, Any]:
        found = sorted(self.state.draft_orders.values(), key=lambda d: d.id, reverse=bool(args.get("reverse")))
        for m in _TERM.finditer(args.get("query") or ""):
            name, value = m.group(1).lower(), next(g for g in m.groups()[1:] if g is not None)
            if name == "tag":
                found = [d for d in found if value.lower() in (t.lower() for t in d.tags)]
            elif name == "status":
                found = [d for d in found if d.status.lower() == value.lower()]
        return page(found, args, lambda d: str(d.id), self._draft_node)

    def _q_draft_order(self, _info: Any, id: str) -> dict[str, Any] | None:
        found = next((d for d in self.state.draft_orders.values() if d.gid == id), None)
        return None if found is None else self._draft_node(found)

    def _m_draft_order_create(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        lines: list[DraftLine] = []
        for index, item in enumerate(input.get("lineItems") or []):
            field = ["lineItems", str(index)]
            if item["quantity"] < 1:
                return _error([*field, "quantity"], "Quantity must be greater than or equal to 1")
            if item.get("variantId"):
                found = self.state.variant(item["variantId"])
                if found is None or found[0].status != "ACTIVE":
                    return _error([*field, "variantId"], "Product with ID is no longer available.")
                product, variant = found
                title = product.title if variant.title == "Default Title" else f"{product.title} - {variant.title}"
                lines.append(DraftLine(variant.id, title, item["quantity"], variant.price))
            elif item.get("title") and item.get("originalUnitPriceWithCurrency"):
                price = Decimal(str(item["originalUnitPriceWithCurrency"]["amount"]))
                lines.append(DraftLine(None, item["title"], item["quantity"], price))
            else:
                return _error(field, "Custom line items must have a title and a price")
        if not lines:
            return _error(["lineItems"], "Add at least 1 product")
        percentage = Decimal("0")
        applied = input.get("appliedDiscount")
        if applied is not None:
            try:
                value = Decimal(str(applied["value"]))
            except InvalidOperation:
                return _error(["appliedDiscount", "value"], "Value is invalid")
            if applied["valueType"] != "PERCENTAGE":
                return _error(["appliedDiscount", "valueType"], "The fake shop applies percentage discounts only")
            if not Decimal("0") <= value <= Decimal("100"):
                return _error(["appliedDiscount", "value"], "Value must be between 0 and 100")
            percentage = value
        address = input.get("shippingAddress")
        if address is not None and not (address.get("address1") and address.get("countryCode")):
            return _error(["shippingAddress"], "Address is invalid: address1 and country are required")
        tags = [str(t).strip() for t in input.get("tags") or [] if str(t).strip()]
        if any(len(t) > 40 for t in tags):
            return _error(["tags"], "Tags must be 40 characters or fewer")
        now = self.clock.now()
        draft = DraftOrder(self.state.next_draft_id(), now, now, lines, percentage,
                           {k: address.get(k) for k in ADDRESS_FIELDS} if address else None, tags,
                           input.get("note"), input.get("email"))  # fmt: skip
        self.state.draft_orders[draft.id] = draft
        return {"draftOrder": self._draft_node(draft), "userErrors": []}

    def _m_draft_order_complete(self, _info: Any, id: str, **_args: Any) -> dict[str, Any]:
        draft = next((d for d in self.state.draft_orders.values() if d.gid == id), None)
        if draft is None:
            return _error(["id"], "Draft order does not exist")
        if draft.status == "COMPLETED":
            return _error(["id"], "This order has been paid")  # Shopify refuses completing twice
        now = self.clock.now()
        oid, number = self.state.next_order_ids()
        order = Order(oid, number, now, now, self.currency, draft.subtotal - draft.discount, draft.discount, None,
                      "PAID", email=draft.email, shipping_address=draft.shipping_address,
                      tags=list(draft.tags))  # fmt: skip
        self.state.orders[oid] = order
        draft.status, draft.order_id, draft.completed_at, draft.updated_at = "COMPLETED", oid, now, now
        return {"draftOrder": self._draft_node(draft), "userErrors": []}
