"""`FakeShopify`: a local Shopify GraphQL Admin API for tests and the demo.

`POST /admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`. Every request is parsed and validated
against Shopify's own schema (emulator/shop/schema.py), so the fake refuses what Shopify refuses; then the
app's scopes are checked per root field, the cost is drawn from a leaky bucket, and the operation runs with
graphql-core's executor over plain dicts built from `ShopState`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import aiohttp
from aiohttp import web
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    VariableNode,
    execute_sync,
    parse,
    validate,
)
from graphql.language import DocumentNode

from emulator.shop.faults import INVALID_TOKEN, ShopFaults
from emulator.shop.schema import MAX_SINGLE_QUERY_COST, SCHEMA_VERSION, admin_schema, estimate_cost
from emulator.shop.state import Discount, Order, Refund, ShopState, WebhookSubscription, iso, money

log = logging.getLogger(__name__)

# Versions the fake answers on. Only 2025-01's schema ships, so every version is validated against it.
SUPPORTED_VERSIONS = ("2024-10", "2025-01", "2025-04", "2025-07", "2025-10")

# Scopes each root field needs, from Shopify's reference pages ("Requires `write_discounts` access scope", ...).
# Fields not listed need none. webhookSubscriptionCreate needs the scope of the topic's resource, see
# TOPIC_SCOPES. A `write_x` scope also grants `read_x` (Shopify's access-scopes guide).
FIELD_SCOPES: dict[str, str] = {
    "codeDiscountNodeByCode": "read_discounts",
    "codeDiscountNode": "read_discounts",
    "discountCodeBasicCreate": "write_discounts",
    "discountCodeBasicUpdate": "write_discounts",
    "discountCodeActivate": "write_discounts",
    "discountCodeDeactivate": "write_discounts",
    "orders": "read_orders",
    "order": "read_orders",
}
TOPIC_SCOPES: dict[str, str] = {
    "ORDERS_CREATE": "read_orders",
    "ORDERS_PAID": "read_orders",
    "ORDERS_UPDATED": "read_orders",
    "REFUNDS_CREATE": "read_orders",
}
DEFAULT_SCOPES = ("read_discounts", "write_discounts", "read_orders", "read_products")

# A standard plan restores 100 points a second (Shopify's rate-limits page); the bucket holds 2,000 on the
# plans that restore 100/s. Both are settings so a test can make throttling happen quickly.
STANDARD_MAXIMUM = 2000.0
STANDARD_RESTORE_RATE = 100.0

MAX_PAGE_SIZE = 250  # Shopify caps `first`/`last` at 250

_QUERY_TERM = re.compile(r"(\w+):(>=|<=|>|<)?(?:'([^']*)'|\"([^\"]*)\"|(\S+))")


class Clock:
    """Seconds for the cost bucket and the current time for timestamps; tests pass a `ManualClock`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    def __init__(self, start: datetime | None = None) -> None:
        self.seconds = 0.0
        self.start = start or datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


class CostBucket:
    """Shopify's leaky bucket: requests draw their requested cost; it refills at `restore_rate` per second."""

    def __init__(self, clock: Clock, maximum: float, restore_rate: float) -> None:
        self.clock = clock
        self.maximum = maximum
        self.restore_rate = restore_rate
        self._available = maximum
        self._at = clock.monotonic()

    @property
    def available(self) -> float:
        now = self.clock.monotonic()
        self._available = min(self.maximum, self._available + (now - self._at) * self.restore_rate)
        self._at = now
        return self._available

    def take(self, cost: float) -> bool:
        if cost > self.available:
            return False
        self._available -= cost
        return True

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": float(self.maximum),
            "currentlyAvailable": float(int(self.available)),
            "restoreRate": float(self.restore_rate),
        }


@dataclass
class Delivery:
    """One webhook POST the shop made, kept so a test can check what was sent and what came back."""

    topic: str
    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None  # None: the connection failed


def _bag(amount: Decimal, currency: str) -> dict[str, Any]:
    one = {"amount": money(amount), "currencyCode": currency}
    return {"shopMoney": one, "presentmentMoney": dict(one)}


