"""``ShopConnector`` for Shopify: discount codes through the basic-code mutations, orders through the ``orders``
query (bot/shop/shopify_orders.py), webhooks through bot/shop/webhook_subscriptions.py.

A code's discount is a ``DiscountCodeBasic`` for all customers and all items. Deactivating expires it
(``discountCodeDeactivate`` sets its end to now) and activating clears the end again, so a paused code keeps its
id, usage history and sales in the shop's reports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.services.sales.payloads import PayloadError, exponent, to_minor
from bot.services.shop.discounts import CodeDiscount
from bot.shop import shopify_orders, webhook_subscriptions
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
)
from bot.shop.errors import ShopError, ShopUserErrors
from bot.shop.shopify import ShopifyClient, user_errors

_NODE = """
  id
  codeDiscount {
    __typename
    ... on DiscountCodeBasic {
      title status appliesOncePerCustomer
      combinesWith { orderDiscounts productDiscounts shippingDiscounts }
      minimumRequirement {
        __typename
        ... on DiscountMinimumSubtotal { greaterThanOrEqualToSubtotal { amount currencyCode } }
      }
      customerGets {
        value {
          __typename
          ... on DiscountPercentage { percentage }
          ... on DiscountAmount { amount { amount currencyCode } appliesOnEachItem }
        }
      }
    }
    ... on DiscountCodeBxgy { title status }
    ... on DiscountCodeFreeShipping { title status }
    ... on DiscountCodeApp { title status }
  }
"""
FIND_QUERY = "query FindCode($code: String!) { codeDiscountNodeByCode(code: $code) {" + _NODE + "} }"
CURRENCY_QUERY = "query ShopCurrency { shop { currencyCode } }"
PRODUCT_PRICE_QUERY = (
    "query ProductPrice($id: ID!) { product(id: $id) { id priceRangeV2 { maxVariantPrice { amount currencyCode } } } }"
)
CREATE_MUTATION = (
    """
mutation CreateCode($input: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $input) {
    codeDiscountNode {"""
    + _NODE
    + """}
    userErrors { field code message }
  }
}
"""
)
UPDATE_MUTATION = """
mutation UpdateCode($id: ID!, $input: DiscountCodeBasicInput!) {
  discountCodeBasicUpdate(id: $id, basicCodeDiscount: $input) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}
