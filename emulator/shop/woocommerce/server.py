"""``FakeWooCommerce``: a local WooCommerce REST API (``/wp-json/wc/v3``) for tests and the demo.

shop = FakeWooCommerce(clock=ManualClock())
await shop.start()
...  # point the bot at shop.url (api_url), with shop.key.consumer_key / consumer_secret
await shop.add_coupon("alice10", amount="10")       # a coupon made in the store's admin
order = await shop.place_order(code="ALICE10", total="45.00")   # a customer checks out; order.created goes out
await shop.refund(order, "10.00")                   # order.updated goes out
await shop.stop()

The site's timezone is UTC+2 unless told otherwise, so every ``date_*`` field differs from its ``date_*_gmt`` twin,
as on most real stores. ``faults.fail(status, times=)`` answers the next requests with an error; ``go_down()``
refuses connections until ``come_back()``; ``requests`` lists what was asked (without the keys), ``deliveries``
what the store sent.
"""

from __future__ import annotations

import fnmatch
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
from aiohttp import web

from emulator.shop.clock import Clock
from emulator.shop.webhooks import Delivery
from emulator.shop.woocommerce.auth import authenticate, authorize, caller, credentials
from emulator.shop.woocommerce.coupons import CouponRoutes
from emulator.shop.woocommerce.faults import WooFaults
from emulator.shop.woocommerce.orders import OrderRoutes
from emulator.shop.woocommerce.products import ProductRoutes, WooProduct
from emulator.shop.woocommerce.rest import WooError, no_route, php_json
from emulator.shop.woocommerce.state import ApiKey, Coupon, Order, Permission, Refund, Webhook, WooState, stamp
from emulator.shop.woocommerce.webhooks import WebhookRoutes

REST = "/wp-json/wc/v3"
CURRENCY_NAMES = {"USD": "United States (US) dollar ($)", "EUR": "Euro (€)", "GBP": "Pound sterling (£)",
                  "JPY": "Japanese yen (¥)", "KWD": "Kuwaiti dinar (د.ك)"}  # fmt: skip


