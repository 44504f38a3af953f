"""Orders in the fake shop: the GraphQL order node (codes in discountApplications, refunds with their
transactions), the `orders` connection with its updated_at/created_at search terms and sort keys, and `order(id:)`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from emulator.shop.draft_orders import fulfillment_fields
from emulator.shop.paging import b64, connection, page
from emulator.shop.state import Order, Refund, ShopState, iso, money

_QUERY_TERM = re.compile(r"(\w+):(>=|<=|>|<)?(?:'([^']*)'|\"([^\"]*)\"|(\S+))")


def _bag(amount: Decimal, currency: str) -> dict[str, Any]:
    one = {"amount": money(amount), "currencyCode": currency}
    return {"shopMoney": one, "presentmentMoney": dict(one)}


class OrderResolvers:
    """Mixed into FakeShopify: the orders query over its `state`."""

    state: ShopState

    def _order_node(self, o: Order) -> dict[str, Any]:
        cur = o.currency
        applications: list[dict[str, Any]] = []
        if o.code:
            applications.append(
                {
                    "__typename": "DiscountCodeApplication",
                    "code": o.code,
                    "index": 0,
                    "allocationMethod": "ACROSS",
                    "targetSelection": "ALL",
                    "targetType": "LINE_ITEM",
                    "value": {"__typename": "MoneyV2", "amount": money(o.discount), "currencyCode": cur},
                }
            )
        refunds = [self._refund_node(o, r) for r in o.refunds]
        current = o.total - o.refunded
        return {
            "id": o.gid,
            "legacyResourceId": str(o.id),
            "name": o.name,
            "createdAt": iso(o.created_at),
            "updatedAt": iso(o.updated_at),
            "processedAt": iso(o.created_at),
            "cancelledAt": None,
            "test": False,
            "email": o.email,
            "currencyCode": cur,
            "presentmentCurrencyCode": cur,
            "displayFinancialStatus": o.financial_status,
            "totalPriceSet": _bag(o.total, cur),
            "subtotalPriceSet": _bag(o.total, cur),
            "totalDiscountsSet": _bag(o.discount, cur),
            "currentTotalPriceSet": _bag(current, cur),
            "currentSubtotalPriceSet": _bag(current, cur),
            "currentTotalDiscountsSet": _bag(o.discount, cur),
            "totalRefundedSet": _bag(o.refunded, cur),
            "discountCode": o.code,
            "discountCodes": [o.code] if o.code else [],
            "discountApplications": lambda _info, **_kw: connection(
                applications, lambda a: b64(str(a["index"])), lambda a: a, False
            ),
            "refunds": lambda _info, **_kw: refunds,
            **fulfillment_fields(o),
        }

    @staticmethod
    def _refund_node(o: Order, r: Refund) -> dict[str, Any]:
        """A refund of money only (the fake's refunds return no line items): one successful REFUND transaction,
        the one its refunds/create body lists."""
        cur = o.currency
        transaction = {
            "id": f"gid://shopify/OrderTransaction/{r.id + 1}",
            "kind": "REFUND",
            "status": "SUCCESS",
            "test": False,
            "gateway": "manual",
            "createdAt": iso(r.created_at),
            "processedAt": iso(r.created_at),
            "amount": money(r.amount),
            "amountSet": _bag(r.amount, cur),
        }
        return {
            "id": r.gid,
            "legacyResourceId": str(r.id),
            "createdAt": iso(r.created_at),
            "updatedAt": iso(r.created_at),
            "note": None,
            "totalRefunded": {"amount": money(r.amount), "currencyCode": cur},
            "totalRefundedSet": _bag(r.amount, cur),
            "refundLineItems": lambda _info, **kw: page([], kw, str, lambda n: n),
            "transactions": lambda _info, **kw: page([transaction], kw, lambda t: t["id"], lambda t: t),
        }

    def _q_order(self, _info: Any, **args: Any) -> dict[str, Any] | None:
        match = re.fullmatch(r"gid://shopify/Order/(\d+)", str(args.get("id")))
        found = self.state.orders.get(int(match.group(1))) if match else None
        return None if found is None else self._order_node(found)

    @staticmethod
    def _date_terms(query: str) -> list[tuple[str, str, datetime | None]]:
        """The updated_at/created_at terms of a search query, each bound parsed once (None: unreadable, which
        matches nothing). The fake filters on dates only; other terms match everything."""
        terms: list[tuple[str, str, datetime | None]] = []
        for m in _QUERY_TERM.finditer(query):
            name, op = m.group(1), m.group(2) or ""
            if name not in ("updated_at", "created_at"):
                continue
            raw = next(g for g in m.groups()[2:] if g is not None)
            try:
                bound: datetime | None = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                bound = None
            if bound is not None and bound.tzinfo is None:
                bound = bound.replace(tzinfo=UTC)
            terms.append((name, op, bound))
        return terms

    @staticmethod
    def _order_matches(o: Order, terms: list[tuple[str, str, datetime | None]]) -> bool:
        for name, op, bound in terms:
            if bound is None:
                return False
            moment = o.updated_at if name == "updated_at" else o.created_at
            ok = {
                ">": moment > bound,
                ">=": moment >= bound,
                "<": moment < bound,
                "<=": moment <= bound,
                "": moment == bound,
            }[op]
            if not ok:
                return False
        return True

    def _q_orders(self, _info: Any, **args: Any) -> dict[str, Any]:
        terms = self._date_terms(args.get("query") or "")
        orders = [o for o in self.state.orders.values() if self._order_matches(o, terms)]
        sort_key = args.get("sortKey") or "ID"
        keys: dict[str, Callable[[Order], Any]] = {
            "UPDATED_AT": lambda o: (o.updated_at, o.id),
            "CREATED_AT": lambda o: (o.created_at, o.id),
            "PROCESSED_AT": lambda o: (o.created_at, o.id),
            "ORDER_NUMBER": lambda o: (o.number, o.id),
            "TOTAL_PRICE": lambda o: (o.total, o.id),
        }
        orders.sort(key=keys.get(sort_key, lambda o: o.id), reverse=bool(args.get("reverse")))
        return page(orders, args, lambda o: str(o.id), self._order_node)