def _rest_bag(amount: Decimal, currency: str) -> dict[str, Any]:
    one = {"amount": money(amount), "currency_code": currency}
    return {"shop_money": one, "presentment_money": dict(one)}


def _b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def _unb64(value: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(value.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _connection(items: list[Any], cursor: Callable[[Any], str], node: Callable[[Any], Any], more: bool) -> Any:
    nodes = [node(i) for i in items]
    return {
        "nodes": nodes,
        "edges": [{"cursor": cursor(i), "node": n} for i, n in zip(items, nodes, strict=True)],
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": False,  # the fake pages forwards only, as the bot does
            "startCursor": cursor(items[0]) if items else None,
            "endCursor": cursor(items[-1]) if items else None,
        },
    }


class _UserErrors(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


class FakeShopify:
    """A shop at `url` (pass it as the shop's base URL). `await shop.start()`, `await shop.stop()`."""

    def __init__(
        self,
        *,
        token: str = "shpat_test_token",
        client_secret: str = "shopify-client-secret",
        scopes: Iterable[str] = DEFAULT_SCOPES,
        domain: str = "collective-test.myshopify.com",
        name: str = "Collective Test Shop",
        currency: str = "USD",
        clock: Clock | None = None,
        maximum_available: float = STANDARD_MAXIMUM,
        restore_rate: float = STANDARD_RESTORE_RATE,
        versions: Iterable[str] = SUPPORTED_VERSIONS,
    ) -> None:
        self.token = token
        self.client_secret = client_secret
        self.scopes = set(scopes)
        self.domain = domain
        self.name = name
        self.currency = currency
        self.clock = clock or Clock()
        self.bucket = CostBucket(self.clock, maximum_available, restore_rate)
        self.versions = set(versions)
        self.state = ShopState()
        self.faults = ShopFaults()
        self.deliveries: list[Delivery] = []
        self.requests: list[dict[str, Any]] = []  # every GraphQL body received, for assertions
        self.schema = admin_schema()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port = 0
        self._session: aiohttp.ClientSession | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/admin/api/{version}/graphql.json", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await self._bind()

    async def _bind(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await self._site.start()
        server = self._site._server  # aiohttp keeps the listening socket here; no public accessor
        if self._port == 0 and server is not None:
            sockets = getattr(server, "sockets", None) or []
            self._port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    async def go_down(self) -> None:
        """The shop is unreachable: the port refuses connections until `come_back()`."""
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def come_back(self) -> None:
        if self._site is None:
            await self._bind()

    @property
    def url(self) -> str:
        """The shop's base URL; the GraphQL endpoint is `{url}/admin/api/{version}/graphql.json`."""
        return f"http://127.0.0.1:{self._port}"

    def graphql_url(self, version: str = SCHEMA_VERSION) -> str:
        return f"{self.url}/admin/api/{version}/graphql.json"

    # ---- test helpers --------------------------------------------------------------------------------

    @property
    def discounts(self) -> dict[str, Discount]:
        """The shop's discounts by code (upper-cased: codes are case-insensitive)."""
        return self.state.discounts

    def discount_status(self, code: str) -> str | None:
        found = self.state.discount_by_code(code)
        return found.status_at(self.clock.now()) if found else None

    @property
    def orders(self) -> list[Order]:
        return list(self.state.orders.values())

    @property
    def webhook_subscriptions(self) -> list[WebhookSubscription]:
        return list(self.state.webhooks.values())

    def add_discount(self, code: str, *, percentage: float | None = 0.1, title: str | None = None) -> Discount:
        """A discount made in the shop's admin (not by the app), e.g. to show a taken code."""
        now = self.clock.now()
        did, cid = self.state.next_discount_ids()
        found = Discount(did, cid, code, title or code, now, None, now, now, percentage=percentage)
        self.state.discounts[code.upper()] = found
        return found

    async def place_order(
        self,
        *,
        code: str | None = None,
        total: str | Decimal = "50.00",
        currency: str | None = None,
        discount: str | Decimal | None = None,
        at: datetime | None = None,
        paid: bool = True,
    ) -> Order:
        """A customer checks out; the order is stored and orders/create (and orders/paid) webhooks go out."""
        now = at or self.clock.now()
        total_d = Decimal(str(total))
        spelled = code
        if code is not None and discount is None:
            found = self.state.discount_by_code(code)
            spelled = found.code if found else code
            discount_d = self._discount_for(found, total_d)
        else:
            discount_d = Decimal(str(discount or "0"))
        oid, number = self.state.next_order_ids()
        order = Order(
            oid, number, now, now, currency or self.currency, total_d, discount_d, spelled,
            "PAID" if paid else "PENDING",
        )  # fmt: skip
        self.state.orders[oid] = order
        await self._deliver("ORDERS_CREATE", self.order_webhook_body(order))
        if paid:
            await self._deliver("ORDERS_PAID", self.order_webhook_body(order))
        return order

    async def refund(self, order: Order, amount: str | Decimal, *, at: datetime | None = None) -> Refund:
        """A refund on the order; updates the order's updatedAt and status, sends refunds/create."""
        now = at or self.clock.now()
        refund = Refund(self.state.next_refund_id(), now, Decimal(str(amount)))
        order.refunds.append(refund)
        order.updated_at = now
        order.financial_status = "REFUNDED" if order.refunded >= order.total else "PARTIALLY_REFUNDED"
        await self._deliver("REFUNDS_CREATE", self.refund_webhook_body(order, refund))
        return refund

    @staticmethod
    def _discount_for(found: Discount | None, total: Decimal) -> Decimal:
        if found is None:
            return Decimal("0")
        if found.amount is not None:
            return found.amount
        if found.percentage:
            # total is after the discount: before = total / (1 - p)
            before = total / (Decimal(1) - Decimal(str(found.percentage)))
            return (before - total).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return Decimal("0")

    # ---- webhooks ------------------------------------------------------------------------------------

    def sign(self, body: bytes) -> str:
        return base64.b64encode(hmac.new(self.client_secret.encode(), body, hashlib.sha256).digest()).decode()

    def order_webhook_body(self, order: Order) -> dict[str, Any]:
        """The REST Order resource's shape, as in Shopify's documented orders/create example."""
        cur = order.currency
        before = order.total + order.discount
        codes = []
        applications = []
        if order.code:
            codes = [{"code": order.code, "amount": money(order.discount), "type": "fixed_amount"}]
            applications = [
                {
                    "target_type": "line_item",
                    "type": "discount_code",
                    "value": money(order.discount),
                    "value_type": "fixed_amount",
                    "allocation_method": "across",
                    "target_selection": "all",
                    "code": order.code,
                }
            ]
        current = order.total - order.refunded
        return {
            "id": order.id,
            "admin_graphql_api_id": order.gid,
            "name": order.name,
            "number": order.number - 1000,
            "order_number": order.number,
            "created_at": order.created_at.isoformat(),
            "updated_at": order.updated_at.isoformat(),
            "processed_at": order.created_at.isoformat(),
            "cancelled_at": None,
            "currency": cur,
            "presentment_currency": cur,
            "financial_status": order.financial_status.lower(),
            "fulfillment_status": None,
            "test": False,
            "total_price": money(order.total),
            "total_price_set": _rest_bag(order.total, cur),
            "subtotal_price": money(order.total),
            "subtotal_price_set": _rest_bag(order.total, cur),
            "total_discounts": money(order.discount),
            "total_discounts_set": _rest_bag(order.discount, cur),
            "total_line_items_price": money(before),
            "total_line_items_price_set": _rest_bag(before, cur),
            "current_total_price": money(current),
            "current_total_price_set": _rest_bag(current, cur),
            "current_subtotal_price": money(current),
            "current_subtotal_price_set": _rest_bag(current, cur),
            "current_total_discounts": money(order.discount),
            "current_total_discounts_set": _rest_bag(order.discount, cur),
            "total_tax": "0.00",
            "discount_codes": codes,
            "discount_applications": applications,
            "line_items": [],
            "refunds": [self.refund_webhook_body(order, r) for r in order.refunds],
        }

    def refund_webhook_body(self, order: Order, refund: Refund) -> dict[str, Any]:
        """The REST Refund resource's shape (refunds/create)."""
        return {
            "id": refund.id,
            "admin_graphql_api_id": refund.gid,
            "order_id": order.id,
            "created_at": refund.created_at.isoformat(),
            "processed_at": refund.created_at.isoformat(),
            "note": None,
            "restock": False,
            "order_adjustments": [],
            "refund_line_items": [],
            "transactions": [
                {
                    "id": refund.id + 1,
                    "order_id": order.id,
                    "amount": money(refund.amount),
                    "currency": order.currency,
                    "kind": "refund",
                    "status": "success",
                    "created_at": refund.created_at.isoformat(),
                    "test": False,
                }
            ],
        }

    async def _deliver(self, topic: str, payload: dict[str, Any]) -> None:
        subs = [s for s in self.state.webhooks.values() if s.topic == topic]
        if not subs:
            return
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))  # Shopify waits 5 s
        body = json.dumps(payload).encode()
        event_id = str(uuid.uuid4())  # one event, one id for every subscription it goes to
        for sub in subs:
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic.lower().replace("_", "/", 1),
                "X-Shopify-Hmac-Sha256": self.sign(body),
                "X-Shopify-Shop-Domain": self.domain,
                "X-Shopify-API-Version": SCHEMA_VERSION,
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Event-Id": event_id,
                "X-Shopify-Triggered-At": self.clock.now().isoformat(),
            }
            status: int | None
            try:
                async with self._session.post(sub.callback_url, data=body, headers=headers) as resp:
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("webhook to %s failed: %s", sub.callback_url, exc)
                status = None
            self.deliveries.append(Delivery(topic, sub.callback_url, body, headers, status))

    # ---- HTTP ----------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["version"] not in self.versions:
            return web.json_response({"errors": "Not Found"}, status=404)
        fault = self.faults.match()
        if fault is not None:
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        given = request.headers.get("X-Shopify-Access-Token", "")
        if not given or not secrets.compare_digest(given.encode(), self.token.encode()):
            return web.json_response({"errors": INVALID_TOKEN}, status=401)
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return web.json_response({"errors": {"query": "Required parameter missing or invalid"}}, status=400)
        self.requests.append(body)
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            return web.json_response({"errors": {"variables": "Required parameter missing or invalid"}}, status=400)
        return web.json_response(self.run(body["query"], variables, body.get("operationName")))

    def run(self, query: str, variables: dict[str, Any], operation_name: str | None = None) -> dict[str, Any]:
        """Validate, authorise, charge and execute one GraphQL document; returns Shopify's response body."""
        try:
            document = parse(query)
        except GraphQLError as exc:
            return {"errors": [exc.formatted]}
        problems = validate(self.schema, document)
        if problems:
            return {"errors": [p.formatted for p in problems]}
        operation = self._operation(document, operation_name)
        if operation is None:
            return {"errors": [{"message": "An operation name is required"}]}
        denied = self._access_denied(operation, variables)
        if denied:
            return {"errors": denied, "data": None}
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        cost = estimate_cost(self.schema, operation, fragments, variables)
        if cost > MAX_SINGLE_QUERY_COST:
            return {
                "errors": [
                    {
                        "message": f"Query cost is {cost}, which exceeds the single query max cost limit "
                        f"({MAX_SINGLE_QUERY_COST}).",
                        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost,
                                       "maxCost": MAX_SINGLE_QUERY_COST},
                    }
                ]
            }  # fmt: skip
        if not self.bucket.take(cost):
            return {
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": cost,
                        "actualQueryCost": None,
                        "throttleStatus": self.bucket.status(),
                    }
                },
            }
        result = execute_sync(
            self.schema, document, root_value=self._root(), variable_values=variables, operation_name=operation_name
        )
        out: dict[str, Any] = {}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        out["data"] = result.data
        # The fake charges what it estimated: Shopify refunds the difference to the actual cost, which the
        # fake does not compute, so requested and actual are the same.
        out["extensions"] = {
            "cost": {"requestedQueryCost": cost, "actualQueryCost": cost, "throttleStatus": self.bucket.status()}
        }
        return out

    @staticmethod
    def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if name is not None:
            return next((o for o in ops if o.name is not None and o.name.value == name), None)
        return ops[0] if len(ops) == 1 else None

    def _has(self, scope: str) -> bool:
        if scope in self.scopes:
            return True
        return scope.startswith("read_") and f"write_{scope[5:]}" in self.scopes

    def _access_denied(self, operation: OperationDefinitionNode, variables: dict[str, Any]) -> list[dict[str, Any]]:
        errors = []
        for sel in operation.selection_set.selections:
            if not isinstance(sel, FieldNode):
                continue
            name = sel.name.value
            needed = FIELD_SCOPES.get(name)
            if name == "webhookSubscriptionCreate":
                needed = TOPIC_SCOPES.get(self._topic_argument(sel, variables) or "")
            if needed is None or self._has(needed):
                continue
            required = f"`{needed}` access scope."
            loc = sel.loc.source.get_location(sel.loc.start) if sel.loc else None
            errors.append(
                {
                    "message": f"Access denied for {name} field. Required access: {required}",
                    "locations": [{"line": loc.line, "column": loc.column}] if loc else [],
                    "extensions": {
                        "code": "ACCESS_DENIED",
                        "documentation": "https://shopify.dev/api/usage/access-scopes",
                        "requiredAccess": required,
                    },
                    "path": [sel.alias.value if sel.alias else name],
                }
            )
        return errors

    @staticmethod
    def _topic_argument(field: FieldNode, variables: dict[str, Any]) -> str | None:
        for arg in field.arguments or ():
            if arg.name.value == "topic":
                value = arg.value
                if isinstance(value, VariableNode):
                    found = variables.get(value.name.value)
                    return found if isinstance(found, str) else None
                return getattr(value, "value", None)
        return None

    # ---- resolvers -----------------------------------------------------------------------------------
    # graphql-core's default resolver reads dict keys and calls callables with (info, **arguments), so the
    # root is a dict of bound methods and every object below it a plain dict. `__typename` picks the member
    # of a union or interface.

    def _root(self) -> dict[str, Any]:
        return {
            "shop": lambda _info: self._shop_node(),
            "currentAppInstallation": lambda _info: self._installation_node(),
            "codeDiscountNodeByCode": self._q_code_discount_by_code,
            "webhookSubscriptions": self._q_webhook_subscriptions,
            "orders": self._q_orders,
            "discountCodeBasicCreate": self._m_discount_create,
            "discountCodeBasicUpdate": self._m_discount_update,
            "discountCodeActivate": self._m_discount_activate,
            "discountCodeDeactivate": self._m_discount_deactivate,
            "webhookSubscriptionCreate": self._m_webhook_create,
        }

    def _shop_node(self) -> dict[str, Any]:
        return {
            "id": "gid://shopify/Shop/1",
            "name": self.name,
            "myshopifyDomain": self.domain,
            "currencyCode": self.currency,
            "url": f"https://{self.domain}",
            "ianaTimezone": "UTC",
        }

    def _installation_node(self) -> dict[str, Any]:
        return {
            "id": "gid://shopify/AppInstallation/1",
            "accessScopes": [{"handle": s, "description": s.replace("_", " ")} for s in sorted(self.scopes)],
        }

    # -- discounts

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
            "asyncUsageCount": 0,
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
                "items": {"__typename": "AllDiscountItems", "allItems": True},
                "appliesOnOneTimePurchase": True,
                "appliesOnSubscription": False,
            },
            "codes": lambda _info, **_kw: _connection([code_node], lambda n: _b64(n["id"]), lambda n: n, False),
            "codesCount": {"count": 1, "precision": "EXACT"},
        }
        return {"id": d.gid, "codeDiscount": basic}

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
            d.usage_limit = data["usageLimit"]
        if data.get("combinesWith"):
            d.combines_with.update({k: bool(v) for k, v in data["combinesWith"].items() if v is not None})
        minimum = (data.get("minimumRequirement") or {}).get("subtotal") or {}
        if minimum.get("greaterThanOrEqualToSubtotal") is not None:
            where = ["basicCodeDiscount", "minimumRequirement", "subtotal", "greaterThanOrEqualToSubtotal"]
            d.minimum_subtotal = self._decimal(minimum["greaterThanOrEqualToSubtotal"], where)
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

    # -- webhooks

    def _webhook_node(self, w: WebhookSubscription) -> dict[str, Any]:
        return {
            "id": w.gid,
            "legacyResourceId": str(w.id),
            "topic": w.topic,
            "format": w.format,
            "callbackUrl": w.callback_url,
            "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": w.callback_url},
            "createdAt": iso(w.created_at),
            "updatedAt": iso(w.updated_at),
            "includeFields": [],
            "metafieldNamespaces": [],
            "filter": None,
            "apiVersion": {"handle": SCHEMA_VERSION, "displayName": SCHEMA_VERSION, "supported": True},
        }

    def _q_webhook_subscriptions(self, _info: Any, **args: Any) -> dict[str, Any]:
        subs = sorted(self.state.webhooks.values(), key=lambda w: w.id)
        if args.get("topics"):
            subs = [w for w in subs if w.topic in args["topics"]]
        if args.get("callbackUrl"):
            subs = [w for w in subs if w.callback_url == args["callbackUrl"]]
        if args.get("format"):
            subs = [w for w in subs if w.format == args["format"]]
        return self._page(subs, args, lambda w: str(w.id), self._webhook_node)

    def _m_webhook_create(self, _info: Any, topic: str, webhookSubscription: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        data = webhookSubscription
        url = data.get("callbackUrl")
        field = ["webhookSubscription", "callbackUrl"]
        if not url:
            return {"webhookSubscription": None, "userErrors": [{"field": field, "message": "Address can't be blank"}]}
        if not re.match(r"^https?://[^/\s]+", str(url)):
            return {"webhookSubscription": None, "userErrors": [{"field": field, "message": "Address is invalid"}]}
        if any(w.topic == topic and w.callback_url == url for w in self.state.webhooks.values()):
            return {
                "webhookSubscription": None,
                "userErrors": [{"field": field, "message": "Address for this topic has already been taken"}],
            }
        now = self.clock.now()
        sub = WebhookSubscription(self.state.next_webhook_id(), topic, str(url), data.get("format") or "JSON", now, now)
        self.state.webhooks[sub.id] = sub
        return {"webhookSubscription": self._webhook_node(sub), "userErrors": []}

    # -- orders

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
            "discountApplications": lambda _info, **_kw: _connection(
                applications, lambda a: _b64(str(a["index"])), lambda a: a, False
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
        return self._page(orders, args, lambda o: str(o.id), self._order_node)

    def _page(
        self, items: list[Any], args: dict[str, Any], key: Callable[[Any], str], node: Callable[[Any], Any]
    ) -> dict[str, Any]:
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            raise GraphQLError("you must provide one of first or last")
        size = first if first is not None else last
        assert size is not None
        if size > MAX_PAGE_SIZE or size < 0:
            raise GraphQLError(f"The maximum page size is {MAX_PAGE_SIZE}; `first`/`last` can't be {size}.")
        if last is not None:
            raise GraphQLError("The fake shop pages forwards only (`first`/`after`).")
        after = args.get("after")
        if after:
            decoded = _unb64(after)
            index = next((i for i, it in enumerate(items) if key(it) == decoded), None)
            if index is None:
                raise GraphQLError(f"Invalid cursor for current pagination sort: {after}")
            items = items[index + 1 :]
        page = items[:size]
        return _connection(page, lambda it: _b64(key(it)), node, len(items) > size)