class CheckoutRefused(Exception):
    """What the store's checkout says when the coupon cannot be used (expired, used up, below the minimum)."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]  # without consumer_key / consumer_secret
    body: Any  # the JSON body, None when there was none
    auth: str | None  # "basic", "query" or None


def money(value: str | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class FakeWooCommerce(CouponRoutes, OrderRoutes, ProductRoutes, WebhookRoutes):
    def __init__(
        self,
        *,
        consumer_key: str = "ck_collective_test_key",
        consumer_secret: str = "cs_collective_test_secret",
        permissions: Permission = "read_write",
        currency: str = "USD",
        clock: Clock | None = None,
        utc_offset: timedelta = timedelta(hours=2),
    ) -> None:
        self.keys = [ApiKey(consumer_key, consumer_secret, permissions)]
        self.currency = currency
        self.clock = clock or Clock()
        self.utc_offset = utc_offset
        self.state = WooState()
        self.products: dict[int, WooProduct] = {}
        self.faults = WooFaults()
        self.requests: list[Request] = []
        self.deliveries: list[Delivery] = []
        self.home = "http://127.0.0.1"
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port = 0
        self._session: aiohttp.ClientSession | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_get(f"{REST}/coupons", self.list_coupons)
        r.add_post(f"{REST}/coupons", self.create_coupon)
        for method in ("POST", "PUT", "PATCH"):
            r.add_route(method, f"{REST}/coupons/batch", self.batch_coupons)
            r.add_route(method, f"{REST}/coupons/{{id:\\d+}}", self.update_coupon)
            r.add_route(method, f"{REST}/webhooks/{{id:\\d+}}", self.update_webhook)
        r.add_get(f"{REST}/coupons/{{id:\\d+}}", self.get_coupon)
        r.add_delete(f"{REST}/coupons/{{id:\\d+}}", self.delete_coupon)
        r.add_get(f"{REST}/orders", self.list_orders)
        r.add_get(f"{REST}/products", self.list_products)
        r.add_get(f"{REST}/products/{{id:\\d+}}", self.get_product)
        r.add_get(f"{REST}/orders/{{id:\\d+}}", self.get_order)
        r.add_get(f"{REST}/webhooks", self.list_webhooks)
        r.add_post(f"{REST}/webhooks", self.create_webhook)
        r.add_get(f"{REST}/webhooks/{{id:\\d+}}", self.get_webhook)
        r.add_delete(f"{REST}/webhooks/{{id:\\d+}}", self.delete_webhook)
        r.add_get(f"{REST}/settings/general", self.list_settings)
        r.add_get(f"{REST}/settings/general/{{id}}", self.get_setting)
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
        self.home = self.url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    async def go_down(self) -> None:
        """The store is unreachable: the port refuses connections until ``come_back()``."""
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def come_back(self) -> None:
        if self._site is None:
            await self._bind()

    @property
    def url(self) -> str:
        """The site's address (``api_url`` in the bot's configuration); the API is at ``{url}/wp-json/wc/v3``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def key(self) -> ApiKey:
        return self.keys[0]

    # ---- HTTP ----------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        await self._record(request)
        fault = self.faults.match()
        if fault is not None:
            if isinstance(fault.body, str):
                return web.Response(
                    text=fault.body, status=fault.status, headers=fault.headers, content_type="text/html"
                )
            return php_json(fault.body, status=fault.status, headers=fault.headers)
        try:
            caller.set(authenticate(request, self.keys))
            return await handler(request)
        except WooError as exc:
            return exc.response()
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            return no_route().response()

    async def _record(self, request: web.Request) -> None:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else None
        except (ValueError, UnicodeDecodeError):
            body = raw.decode(errors="replace")
        query = {k: v for k, v in request.query.items() if k not in ("consumer_key", "consumer_secret")}
        auth = None
        if credentials(request) is not None:
            auth = "query" if "consumer_key" in request.query else "basic"
        self.requests.append(Request(request.method, request.path, query, body, auth))

    async def list_settings(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "list")
        return php_json(self._settings())

    async def get_setting(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "view")
        found = next((s for s in self._settings() if s["id"] == request.match_info["id"]), None)
        if found is None:
            raise WooError("rest_setting_setting_invalid", "Invalid setting.", 404)
        return php_json(found)

    def _settings(self) -> list[dict[str, Any]]:
        base = f"{self.home}{REST}/settings/general"

        def setting(id_: str, label: str, kind: str, value: Any, default: Any, **more: Any) -> dict[str, Any]:
            links = {"self": [{"href": f"{base}/{id_}"}], "collection": [{"href": base}]}
            return {"id": id_, "label": label, "description": "", "type": kind, "default": default, "tip": "",
                    "value": value, **more, "group_id": "general", "_links": links}  # fmt: skip

        options = {**CURRENCY_NAMES, self.currency: CURRENCY_NAMES.get(self.currency, self.currency)}
        return [
            setting("woocommerce_store_address", "Address line 1", "text", "Teststraße 1", ""),
            setting("woocommerce_store_city", "City", "text", "Berlin", ""),
            setting("woocommerce_default_country", "Country / State", "select", "DE:DE-BE", "US:CA"),
            setting("woocommerce_currency", "Currency", "select", self.currency, "USD", options=options),
            setting("woocommerce_price_num_decimals", "Number of decimals", "number", "2", "2"),
        ]

    # ---- test API: the store's admin and its customers -------------------------------------------------

    def add_key(self, permissions: Permission = "read_write", *, manages_shop: bool = True) -> ApiKey:
        key = ApiKey(f"ck_{secrets.token_hex(20)}", f"cs_{secrets.token_hex(20)}", permissions, manages_shop)
        self.keys.append(key)
        return key

    @property
    def coupons(self) -> dict[str, Coupon]:
        """The coupons outside the trash, by code (lower case: codes are case-insensitive)."""
        return {c.code: c for c in sorted(self.state.coupons.values(), key=lambda c: c.id) if c.status != "trash"}

    @property
    def orders(self) -> list[Order]:
        return list(self.state.orders.values())

    @property
    def webhooks(self) -> list[Webhook]:
        return list(self.state.webhooks.values())

    def add_coupon(self, code: str, *, amount: str = "10", discount_type: str = "percent", **fields: Any) -> Coupon:
        """A coupon made by hand in the store's admin (not by the bot)."""
        return self.create_coupon_from({"code": code, "amount": amount, "discount_type": discount_type, **fields})

    def coupon_usable(self, code: str) -> bool:
        found = self.state.coupon_by_code(code)
        return found is not None and found.usable_at(stamp(self.clock))

    async def place_order(
        self,
        *,
        code: str | None = None,
        total: str | Decimal = "50.00",
        currency: str | None = None,
        paid: bool = True,
        discount: str | Decimal | None = None,
        email: str = "buyer@example.com",
        at: datetime | None = None,
        subtotal: str | Decimal | None = None,
        product_id: int = 11,
        quantity: int = 1,
    ) -> Order:
        """A customer checks out (``total`` is what they pay, after the coupon); ``order.created`` goes out.

        The coupon must exist and be usable now, as at a real checkout (``CheckoutRefused`` says why not), unless
        ``discount`` is given: then the order is one made by hand in the admin, with that code and discount. Or give
        ``subtotal``, the one-line cart (``quantity`` units of ``product_id``) before the coupon, and the discount is
        worked out forwards — the way to use a coupon for 100% off a product."""
        now = (at or stamp(self.clock)).replace(microsecond=0)
        paid_total = money(total)
        taken: str | None = None
        if code is not None and discount is None:
            coupon = self._coupon_at_checkout(code, email, now)
            if coupon.product_ids and product_id not in coupon.product_ids:
                raise CheckoutRefused("Sorry, this coupon is not applicable to selected products.")
            if subtotal is not None:
                cart = money(subtotal)
                reduction = _forwards(coupon, cart, quantity)
            else:
                cart, reduction = _apply(coupon, paid_total)
            if coupon.minimum_amount and cart < coupon.minimum_amount:
                raise CheckoutRefused(f"The minimum spend for this coupon is {coupon.minimum_amount:.2f}.")
            coupon.usage_count += 1
            coupon.used_by.append(email)
            taken = coupon.code
        else:
            reduction = money(discount or "0")
            cart = paid_total + reduction
            taken = None if code is None else code.strip().lower()
        order = Order(
            self.state.next_post_id(), "processing" if paid else "pending", currency or self.currency, now, now,
            cart, reduction, taken, email, f"wc_order_{secrets.token_hex(6)}", paid=now if paid else None,
            product_id=product_id,
        )  # fmt: skip
        self.state.orders[order.id] = order
        await self.deliver("order.created", self.order_json(order))
        return order

    def _coupon_at_checkout(self, code: str, email: str, now: datetime) -> Coupon:
        coupon = self.state.coupon_by_code(code)
        if coupon is None or coupon.status != "publish":
            raise CheckoutRefused(f'Coupon "{code.lower()}" does not exist!')
        if coupon.expired_at(now):
            raise CheckoutRefused("This coupon has expired.")
        if coupon.email_restrictions and not any(
            fnmatch.fnmatchcase(email.strip().lower(), allowed) for allowed in coupon.email_restrictions
        ):  # WC_Coupon's allowed emails, '*' wildcards included, checked against the billing email
            raise CheckoutRefused(f'Sorry, it seems the coupon "{coupon.code}" is not yours.')
        used = coupon.used_by.count(email)
        if (coupon.usage_limit and coupon.usage_count >= coupon.usage_limit) or (
            coupon.usage_limit_per_user and used >= coupon.usage_limit_per_user
        ):
            raise CheckoutRefused("Coupon usage limit has been reached.")
        return coupon

    async def mark_paid(self, order: Order, *, at: datetime | None = None) -> None:
        now = (at or stamp(self.clock)).replace(microsecond=0)
        order.status, order.paid, order.modified = "processing", now, now
        await self.deliver("order.updated", self.order_json(order))

    async def set_status(self, order: Order, status: str, *, at: datetime | None = None) -> None:
        now = (at or stamp(self.clock)).replace(microsecond=0)
        order.status, order.modified = status, now
        if status == "completed":
            order.completed = now
        await self.deliver("order.updated", self.order_json(order))

    async def refund(
        self, order: Order, amount: str | Decimal, *, reason: str = "", at: datetime | None = None
    ) -> Refund:
        """A refund from the order's screen; ``order.updated`` goes out with the refund in ``refunds``."""
        now = (at or stamp(self.clock)).replace(microsecond=0)
        value = money(amount)
        if value <= 0 or value > order.total - order.refunded:
            raise ValueError("Invalid refund amount.")
        refund = Refund(self.state.next_post_id(), now, value, reason)
        order.refunds.insert(0, refund)  # newest first, as the order lists them
        order.modified = now
        if order.refunded >= order.total:
            order.status = "refunded"
        await self.deliver("order.updated", self.order_json(order))
        return refund


