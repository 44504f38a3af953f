"""Webhooks in the fake shop: the subscriptions the app makes (GraphQL), and the signed deliveries the shop
sends for orders and refunds, with bodies shaped like Shopify's REST webhook payloads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp

from emulator.shop.clock import Clock
from emulator.shop.paging import page
from emulator.shop.schema import SCHEMA_VERSION
from emulator.shop.state import Order, Refund, ShopState, WebhookSubscription, iso, money

log = logging.getLogger(__name__)


@dataclass
class Delivery:
    """One webhook POST the shop made, kept so a test can check what was sent and what came back."""

    topic: str
    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None  # None: the connection failed


def _rest_bag(amount: Decimal, currency: str) -> dict[str, Any]:
    one = {"amount": money(amount), "currency_code": currency}
    return {"shop_money": one, "presentment_money": dict(one)}


class WebhookResolvers:
    """Mixed into FakeShopify: webhook subscriptions (query, create) and the deliveries."""

    state: ShopState
    clock: Clock
    client_secret: str
    domain: str
    currency: str
    deliveries: list[Delivery]
    _session: aiohttp.ClientSession | None

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
        return page(subs, args, lambda w: str(w.id), self._webhook_node)

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
            "email": order.email,
            "contact_email": order.email,
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
