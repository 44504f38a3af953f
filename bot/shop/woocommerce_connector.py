"""``ShopConnector`` for WooCommerce: ambassador codes as coupons, orders through ``GET /orders``
(bot/shop/woocommerce_orders.py), and the order webhooks the ledger needs.

A code is a coupon for the whole cart: ``percent`` or ``fixed_cart``, ``usage_limit_per_user`` 1 when it is once
per customer, ``minimum_amount`` for a minimum order, ``individual_use`` unless it combines with order or product
discounts, and the MARKER title as its description. WooCommerce has no notion of combining with shipping
discounts nor of order versus product discounts, so the combination Collective asked for is kept in the coupon's
``collective_combines`` meta and believed as long as ``individual_use`` still agrees with it; a coupon without
it reads as combining with shipping, and with order and product discounts unless ``individual_use``. What
WooCommerce enforces is ``individual_use`` alone. Coupons have no start date either: ``starts_at`` is not sent.

Pausing or retiring a code expires its coupon (``date_expires`` a day back: a store whose clock lags ours still
sees it expired) and resuming clears the expiry with ``""`` — WooCommerce skips a ``null``. A coupon is never
deleted, so its usage and the orders through it stay in the store's reports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import SecretStr

from bot.clock import Clock, SystemClock
from bot.services.sales.payloads import PayloadError, timestamp, to_minor
from bot.services.shop.discounts import CodeDiscount
from bot.shop import woocommerce_orders
from bot.shop.connector import (
    CodeSpec,
    GiftOrder,
    GiftOrderSpec,
    GiftShipment,
    OrderPage,
    Platform,
    RemoteCode,
    RewardCodeSpec,
    ShopProduct,
    StoreCredit,
    StoreCreditSpec,
    WebhookReport,
    WebhookSubscription,
)
from bot.shop.errors import ShopError, ShopUserErrors, UserError
from bot.shop.shopify_connector import decimal_text
from bot.shop.woocommerce import WooClient, WooRefused

COMBINES_META = "collective_combines"
# The topics the ledger records from WooCommerce (bot/webhooks.py): a new order, and every later change — a payment
# that completes later, a refund — which WooCommerce delivers as an order update.
TOPICS = ("order.created", "order.updated")
WEBHOOKS_PAGE = 100
EXPIRED_SINCE = timedelta(days=1)
# What Collective's codes never restrict, sent with every update so a coupon edited by hand gives the spec again.
UNRESTRICTED: dict[str, Any] = {
    "product_ids": [], "excluded_product_ids": [], "product_categories": [], "excluded_product_categories": [],
    "email_restrictions": [], "free_shipping": False, "exclude_sale_items": False, "maximum_amount": "",
    "usage_limit": 0, "limit_usage_to_x_items": 0,
}  # fmt: skip
TAKEN = "woocommerce_rest_coupon_code_already_exists"
NO_GIFT_ORDERS = "Collective places no gift orders in WooCommerce: its gifts go to the fulfilment queue (/fulfilment)."


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def user_errors(exc: WooRefused) -> list[UserError]:
    """WooCommerce's refusal as the seam's ``UserError``s. A taken code gets the code ``TAKEN``, as Shopify names
    it, so the code push treats both shops' taken codes alike; the message stays WooCommerce's."""
    if exc.code == TAKEN:
        return [UserError(("code",), "TAKEN", exc.shop_message)]
    if exc.params:
        return [UserError((name,), exc.code, problem or exc.shop_message) for name, problem in exc.params.items()]
    field = ("amount",) if exc.code == "coupon_invalid_amount" else ()
    return [UserError(field, exc.code, exc.shop_message)]


class WooConnector:
    platform: Platform = "woocommerce"

    def __init__(self, client: WooClient, *, webhook_secret: SecretStr | None, clock: Clock | None = None) -> None:
        self.client = client
        self.label = client.label
        self._webhook_secret = webhook_secret
        self._clock = clock or SystemClock()
        self._currency: str | None = None

    # -- discount codes ------------------------------------------------------------------------------------

    async def find_code(self, code: str) -> RemoteCode | None:
        answer = (await self.client.get("/coupons", {"code": code})).body
        if not isinstance(answer, list):
            raise ShopError(f"{self.label} answered the coupon search with something that is not a list")
        wanted = code.strip().lower()
        # Matched here too: a store that ignored ?code= would list every coupon.
        for coupon in answer:
            if (
                isinstance(coupon, dict)
                and str(coupon.get("code", "")).lower() == wanted
                and coupon.get("status") != "trash"
            ):
                return await self._remote(coupon)
        return None

    async def create_code(self, spec: CodeSpec) -> RemoteCode:
        fields = {"code": spec.code, **await self._fields(spec)}
        if not spec.active:
            fields["date_expires"] = self._expired_at()
        try:
            made = await self.client.post("/coupons", fields)
        except WooRefused as exc:
            raise ShopUserErrors(f"the code {spec.code}", user_errors(exc)) from None
        if not isinstance(made, dict):
            raise ShopError(f"{self.label} created the code {spec.code} but did not say which coupon it is")
        return await self._remote(made)

    async def update_code(self, ref: str, spec: CodeSpec) -> None:
        try:
            await self.client.put(f"/coupons/{_coupon_id(ref)}", await self._fields(spec))
        except WooRefused as exc:
            raise ShopUserErrors(f"the update of the code {spec.code}", user_errors(exc)) from None

    async def set_active(self, ref: str, active: bool) -> None:
        change = {"date_expires": "", "status": "publish"} if active else {"date_expires": self._expired_at()}
        try:
            await self.client.put(f"/coupons/{_coupon_id(ref)}", change)
        except WooRefused as exc:
            raise ShopUserErrors("activating the code" if active else "expiring the code", user_errors(exc)) from None

    def _expired_at(self) -> str:
        moment = (self._clock.now() - EXPIRED_SINCE).astimezone(UTC).replace(microsecond=0)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # with its offset: WooCommerce reads it as UTC, not site time

    async def store_currency(self) -> str:
        if self._currency is None:
            setting = _dict((await self.client.get("/settings/general/woocommerce_currency")).body)
            value = setting.get("value")
            if not isinstance(value, str) or len(value) != 3:
                raise ShopError(f"{self.label} did not say which currency it sells in")
            self._currency = value.upper()
        return self._currency

    async def _fields(self, spec: CodeSpec) -> dict[str, Any]:
        """The coupon's fields for ``spec`` (without the code, which only creation sets, and the expiry)."""
        discount = spec.discount
        currency = discount.currency
        if discount.kind == "fixed" or discount.minimum_minor:
            store = await self.store_currency()
            if currency is not None and currency != store:
                raise ShopError(
                    f"the discount is set in {currency} but {self.label} sells in {store}: set it again in {store} "
                    "with /shop discount"
                )
            currency = store
        combines = [name for name, on in (("order", discount.combines_order), ("product", discount.combines_product),
                                          ("shipping", discount.combines_shipping)) if on]  # fmt: skip
        return {
            "discount_type": "percent" if discount.kind == "percentage" else "fixed_cart",
            "amount": str(discount.value)
            if discount.kind == "percentage"
            else decimal_text(discount.value, currency or "USD"),
            "description": spec.title,
            "individual_use": not (discount.combines_order or discount.combines_product),
            "usage_limit_per_user": 1 if discount.once_per_customer else 0,
            "minimum_amount": decimal_text(discount.minimum_minor, currency or "USD") if discount.minimum_minor else "",
            **UNRESTRICTED,
            "meta_data": [{"key": COMBINES_META, "value": ",".join(combines)}],
        }

    async def _remote(self, coupon: dict[str, Any]) -> RemoteCode:
        ref = coupon.get("id")
        if isinstance(ref, bool) or not isinstance(ref, int) or ref <= 0:
            raise ShopError(f"{self.label} answered with a coupon without an id")
        needs_currency = coupon.get("discount_type") == "fixed_cart" or _amount(coupon.get("minimum_amount")) != 0
        currency = await self.store_currency() if needs_currency else None
        code = str(coupon.get("code") or "")
        # The description holds Collective's title; a coupon made by hand often has none, and is named by its code
        # (what the store's coupon list shows), so a refusal can say which coupon is in the way.
        title = str(coupon.get("description") or "") or code
        return RemoteCode(str(ref), code, title, self._live(coupon), _discount(coupon, currency))

    def _live(self, coupon: dict[str, Any]) -> bool:
        if coupon.get("status") != "publish":
            return False
        expires = coupon.get("date_expires_gmt")
        if expires is None:
            return True
        try:
            return timestamp(expires, "date_expires_gmt") > self._clock.now()
        except PayloadError:
            return False

    # -- orders and webhooks -------------------------------------------------------------------------------

    def orders_changed(self, since: datetime, until: datetime) -> AsyncIterator[OrderPage]:
        return woocommerce_orders.orders_changed(self.client, since, until)

    async def ensure_webhooks(self, address: str) -> WebhookReport:
        """``order.created`` and ``order.updated`` delivering to ``address``, signed with webhooks.woocommerce_secret.

        A webhook already delivering there is kept, given that secret (WooCommerce never shows a webhook's secret,
        and one made by hand with another would fail every delivery) and set active again if the store disabled it
        after failed deliveries; a missing one is created. Nothing is created twice."""
        if self._webhook_secret is None or not self._webhook_secret.get_secret_value():
            raise ShopError(
                "webhooks.woocommerce_secret is not set: WooCommerce would sign deliveries with a secret of its own, "
                "which the bot could not check. Set COLLECTIVE_WEBHOOKS__WOOCOMMERCE_SECRET first (README, Connecting "
                "WooCommerce)."
            )
        secret = self._webhook_secret.get_secret_value()
        existing = await self._webhooks()
        kept: list[WebhookSubscription] = []
        created: list[WebhookSubscription] = []
        for topic in TOPICS:
            mine = [w for w in existing if w.topic == topic and w.address == address]
            for hook in mine:
                await self._write_webhook("PUT", f"/webhooks/{hook.id}", {"secret": secret, "status": "active"}, topic)
                kept.append(hook)
            if not mine:
                body = {"name": f"Collective: {topic}", "topic": topic, "delivery_url": address, "secret": secret,
                        "status": "active"}  # fmt: skip
                made = _webhook(await self._write_webhook("POST", "/webhooks", body, topic))
                if made is None:
                    raise ShopError(f"{self.label} created the {topic} webhook but did not say which")
                created.append(made)
        return WebhookReport(tuple(kept), tuple(created))

    # -- products --

    async def search_products(self, query: str, limit: int = 25) -> list[ShopProduct]:
        params = {"status": "publish", "per_page": str(max(1, min(limit, 100))), "orderby": "title", "order": "asc"}
        if query.strip():
            params["search"] = query.strip()[:100]
        answer = await self.client.get("/products", params)
        if not isinstance(answer.body, list):
            raise ShopError(f"{self.label} answered the product list with something that is not a list")
        return [found for found in map(_product, answer.body) if found is not None]

    async def _write_webhook(self, method: str, path: str, body: dict[str, Any], topic: str) -> Any:
        try:
            return (await self.client.request(method, path, body=body)).body
        except WooRefused as exc:
            raise ShopUserErrors(f"the {topic} webhook", user_errors(exc)) from None

    async def _webhooks(self) -> list[WebhookSubscription]:
        found: list[WebhookSubscription] = []
        page = 1
        while True:
            answer = await self.client.get("/webhooks", {"per_page": str(WEBHOOKS_PAGE), "page": str(page)})
            if not isinstance(answer.body, list):
                raise ShopError(f"{self.label} answered the webhook list with something that is not a list")
            found += [hook for hook in map(_webhook, answer.body) if hook is not None]
            if len(answer.body) < WEBHOOKS_PAGE or (answer.total_pages is not None and page >= answer.total_pages):
                return found
            page += 1

    # -- reward codes --

    async def create_single_use_code(self, spec: RewardCodeSpec) -> RemoteCode:
        """A coupon used once (``usage_limit`` 1, once per customer) until ``date_expires``: ``fixed_cart`` for an
        amount off, or ``percent`` 100 on one item of the product (``product_ids``, ``limit_usage_to_x_items`` 1)."""
        fields: dict[str, Any] = {
            "code": spec.code,
            "description": spec.title,
            "usage_limit": 1,
            "usage_limit_per_user": 1,
            "individual_use": True,
            "date_expires": spec.ends_at.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if spec.product_id is not None:
            if not spec.product_id.strip().isdigit():
                raise ShopError(f"{spec.product_id[:40]!r} is not a WooCommerce product id")
            fields.update(discount_type="percent", amount="100", product_ids=[int(spec.product_id)],
                          limit_usage_to_x_items=1)  # fmt: skip
        else:
            assert spec.amount_minor is not None and spec.currency is not None
            store = await self.store_currency()
            if spec.currency != store:
                raise ShopError(f"the reward gives {spec.currency} but {self.label} sells in {store}: edit the "
                                f"reward in {store}")  # fmt: skip
            fields.update(discount_type="fixed_cart", amount=decimal_text(spec.amount_minor, spec.currency))
        try:
            made = await self.client.post("/coupons", fields)
        except WooRefused as exc:
            raise ShopUserErrors(f"the reward code {spec.code}", user_errors(exc)) from None
        if not isinstance(made, dict):
            raise ShopError(f"{self.label} created the reward code {spec.code} but did not say which coupon it is")
        return await self._remote(made)

    # -- gift orders --
    # WooCommerce gifting uses the moderators' fulfilment queue (README, Gifting campaigns): gifts never take the
    # shop route for a WooCommerce store (bot/services/gifting/fulfilment.shop_route), so these are never called.

    async def find_gift_order(self, key: str) -> GiftOrder | None:
        raise ShopError(NO_GIFT_ORDERS)

    async def create_gift_order(self, spec: GiftOrderSpec) -> GiftOrder:
        raise ShopError(NO_GIFT_ORDERS)

    async def complete_gift_order(self, draft_ref: str) -> GiftOrder:
        raise ShopError(NO_GIFT_ORDERS)

    async def gift_shipment(self, order_ref: str) -> GiftShipment:
        raise ShopError(NO_GIFT_ORDERS)

    # -- store credit --

    async def find_store_credit(self, code: str) -> StoreCredit | None:
        remote = await self.find_code(code)
        return None if remote is None else StoreCredit(remote.ref, remote.title)

    async def create_store_credit(self, spec: StoreCreditSpec) -> StoreCredit:
        """A ``fixed_cart`` coupon for the amount, used once, only by the ambassador's email, never expiring."""
        store = await self.store_currency()
        if spec.currency != store:
            raise ShopError(f"the statement is in {spec.currency} but {self.label} sells in {store}: a coupon is only "
                            "made in the store's currency (no conversion); pay this one another way")  # fmt: skip
        if not spec.email:
            raise ShopError("the ambassador has no email on file, and the coupon is restricted to theirs: pay this "
                            "one another way")  # fmt: skip
        fields: dict[str, Any] = {
            "code": spec.code, "description": spec.note, "discount_type": "fixed_cart",
            "amount": decimal_text(spec.amount_minor, spec.currency), "usage_limit": 1, "usage_limit_per_user": 1,
            "email_restrictions": [spec.email],
        }  # fmt: skip
        try:
            made = await self.client.post("/coupons", fields)
        except WooRefused as exc:
            raise ShopUserErrors(f"the store credit of statement #{spec.statement_id}", user_errors(exc)) from None
        coupon = _dict(made)
        ref = coupon.get("id")
        if isinstance(ref, bool) or not isinstance(ref, int) or ref <= 0:
            raise ShopError(f"{self.label} created the store credit coupon but did not say which it is")
        return StoreCredit(str(ref), str(coupon.get("description") or spec.note))


def _product(value: Any) -> ShopProduct | None:
    if not isinstance(value, dict) or not isinstance(value.get("id"), int) or not value.get("name"):
        return None
    price = _amount(value.get("price")) if value.get("price") not in (None, "") else None
    ref = str(value["id"])
    return ShopProduct(ref, str(value["name"])[:200], ref, price)


def _coupon_id(ref: str) -> str:
    if not ref.isdigit():
        raise ShopError(f"{ref[:40]!r} is not a WooCommerce coupon id")
    return ref


def _webhook(value: Any) -> WebhookSubscription | None:
    hook = _dict(value)
    if not isinstance(hook.get("id"), int) or not hook.get("topic"):
        return None
    return WebhookSubscription(str(hook["id"]), str(hook["topic"]), str(hook.get("delivery_url") or ""))


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip() or "0") if value is not None else Decimal(0)
    except InvalidOperation:
        return None


