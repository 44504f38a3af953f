"""Orders in the fake shop: the GraphQL order node (codes in discountApplications, refunds) and the
`orders` connection with its updated_at/created_at search terms and sort keys."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from emulator.shop.paging import b64, connection, page
from emulator.shop.state import Order, ShopState, iso, money

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
        refunds = [
            {
                "id": r.gid,
                "legacyResourceId": str(r.id),
                "createdAt": iso(r.created_at),
                "updatedAt": iso(r.created_at),
                "note": None,
                "totalRefunded": {"amount": money(r.amount), "currencyCode": cur},
                "totalRefundedSet": _bag(r.amount, cur),
            }
            for r in o.refunds
        ]
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
        }

    def _order_matches(self, o: Order, terms: list[tuple[str, str, str]]) -> bool:
        for name, op, raw in terms:
            if name not in ("updated_at", "created_at"):
                continue  # the fake filters on dates only; other terms match everything
            moment = o.updated_at if name == "updated_at" else o.created_at
            try:
                bound = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                return False
            if bound.tzinfo is None:
                bound = bound.replace(tzinfo=UTC)
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
        terms = [
            (m.group(1), m.group(2) or "", next(g for g in m.groups()[2:] if g is not None))
            for m in _QUERY_TERM.finditer(args.get("query") or "")
        ]
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