"""
ACTIVATE_MUTATION = """
mutation ActivateCode($id: ID!) {
  discountCodeActivate(id: $id) { codeDiscountNode { id } userErrors { field code message } }
}
"""
DEACTIVATE_MUTATION = """
mutation DeactivateCode($id: ID!) {
  discountCodeDeactivate(id: $id) { codeDiscountNode { id } userErrors { field code message } }
}
"""
LIVE = frozenset({"ACTIVE", "SCHEDULED"})
PRODUCTS_QUERY = """
query Products($first: Int!, $query: String) {
  products(first: $first, query: $query, sortKey: TITLE) {
    nodes { id title status variants(first: 1) { nodes { id price } } }
  }
}
"""
_QUOTE = str.maketrans({"'": " ", '"': " ", "\\": " ", ":": " ", "*": " "})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def decimal_text(minor: int, currency: str) -> str:
    places = exponent(currency)
    return str(Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places)))


class ShopifyConnector:
    platform: Platform = "shopify"

    def __init__(self, client: ShopifyClient) -> None:
        self.client = client
        self.label = client.connection.shop_domain
        self._currency: str | None = None

    # -- discount codes ------------------------------------------------------------------------------------

    async def find_code(self, code: str) -> RemoteCode | None:
        # Shopify matches codes case-insensitively, as Collective does: the code asked for is the code found.
        data = await self.client.execute(FIND_QUERY, {"code": code})
        node = data.get("codeDiscountNodeByCode")
        return None if node is None else self._remote(node, code)

    async def create_code(self, spec: CodeSpec) -> RemoteCode:
        fields = await self._input(spec)
        fields["code"] = spec.code
        data = await self.client.execute(CREATE_MUTATION, {"input": fields})
        payload = _dict(data.get("discountCodeBasicCreate"))
        errors = user_errors(payload)
        if errors:
            raise ShopUserErrors(f"the code {spec.code}", errors)
        ref = _dict(payload.get("codeDiscountNode")).get("id")
        if not isinstance(ref, str) or not ref:
            raise ShopError(f"{self.label} created the code {spec.code} but did not say which discount it is")
        made = RemoteCode(ref, spec.code, spec.title, True, spec.discount)
        if not spec.active:
            await self.set_active(made.ref, False)
        return made

    async def update_code(self, ref: str, spec: CodeSpec) -> None:
        data = await self.client.execute(UPDATE_MUTATION, {"id": ref, "input": await self._input(spec)})
        errors = user_errors(_dict(data.get("discountCodeBasicUpdate")))
        if errors:
            raise ShopUserErrors(f"the update of the code {spec.code}", errors)

    async def set_active(self, ref: str, active: bool) -> None:
        if active:
            mutation, name = ACTIVATE_MUTATION, "discountCodeActivate"
        else:
            mutation, name = DEACTIVATE_MUTATION, "discountCodeDeactivate"
        data = await self.client.execute(mutation, {"id": ref})
        errors = user_errors(_dict(data.get(name)))
        if errors:
            raise ShopUserErrors("activating the code" if active else "deactivating the code", errors)

    async def _product_price(self, product_id: str) -> str:
        """The product's price (its dearest variant's, so whichever variant is taken, one unit is free)."""
        data = await self.client.execute(PRODUCT_PRICE_QUERY, {"id": product_gid(product_id)})
        product = _dict(data.get("product"))
        if not product:
            raise ShopError(f"the reward's product is no longer in {self.label}")
        amount = _dict(_dict(product.get("priceRangeV2")).get("maxVariantPrice")).get("amount")
        try:
            price = Decimal(str(amount))
        except InvalidOperation:
            raise ShopError(f"{self.label} gave no price for the reward's product") from None
        if not price.is_finite() or price <= 0:
            raise ShopError(f"the reward's product has no price in {self.label}, so it can't be given for free")
        return str(price)

    async def _shop_currency(self) -> str:
        if self._currency is None:
            data = await self.client.execute(CURRENCY_QUERY)
            self._currency = str(_dict(data.get("shop")).get("currencyCode") or "")
        return self._currency

    async def _input(self, spec: CodeSpec) -> dict[str, Any]:
        """``DiscountCodeBasicInput`` for the spec (without the code, which only creation sets)."""
        discount = spec.discount
        currency = discount.currency
        if discount.kind == "fixed" or discount.minimum_minor:
            shop_currency = await self._shop_currency()
            if currency is not None and shop_currency and currency != shop_currency:
                raise ShopError(
                    f"the discount is set in {currency} but {self.label} sells in {shop_currency}: set it again in "
                    f"{shop_currency} with /shop discount"
                )
            currency = currency or shop_currency or "USD"
        value: dict[str, Any]
        if discount.kind == "percentage":
            value = {"percentage": discount.value / 100}
        else:
            value = {"discountAmount": {"amount": decimal_text(discount.value, currency or "USD"),
                                        "appliesOnEachItem": False}}  # fmt: skip
        fields: dict[str, Any] = {
            "title": spec.title,
            "startsAt": spec.starts_at.isoformat(),
            "customerSelection": {"all": True},
            "customerGets": {"value": value, "items": {"all": True}},
            "appliesOncePerCustomer": discount.once_per_customer,
            "combinesWith": {
                "orderDiscounts": discount.combines_order,
                "productDiscounts": discount.combines_product,
                "shippingDiscounts": discount.combines_shipping,
            },
        }
        if discount.minimum_minor:
            minimum = decimal_text(discount.minimum_minor, currency or "USD")
            fields["minimumRequirement"] = {"subtotal": {"greaterThanOrEqualToSubtotal": minimum}}
        return fields

    def _remote(self, node: dict[str, Any], asked: str) -> RemoteCode:
        ref = node.get("id")
        if not isinstance(ref, str) or not ref:
            raise ShopError(f"{self.label} answered with a discount without an id")
        body = _dict(node.get("codeDiscount"))
        return RemoteCode(ref, asked, str(body.get("title") or ""), body.get("status") in LIVE, _discount(body))

    # -- orders and webhooks -------------------------------------------------------------------------------

    def orders_changed(self, since: datetime, until: datetime) -> AsyncIterator[OrderPage]:
        return shopify_orders.orders_changed(self.client, since, until)

    async def ensure_webhooks(self, address: str) -> WebhookReport:
        return await webhook_subscriptions.ensure_subscriptions(self.client, address)

    # -- products --

    async def search_products(self, query: str, limit: int = 25) -> list[ShopProduct]:
        # Shopify's search syntax: the typed words (quotes, colons and wildcards dropped) as a title prefix search.
        words = query.translate(_QUOTE).split()
        terms = " ".join(f"title:*{word}*" for word in words[:5])
        variables = {"first": max(1, min(limit, 50)), "query": f"status:active {terms}".strip()}
        data = await self.client.execute(PRODUCTS_QUERY, variables)
        nodes = _dict(data.get("products")).get("nodes") or []
        return [found for found in map(_product, nodes) if found is not None]

    # -- reward codes --

    async def create_single_use_code(self, spec: RewardCodeSpec) -> RemoteCode:
        """A ``DiscountCodeBasic`` used once (``usageLimit: 1``, once per customer) until ``endsAt``: a fixed amount
        off the whole order, or one unit of the product free — a fixed amount equal to its price (its dearest
        variant's), ``appliesOnEachItem: false`` so the amount is split across the entitled items instead of taken
        off each, restricted to the product (``items.products.productsToAdd``). 100 % off would free every unit of it
        in the cart."""
        value: dict[str, Any]
        items: dict[str, Any]
        if spec.product_id is not None:
            price = await self._product_price(spec.product_id)
            value = {"discountAmount": {"amount": price, "appliesOnEachItem": False}}
            items = {"products": {"productsToAdd": [product_gid(spec.product_id)]}}
        else:
            assert spec.amount_minor is not None and spec.currency is not None
            shop_currency = await self._shop_currency()
            if shop_currency and spec.currency != shop_currency:
                raise ShopError(f"the reward gives {spec.currency} but {self.label} sells in {shop_currency}: edit the "
                                f"reward in {shop_currency}")  # fmt: skip
            amount = decimal_text(spec.amount_minor, spec.currency)
            value, items = {"discountAmount": {"amount": amount, "appliesOnEachItem": False}}, {"all": True}
        fields: dict[str, Any] = {
            "title": spec.title,
            "code": spec.code,
            "startsAt": spec.starts_at.isoformat(),
            "endsAt": spec.ends_at.isoformat(),
            "usageLimit": 1,
            "appliesOncePerCustomer": True,
            "customerSelection": {"all": True},
            "customerGets": {"value": value, "items": items},
            "combinesWith": {"orderDiscounts": False, "productDiscounts": False, "shippingDiscounts": True},
        }
        data = await self.client.execute(CREATE_MUTATION, {"input": fields})
        payload = _dict(data.get("discountCodeBasicCreate"))
        errors = user_errors(payload)
        if errors:
            raise ShopUserErrors(f"the reward code {spec.code}", errors)
        node = _dict(payload.get("codeDiscountNode"))
        if not isinstance(node.get("id"), str) or not node["id"]:
            raise ShopError(f"{self.label} created the reward code {spec.code} but did not say which discount it is")
        return self._remote(node, spec.code)

    # -- gift orders --

    async def find_gift_order(self, key: str) -> GiftOrder | None:
        data = await self.client.execute(GIFT_FIND_QUERY, {"query": f"tag:'{key}'"})
        for node in _dict(data.get("draftOrders")).get("nodes") or []:
            if isinstance(node, dict) and key in (node.get("tags") or []):  # search is fuzzy; the tag is exact
                return self._gift_order(node)
        return None

    async def create_gift_order(self, spec: GiftOrderSpec) -> GiftOrder:
        data = await self.client.execute(GIFT_CREATE_MUTATION, {"input": _gift_input(spec)})
        payload = _dict(data.get("draftOrderCreate"))
        errors = user_errors(payload)
        if errors:
            raise ShopUserErrors(f"the gift order for {spec.what}", errors)
        return self._gift_order(_dict(payload.get("draftOrder")))

    async def complete_gift_order(self, draft_ref: str) -> GiftOrder:
        data = await self.client.execute(GIFT_COMPLETE_MUTATION, {"id": draft_ref})
        payload = _dict(data.get("draftOrderComplete"))
        errors = user_errors(payload)
        if errors:
            raise ShopUserErrors("completing the gift order", errors)
        return self._gift_order(_dict(payload.get("draftOrder")))

    async def gift_shipment(self, order_ref: str) -> GiftShipment:
        data = await self.client.execute(GIFT_SHIPMENT_QUERY, {"id": order_ref})
        order = data.get("order")
        if not isinstance(order, dict):
            raise ShopError(f"{self.label} no longer has the gift order {order_ref}")
        fulfillments = [f for f in order.get("fulfillments") or [] if isinstance(f, dict)]
        live = [f for f in fulfillments if f.get("status") not in ("CANCELLED", "ERROR", "FAILURE")]
        shipped = bool(live) or order.get("displayFulfillmentStatus") in ("FULFILLED", "PARTIALLY_FULFILLED")
        delivered = any(f.get("displayStatus") == "DELIVERED" or f.get("deliveredAt") for f in live)
        urls = [t.get("url") for f in live for t in f.get("trackingInfo") or [] if isinstance(t, dict)]
        tracking = next((u for u in urls if isinstance(u, str) and u.startswith(("https://", "http://"))), None)
        return GiftShipment(shipped, delivered, tracking)

    def _gift_order(self, node: dict[str, Any]) -> GiftOrder:
        ref = node.get("id")
        if not isinstance(ref, str) or not ref:
            raise ShopError(f"{self.label} answered with a draft order without an id")
        order = _dict(node.get("order"))
        order_ref = order.get("id") if isinstance(order.get("id"), str) else None
        return GiftOrder(ref, order_ref, str(order.get("name") or "") or None)

    # -- store credit --

    async def find_store_credit(self, code: str) -> StoreCredit | None:
        """A gift card whose code is ``code``: searched by code (the search's default field), then checked by its
        last characters, since the full code is only ever shown at creation."""
        data = await self.client.execute(GIFT_CARD_FIND_QUERY, {"query": code})
        nodes = _dict(data.get("giftCards")).get("nodes") or []
        wanted = code.strip().lower()
        for node in nodes:
            last = str(_dict(node).get("lastCharacters") or "").lower()
            if last and wanted.endswith(last) and isinstance(node.get("id"), str):
                return StoreCredit(node["id"], str(node.get("note") or ""))
        return None

    async def create_store_credit(self, spec: StoreCreditSpec) -> StoreCredit:
        """``giftCardCreate`` for the amount in the shop's currency (refused when the statement's differs)."""
        shop_currency = await self._shop_currency()
        if spec.currency != shop_currency:
            raise ShopError(
                f"the statement is in {spec.currency} but {self.label} sells in {shop_currency}: a gift card is "
                "only made in the shop's currency (no conversion); pay this one another way"
            )
        variables = {"input": {"initialValue": decimal_text(spec.amount_minor, spec.currency), "code": spec.code,
                               "note": spec.note}}  # fmt: skip
        data = await self.client.execute(GIFT_CARD_CREATE_MUTATION, variables)
        payload = _dict(data.get("giftCardCreate"))
        errors = user_errors(payload)
        if errors:
            raise ShopUserErrors(f"the gift card for statement #{spec.statement_id}", errors)
        card = _dict(payload.get("giftCard"))
        if not isinstance(card.get("id"), str):
            raise ShopError(f"{self.label} created a gift card but did not say which")
        return StoreCredit(card["id"], str(card.get("note") or spec.note))


def _product(node: Any) -> ShopProduct | None:
    if not isinstance(node, dict) or not isinstance(node.get("id"), str) or not node.get("title"):
        return None
    variants = _dict(node.get("variants")).get("nodes") or []
    first = _dict(variants[0]) if variants else {}
    try:
        price = Decimal(str(first["price"])) if first.get("price") is not None else None
    except (ArithmeticError, ValueError):
        price = None
    variant = first.get("id") if isinstance(first.get("id"), str) else None
    return ShopProduct(node["id"], str(node["title"])[:200], variant, price)


def product_gid(product_id: str) -> str:
    """A product's Admin API id from what a moderator picked: a ``gid://shopify/Product/…`` or its number."""
    value = product_id.strip()
    if value.isdigit():
        return f"gid://shopify/Product/{value}"
    if value.startswith("gid://shopify/Product/") and value.rsplit("/", 1)[1].isdigit():
        return value
    raise ShopError(f"{value[:60]!r} is not a Shopify product id (gid://shopify/Product/… or its number)")


def _discount(body: dict[str, Any]) -> CodeDiscount | None:
    """The basic discount as Collective describes one, or None for anything Collective does not make."""
    if body.get("__typename") != "DiscountCodeBasic":
        return None
    value = _dict(_dict(body.get("customerGets")).get("value"))
    combines = _dict(body.get("combinesWith"))
    minimum = _dict(_dict(body.get("minimumRequirement")).get("greaterThanOrEqualToSubtotal"))
    try:
        if value.get("__typename") == "DiscountPercentage":
            kind, amount, currency = "percentage", round(float(value.get("percentage") or 0) * 100), None
        elif value.get("__typename") == "DiscountAmount":
            money = _dict(value.get("amount"))
            currency = str(money.get("currencyCode") or "")
            kind, amount = "fixed", to_minor(str(money.get("amount")), currency, "amount")
        else:
            return None
        minimum_minor = None
        if minimum.get("amount") is not None:
            minimum_minor = to_minor(str(minimum["amount"]), str(minimum.get("currencyCode") or ""), "minimum")
            currency = currency or str(minimum.get("currencyCode") or "") or None
    except (PayloadError, ValueError, TypeError):
        return None
    return CodeDiscount(
        kind,  # type: ignore[arg-type]
        amount, currency, bool(body.get("appliesOncePerCustomer")), minimum_minor,
        bool(combines.get("orderDiscounts")), bool(combines.get("productDiscounts")),
        bool(combines.get("shippingDiscounts")),
    )  # fmt: skip


GIFT_FIELDS = "id name status tags order { id name }"
GIFT_FIND_QUERY = (
    "query GiftDraft($query: String!) { draftOrders(first: 5, query: $query) { nodes { " + GIFT_FIELDS + " } } }"
)
GIFT_CREATE_MUTATION = (
    "mutation GiftDraftCreate($input: DraftOrderInput!) { draftOrderCreate(input: $input) { draftOrder { "
    + GIFT_FIELDS
    + " } userErrors { field message } } }"
)
GIFT_COMPLETE_MUTATION = (
    "mutation GiftDraftComplete($id: ID!) { draftOrderComplete(id: $id) { draftOrder { "
    + GIFT_FIELDS
    + " } userErrors { field message } } }"
)
GIFT_SHIPMENT_QUERY = """
query GiftShipment($id: ID!) {
  order(id: $id) {
    id displayFulfillmentStatus
    fulfillments(first: 5) { status displayStatus deliveredAt trackingInfo(first: 1) { url } }
  }
}
"""


def _gift_input(spec: GiftOrderSpec) -> dict[str, Any]:
    """``DraftOrderInput``: the variant, 100 % off the order, the member's address; the key as a tag."""
    address = spec.address
    first, _, last = address.name.rpartition(" ")
    shipping: dict[str, Any] = {
        "firstName": first or None, "lastName": last, "address1": address.line1, "address2": address.line2,
        "city": address.city, "zip": address.postal_code, "countryCode": address.country, "phone": address.phone,
    }  # fmt: skip
    return {
        "lineItems": [{"variantId": spec.variant_ref, "quantity": 1}],
        "appliedDiscount": {"valueType": "PERCENTAGE", "value": 100.0, "title": "Collective gift"},
        "shippingAddress": {k: v for k, v in shipping.items() if v is not None},
        "tags": [spec.key, "collective-gift"],
        "note": spec.note,
    }


GIFT_CARD_FIELDS = "id note lastCharacters enabled initialValue { amount currencyCode }"
GIFT_CARD_FIND_QUERY = (
    "query StoreCredit($query: String!) { giftCards(first: 5, query: $query) { nodes { " + GIFT_CARD_FIELDS + " } } }"
)
GIFT_CARD_CREATE_MUTATION = (
    "mutation StoreCreditCreate($input: GiftCardCreateInput!) { giftCardCreate(input: $input) { giftCard { "
    + GIFT_CARD_FIELDS
    + " } userErrors { field code message } } }"
)