def _restricted(coupon: dict[str, Any]) -> bool:
    """Whether the coupon limits anything Collective's codes leave open (products, emails, free shipping …)."""
    for name in UNRESTRICTED:
        value = coupon.get(name)
        if name == "maximum_amount":
            if _amount(value) != 0:
                return True
        elif value not in (None, 0, False, []):
            return True
    return False


def _discount(coupon: dict[str, Any], currency: str | None) -> CodeDiscount | None:
    """The coupon as Collective describes a code's discount, or None when it gives something Collective never makes
    (a per-product amount, a product list, free shipping, a total usage limit, a fractional percentage …)."""
    if _restricted(coupon):
        return None
    per_user = coupon.get("usage_limit_per_user") or 0
    if not isinstance(per_user, int) or per_user > 1:
        return None
    amount = _amount(coupon.get("amount"))
    minimum = _amount(coupon.get("minimum_amount"))
    if amount is None or minimum is None:
        return None
    try:
        if coupon.get("discount_type") == "percent":
            if amount != amount.to_integral_value() or not 0 < amount <= 100:
                return None
            kind, value = "percentage", int(amount)
        elif coupon.get("discount_type") == "fixed_cart" and currency is not None:
            kind, value = "fixed", to_minor(str(amount), currency, "amount")
        else:
            return None
        minimum_minor = to_minor(str(minimum), currency, "minimum_amount") if minimum and currency else None
    except PayloadError:
        return None
    alone = coupon.get("individual_use") is True
    # Without Collective's note, order and product follow individual_use, and shipping reads as combining: what
    # Collective would have written for a code that gives the same, so a coupon made by hand can be adopted.
    combines = {"shipping"} if alone else {"order", "product", "shipping"}
    for meta in coupon.get("meta_data") or []:
        if isinstance(meta, dict) and meta.get("key") == COMBINES_META and isinstance(meta.get("value"), str):
            kept = {name for name in meta["value"].split(",") if name in ("order", "product", "shipping")}
            if alone == ("order" not in kept and "product" not in kept):  # individual_use still says the same
                combines = kept
    return CodeDiscount(
        kind,  # type: ignore[arg-type]
        value, currency if kind == "fixed" or minimum_minor else None, per_user == 1, minimum_minor,
        "order" in combines, "product" in combines, "shipping" in combines,
    )  # fmt: skip