def _forwards(coupon: Coupon, subtotal: Decimal, quantity: int = 1) -> Decimal:
    """What ``coupon`` takes off a one-line cart of ``quantity`` units worth ``subtotal`` in all, as WooCommerce
    does: ``fixed_cart`` its amount off the cart (never more); ``percent`` and ``fixed_product`` are product
    discounts, taken off each unit — at most ``limit_usage_to_x_items`` of them when that is set."""
    if coupon.discount_type == "fixed_cart":
        return min(coupon.amount, subtotal)
    units = min(quantity, coupon.limit_usage_to_x_items or quantity)
    unit_price = subtotal / quantity
    if coupon.discount_type == "percent":
        return money(unit_price * units * coupon.amount / 100)
    return money(min(coupon.amount, unit_price) * units)


def _apply(coupon: Coupon, paid: Decimal) -> tuple[Decimal, Decimal]:
    """(subtotal, discount) of a one-item cart whose customer pays ``paid`` after ``coupon``."""
    if coupon.discount_type == "percent":
        if coupon.amount >= 100:
            raise CheckoutRefused("a 100 % coupon leaves nothing to pay: pass discount= to place such an order")
        subtotal = money(paid / (1 - coupon.amount / 100))
        return subtotal, subtotal - paid
    return paid + coupon.amount, coupon.amount
