"""Discount codes in the fake shop: the node shape and the basic-code mutations with Shopify's userErrors, and what
checkout makes of a code (``checkout_discount``): its dates, its usage limit and the products it is for."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from emulator.shop.clock import Clock
from emulator.shop.paging import b64, connection
from emulator.shop.state import Discount, ShopState, iso, money

PRODUCT_GID = re.compile(r"gid://shopify/Product/[1-9][0-9]*")


class CheckoutRefused(Exception):
    """What the shop's checkout says when a code cannot be used (expired, used up, not for these items)."""


class _UserErrors(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


class DiscountResolvers:
    """Mixed into FakeShopify: the discount queries and mutations over its `state`."""

    state: ShopState
    clock: Clock
    currency: str

    def _discount_node(self, d: Discount) -> dict[str, Any]:
        now = self.clock.now()
        if d.amount is not None:
            value: dict[str, Any] = {
                "__typename": "DiscountAmount",
                "amount": {"amount": money(d.amount), "currencyCode": self.currency},
                "appliesOnEachItem": d.applies_on_each_item,
            }
            summary = f"{money(d.amount)} {self.currency} off entire order"
        else:
            value = {"__typename": "DiscountPercentage", "percentage": d.percentage or 0.0}
            summary = f"{round((d.percentage or 0.0) * 100)}% off entire order"
        if d.product_ids:
            summary = summary.replace("entire order", "selected products")
        minimum = None
        if d.minimum_subtotal is not None:
            minimum = {
                "__typename": "DiscountMinimumSubtotal",
                "greaterThanOrEqualToSubtotal": {"amount": money(d.minimum_subtotal), "currencyCode": self.currency},
            }
        code_node = {"id": f"gid://shopify/DiscountRedeemCode/{d.code_id}", "code": d.code, "asyncUsageCount": 0}
        basic: dict[str, Any] = {
            "__typename": "DiscountCodeBasic",
            "title": d.title,
            "status": d.status_at(now),
            "startsAt": iso(d.starts_at),
            "endsAt": iso(d.ends_at) if d.ends_at else None,
            "createdAt": iso(d.created_at),
            "updatedAt": iso(d.updated_at),
            "appliesOncePerCustomer": d.applies_once_per_customer,
            "usageLimit": d.usage_limit,
            "asyncUsageCount": d.times_used,
            "summary": summary,
            "shortSummary": summary,
            "discountClass": "ORDER",
            "hasTimelineComment": False,
            "shareableUrls": [],
            "recurringCycleLimit": None,
            "totalSales": None,
            "combinesWith": dict(d.combines_with),
            "minimumRequirement": minimum,
            "customerSelection": {"__typename": "DiscountCustomerAll", "allCustomers": True},
            "customerGets": {
                "value": value,
                "items": self._items_node(d),
                "appliesOnOneTimePurchase": True,
                "appliesOnSubscription": False,
            },
            "codes": lambda _info, **_kw: connection([code_node], lambda n: b64(n["id"]), lambda n: n, False),
            "codesCount": {"count": 1, "precision": "EXACT"},
        }
        return {"id": d.gid, "codeDiscount": basic}

    @staticmethod
    def _items_node(d: Discount) -> dict[str, Any]:
        if not d.product_ids:
            return {"__typename": "AllDiscountItems", "allItems": True}
        products = [{"id": gid, "legacyResourceId": gid.rsplit("/", 1)[1]} for gid in d.product_ids]
        return {
            "__typename": "DiscountProducts",
            "products": lambda _info, **_kw: connection(products, lambda n: b64(n["id"]), lambda n: n, False),
            "productVariants": lambda _info, **_kw: connection([], lambda n: "", lambda n: n, False),
        }

    def _q_code_discount_by_code(self, _info: Any, code: str) -> dict[str, Any] | None:
        found = self.state.discount_by_code(code)
        return self._discount_node(found) if found else None

    def _apply_input(self, d: Discount, data: dict[str, Any]) -> None:
        if "title" in data:
            d.title = data["title"]
        if data.get("startsAt"):
            d.starts_at = self._datetime(data["startsAt"], ["basicCodeDiscount", "startsAt"])
        if "endsAt" in data:
            d.ends_at = self._datetime(data["endsAt"], ["basicCodeDiscount", "endsAt"]) if data["endsAt"] else None
        if "appliesOncePerCustomer" in data and data["appliesOncePerCustomer"] is not None:
            d.applies_once_per_customer = bool(data["appliesOncePerCustomer"])
        if "usageLimit" in data:
            if data["usageLimit"] is not None and data["usageLimit"] < 1:
                where = ["basicCodeDiscount", "usageLimit"]
                raise _UserErrors([self._error(where, "GREATER_THAN", "Usage limit must be greater than 0")])
            d.usage_limit = data["usageLimit"]
        if data.get("endsAt") and d.ends_at is not None and d.ends_at <= d.starts_at:
            where = ["basicCodeDiscount", "endsAt"]
            raise _UserErrors([self._error(where, "INVALID", "Ends at needs to be after starts_at")])
        if data.get("combinesWith"):
            d.combines_with.update({k: bool(v) for k, v in data["combinesWith"].items() if v is not None})
        minimum = (data.get("minimumRequirement") or {}).get("subtotal") or {}
        if minimum.get("greaterThanOrEqualToSubtotal") is not None:
            where = ["basicCodeDiscount", "minimumRequirement", "subtotal", "greaterThanOrEqualToSubtotal"]
            d.minimum_subtotal = self._decimal(minimum["greaterThanOrEqualToSubtotal"], where)
        items = (data.get("customerGets") or {}).get("items")
        if items is not None:
            d.product_ids = self._items(items)
        value = (data.get("customerGets") or {}).get("value") or {}
        if value.get("percentage") is not None:
            pct = float(value["percentage"])
            if not 0 < pct <= 1:
                where = ["basicCodeDiscount", "customerGets", "value", "percentage"]
                raise _UserErrors([self._error(where, "VALUE_OUTSIDE_RANGE", "Value must be between 0.0 and 1.0")])
            d.percentage, d.amount = pct, None
        elif (value.get("discountAmount") or {}).get("amount") is not None:
            amount_in = value["discountAmount"]
            where = ["basicCodeDiscount", "customerGets", "value", "discountAmount", "amount"]
            d.amount = self._decimal(amount_in["amount"], where)
            d.percentage = None
            d.applies_on_each_item = bool(amount_in.get("appliesOnEachItem"))

    def _items(self, items: dict[str, Any]) -> list[str]:
        """``DiscountItemsInput``: every item (``all``), or products (``productsToAdd``: Product gids). Collections
        and variants are not modelled: the fake refuses them rather than pretend."""
        where = ["basicCodeDiscount", "customerGets", "items"]
        products = items.get("products")
        if items.get("all") and products is None and items.get("collections") is None:
            return []
        if products is None or items.get("all") or items.get("collections") is not None:
            raise _UserErrors([self._error(where, "INVALID", "Items must be all items or a list of products")])
        wanted = list(products.get("productsToAdd") or [])
        if products.get("productVariantsToAdd"):
            raise _UserErrors([self._error([*where, "products"], "INVALID", "Product variants are not supported")])
        if not wanted:
            raise _UserErrors([self._error([*where, "products"], "BLANK", "Customer gets items can't be blank")])
        known = {p.gid for p in self.state.products.values()}
        for n, gid in enumerate(wanted):
            at = [*where, "products", "productsToAdd", str(n)]
            if not isinstance(gid, str) or not PRODUCT_GID.fullmatch(gid):
                raise _UserErrors([self._error(at, "INVALID", f"Invalid global id '{gid}'")])
            if gid not in known:
                raise _UserErrors([self._error(at, "INVALID", "Product does not exist")])
        return wanted

    def checkout_discount(
        self, d: Discount, *, subtotal: Decimal, product_id: str | None, now: datetime, quantity: int = 1
    ) -> Decimal:
        """What the code takes off a one-line cart worth ``subtotal`` (``quantity`` units of ``product_id``), or why
        checkout refuses. A fixed amount is taken off each entitled unit with ``appliesOnEachItem``, and split across
        them (so taken once) without it; a percentage comes off every unit."""
        if d.ends_at is not None and d.ends_at <= now:  # (tests back-date orders, so a start later is let pass)
            raise CheckoutRefused(f"Enter a valid discount code ({d.code} has expired)")
        if d.usage_limit is not None and d.times_used >= d.usage_limit:
            raise CheckoutRefused(f"{d.code} has reached its usage limit")
        if d.product_ids and product_id not in d.product_ids:
            raise CheckoutRefused(f"{d.code} isn't valid for the items in your cart")
        if d.minimum_subtotal is not None and subtotal < d.minimum_subtotal:
            raise CheckoutRefused(f"{d.code} needs an order of at least {money(d.minimum_subtotal)}")
        if d.amount is not None:
            return min(d.amount * quantity if d.applies_on_each_item else d.amount, subtotal)
        return (subtotal * Decimal(str(d.percentage or 0))).quantize(Decimal("0.01"))

    @staticmethod
    def _error(field: list[str] | None, code: str, message: str) -> dict[str, Any]:
        return {"field": field, "code": code, "message": message, "extraInfo": None}

    def _datetime(self, value: Any, field: list[str]) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise _UserErrors([self._error(field, "INVALID", "is invalid")]) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def _decimal(self, value: Any, field: list[str]) -> Decimal:
        try:
            parsed = Decimal(str(value))
        except InvalidOperation:
            raise _UserErrors([self._error(field, "INVALID", "is invalid")]) from None
        if parsed <= 0:
            raise _UserErrors([self._error(field, "GREATER_THAN", "must be greater than 0")])
        return parsed

    def _code_problems(self, code: Any, own: Discount | None) -> list[dict[str, Any]]:
        field = ["basicCodeDiscount", "code"]
        if not isinstance(code, str) or not code.strip():
            return [self._error(field, "BLANK", "Code can't be blank")]
        if len(code) > 255:
            return [self._error(field, "TOO_LONG", "Code is too long (maximum is 255 characters)")]
        if "\n" in code or "\r" in code:
            return [self._error(field, "INVALID", "Code cannot contain newline characters.")]
        taken = self.state.discount_by_code(code)
        if taken is not None and taken is not own:
            return [self._error(field, "TAKEN", "Code must be unique. Please try a different code.")]
        return []

    def _m_discount_create(self, _info: Any, basicCodeDiscount: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        data = basicCodeDiscount
        errors = self._code_problems(data.get("code"), None)
        if not data.get("title"):
            errors.append(self._error(["basicCodeDiscount", "title"], "BLANK", "Title can't be blank"))
        if not data.get("startsAt"):
            errors.append(self._error(["basicCodeDiscount", "startsAt"], "BLANK", "Starts at can't be blank"))
        gets = data.get("customerGets") or {}
        if not gets.get("value") or not gets.get("items"):
            errors.append(self._error(["basicCodeDiscount", "customerGets"], "BLANK", "Customer gets can't be blank"))
        if errors:
            return {"codeDiscountNode": None, "userErrors": errors}
        now = self.clock.now()
        did, cid = self.state.next_discount_ids()
        found = Discount(did, cid, data["code"], data["title"], now, None, now, now)
        try:
            self._apply_input(found, data)
        except _UserErrors as exc:
            return {"codeDiscountNode": None, "userErrors": exc.errors}
        self.state.discounts[found.code.upper()] = found
        return {"codeDiscountNode": self._discount_node(found), "userErrors": []}

    def _missing(self) -> dict[str, Any]:
        return {"codeDiscountNode": None, "userErrors": [self._error(["id"], "INVALID", "Discount does not exist")]}

    def _m_discount_update(self, _info: Any, id: str, basicCodeDiscount: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        found = self.state.discount_by_gid(id)
        if found is None:
            return self._missing()
        data = basicCodeDiscount
        if "code" in data:
            errors = self._code_problems(data["code"], found)
            if errors:
                return {"codeDiscountNode": None, "userErrors": errors}
        if "title" in data and not data["title"]:
            blank = self._error(["basicCodeDiscount", "title"], "BLANK", "Title can't be blank")
            return {"codeDiscountNode": None, "userErrors": [blank]}
        # Validate on a copy so a refused update changes nothing.
        draft = replace(found, combines_with=dict(found.combines_with))
        try:
            self._apply_input(draft, data)
        except _UserErrors as exc:
            return {"codeDiscountNode": None, "userErrors": exc.errors}
        del self.state.discounts[found.code.upper()]
        if "code" in data:
            draft.code = data["code"]
        draft.updated_at = self.clock.now()
        self.state.discounts[draft.code.upper()] = draft
        return {"codeDiscountNode": self._discount_node(draft), "userErrors": []}

    def _m_discount_activate(self, _info: Any, id: str) -> dict[str, Any]:
        found = self.state.discount_by_gid(id)
        if found is None:
            return self._missing()
        now = self.clock.now()
        found.ends_at = None
        found.starts_at = min(found.starts_at, now)
        found.updated_at = now
        return {"codeDiscountNode": self._discount_node(found), "userErrors": []}

    def _m_discount_deactivate(self, _info: Any, id: str) -> dict[str, Any]:
        found = self.state.discount_by_gid(id)
        if found is None:
            return self._missing()
        now = self.clock.now()
        found.ends_at = now  # Shopify expires the discount now; its status becomes EXPIRED
        found.updated_at = now
        return {"codeDiscountNode": self._discount_node(found), "userErrors": []}
