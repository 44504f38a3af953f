"""`FakeShopify`: a local Shopify GraphQL Admin API for tests and the demo.

`POST /admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`. Every request is parsed and validated
against Shopify's own schema (emulator/shop/schema.py), so the fake refuses what Shopify refuses; then the
app's scopes are checked per root field, the cost is drawn from a leaky bucket, and the operation runs with
graphql-core's executor over plain dicts built from `ShopState`.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
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

from emulator.shop.clock import Clock, CostBucket
from emulator.shop.discounts import DiscountResolvers
from emulator.shop.draft_orders import DraftOrderResolvers
from emulator.shop.faults import INVALID_TOKEN, ShopFaults
from emulator.shop.gift_cards import GiftCardResolvers
from emulator.shop.orders import OrderResolvers
from emulator.shop.products import ProductResolvers
from emulator.shop.schema import MAX_SINGLE_QUERY_COST, SCHEMA_VERSION, admin_schema, estimate_cost
from emulator.shop.state import Discount, Order, Product, Refund, ShopState, Variant, WebhookSubscription
from emulator.shop.webhooks import Delivery, WebhookResolvers

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
    "products": "read_products",
    "product": "read_products",
    "order": "read_orders",
    # Draft orders (gifts): Shopify's reference pages name write_draft_orders for both mutations.
    "draftOrderCreate": "write_draft_orders",
    "draftOrderComplete": "write_draft_orders",
    "draftOrders": "read_draft_orders",
    "draftOrder": "read_draft_orders",
    # Gift cards (store credit): open to all apps since 2024-10 with these scopes.
    "giftCardCreate": "write_gift_cards",
    "giftCards": "read_gift_cards",
    "giftCard": "read_gift_cards",
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


class FakeShopify(
    DiscountResolvers, OrderResolvers, ProductResolvers, DraftOrderResolvers, GiftCardResolvers, WebhookResolvers
):
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
        self.down = False
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
        """The shop is unreachable: the port refuses new connections, and a client's kept-alive connection is
        dropped at its next request, until `come_back()`."""
        self.down = True
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def come_back(self) -> None:
        self.down = False
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

    def add_product(
        self, title: str, *, price: str | Decimal = "25.00", variants: list[str] | None = None, status: str = "ACTIVE"
    ) -> Product:
        """A product in the store's catalogue, with one variant per name given (one "Default Title" otherwise)."""
        names = variants or ["Default Title"]
        pid, vids = self.state.next_product_ids(len(names))
        handle = "-".join(title.lower().split())
        made = Product(pid, title, handle, status,
                       [Variant(vid, name, Decimal(str(price))) for vid, name in zip(vids, names, strict=True)],
                       self.clock.now())  # fmt: skip
        self.state.products[pid] = made
        return made

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
        email: str | None = None,
        subtotal: str | Decimal | None = None,
        product_id: str | None = None,
        quantity: int = 1,
    ) -> Order:
        """A customer checks out; the order is stored and orders/create (and orders/paid) webhooks go out.

        With a code the shop holds, checkout honours it as Shopify's does (``CheckoutRefused`` says why not): its
        dates, its usage limit, the products it is for. ``total`` is what the customer paid after the code; or give
        ``subtotal``, the cart before it (one line of ``quantity`` units, of ``product_id`` when the code is for a
        product), and the discount is worked out forwards."""
        now = at or self.clock.now()
        total_d = Decimal(str(total))
        spelled = code
        if code is not None and discount is None:
            found = self.state.discount_by_code(code)
            spelled = found.code if found else code
            if found is not None:
                cart = Decimal(str(subtotal)) if subtotal is not None else total_d
                off = self.checkout_discount(found, subtotal=cart, product_id=product_id, now=now, quantity=quantity)
                found.times_used += 1
            if found is not None and subtotal is not None:
                discount_d, total_d = off, cart - off
            else:
                discount_d = self._discount_for(found, total_d)
        else:
            discount_d = Decimal(str(discount or "0"))
        oid, number = self.state.next_order_ids()
        order = Order(
            oid, number, now, now, currency or self.currency, total_d, discount_d, spelled,
            "PAID" if paid else "PENDING", email=email,
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

    # ---- HTTP ----------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if self.down and request.transport is not None:
            request.transport.close()  # what a vanished host looks like to a kept-alive connection
            raise ConnectionResetError("the shop is down")
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
            "products": self._q_products,
            "product": self._q_product,
            "order": self._q_order,
            "discountCodeBasicCreate": self._m_discount_create,
            "discountCodeBasicUpdate": self._m_discount_update,
            "discountCodeActivate": self._m_discount_activate,
            "discountCodeDeactivate": self._m_discount_deactivate,
            "webhookSubscriptionCreate": self._m_webhook_create,
            "draftOrders": self._q_draft_orders,
            "draftOrder": self._q_draft_order,
            "draftOrderCreate": self._m_draft_order_create,
            "draftOrderComplete": self._m_draft_order_complete,
            "giftCards": self._q_gift_cards,
            "giftCard": self._q_gift_card,
            "giftCardCreate": self._m_gift_card_create,
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
