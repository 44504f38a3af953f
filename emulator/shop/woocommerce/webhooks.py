"""Webhooks in the fake store: ``/webhooks`` (list, create) and ``/webhooks/{id}`` (get, update, delete), and the
deliveries the store makes.

A delivery is a POST of the resource exactly as the REST API answers it, with WooCommerce's headers
(``X-WC-Webhook-Source``, ``-Topic``, ``-Resource``, ``-Event``, ``-Signature``, ``-ID``, ``-Delivery-ID``); the
signature is base64(HMAC-SHA256(body, the webhook's secret)). Creating a webhook sends the unsigned ping
``webhook_id=<id>``. Only ``active`` webhooks deliver; five failed deliveries in a row disable one. Webhooks cannot
be trashed: deleting needs ``force=true``.

Deliveries go over HTTP only to loopback addresses (127.0.0.1, localhost, ::1); one to any other address is
recorded with no status and never leaves the machine, so a test can register ``https://collective.example.com/…``
without a network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from emulator.shop.clock import Clock
from emulator.shop.webhooks import Delivery
from emulator.shop.woocommerce.auth import authorize, caller
from emulator.shop.woocommerce.rest import (
    Invalid,
    WooError,
    as_enum,
    as_str,
    encode,
    json_body,
    paged,
    php_json,
)
from emulator.shop.woocommerce.state import WEBHOOK_STATUSES, Webhook, WooState, stamp, wc_date

log = logging.getLogger(__name__)

RESOURCES = ("coupon", "customer", "order", "product")
EVENTS = ("created", "updated", "deleted", "restored")
HOOKS = {
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded"],
    "order.deleted": ["wp_trash_post"],
    "order.restored": ["untrashed_post"],
}
MAX_FAILURES = 5  # "After 5 consecutive failed deliveries … the webhook is disabled"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
USER_AGENT = "WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)"


def valid_topic(topic: str) -> bool:
    resource, _, event = topic.lower().partition(".")
    return (resource in RESOURCES and event in EVENTS) or (resource == "action" and bool(event))


def valid_url(url: str) -> bool:
    """wc_is_valid_url: an http(s) URL with a host."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not re.search(r"\s", url)


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class WebhookRoutes:
    """Mixed into FakeWooCommerce."""

    state: WooState
    utc_offset: timedelta
    home: str
    deliveries: list[Delivery]
    clock: Clock
    _session: aiohttp.ClientSession | None

    def webhook_json(self, w: Webhook) -> dict[str, Any]:
        base = f"{self.home}/wp-json/wc/v3/webhooks"
        return {
            "id": w.id,
            "name": w.name,
            "status": w.status,
            "topic": w.topic,
            "resource": w.resource,
            "event": w.event,
            "hooks": HOOKS.get(w.topic, [w.topic.removeprefix("action.")]),
            "delivery_url": w.delivery_url,
            "date_created": wc_date(w.created, self.utc_offset),
            "date_created_gmt": wc_date(w.created),
            "date_modified": wc_date(w.modified, self.utc_offset),
            "date_modified_gmt": wc_date(w.modified),
            "_links": {"self": [{"href": f"{base}/{w.id}"}], "collection": [{"href": base}]},
        }

    def _webhook(self, request: web.Request) -> Webhook:
        found = self.state.webhooks.get(int(request.match_info["id"]))
        if found is None:
            raise WooError("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", 404)
        return found

    # ---- routes ------------------------------------------------------------------------------------------

    async def list_webhooks(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "list")
        invalid = Invalid()
        status = as_enum(request.query.get("status", "all"), "status", ("all", *WEBHOOK_STATUSES), invalid)
        hooks = sorted(self.state.webhooks.values(), key=lambda w: (w.created, w.id), reverse=True)
        if status != "all":
            hooks = [w for w in hooks if w.status == status]
        if request.query.get("search"):
            hooks = [w for w in hooks if request.query["search"].lower() in w.name.lower()]
        page, headers = paged(request, hooks, invalid)
        return php_json([self.webhook_json(w) for w in page], headers=headers)

    async def get_webhook(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "view")
        return php_json(self.webhook_json(self._webhook(request)))

    async def create_webhook(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "create")
        params = await json_body(request)
        topic, url = params.get("topic"), params.get("delivery_url")
        if not isinstance(topic, str) or not topic or not valid_topic(topic):
            raise WooError(
                "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic is required and must be valid.", 400
            )
        if not isinstance(url, str) or not url or not valid_url(url):
            raise WooError(
                "woocommerce_rest_shop_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.", 400,
            )  # fmt: skip
        invalid = Invalid()
        name = as_str(params.get("name") or "", "name", invalid)
        status = as_enum(params.get("status") or "active", "status", WEBHOOK_STATUSES, invalid)
        secret = as_str(params.get("secret") or "", "secret", invalid)
        invalid.raise_if_any()
        now = stamp(self.clock)
        hook = Webhook(
            self.state.next_webhook_id(),
            name or f"Webhook created on {now:%b %d, %Y @ %I:%M %p}",
            status,
            topic.lower(),
            url,
            secret or secrets.token_hex(16),  # a real store makes one up when none is given
            now,
            now,
        )
        self.state.webhooks[hook.id] = hook
        await self.ping(hook)
        return php_json(self.webhook_json(hook), status=201)

    async def update_webhook(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "edit")
        hook = self._webhook(request)
        params = {k: v for k, v in (await json_body(request)).items() if v is not None}
        invalid = Invalid()
        changes: dict[str, Any] = {}
        if "name" in params:
            changes["name"] = as_str(params["name"], "name", invalid)
        if "status" in params:
            changes["status"] = as_enum(params["status"], "status", WEBHOOK_STATUSES, invalid)
        if "secret" in params:
            changes["secret"] = as_str(params["secret"], "secret", invalid)
        invalid.raise_if_any()
        if "topic" in params:
            if not isinstance(params["topic"], str) or not valid_topic(params["topic"]):
                raise WooError(
                    "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic is required and must be valid.", 400
                )
            changes["topic"] = params["topic"].lower()
        if "delivery_url" in params:
            if not isinstance(params["delivery_url"], str) or not valid_url(params["delivery_url"]):
                raise WooError(
                    "woocommerce_rest_shop_webhook_invalid_delivery_url",
                    "Webhook delivery URL must be a valid URL starting with http:// or https://.", 400,
                )  # fmt: skip
            changes["delivery_url"] = params["delivery_url"]
        for field, value in changes.items():
            setattr(hook, field, value)
        if changes.get("status") == "active":
            hook.failure_count = 0
        hook.modified = stamp(self.clock)
        return php_json(self.webhook_json(hook))

    async def delete_webhook(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "delete")
        hook = self._webhook(request)
        if request.query.get("force", "false").lower() not in ("true", "1"):
            raise WooError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        body = self.webhook_json(hook)
        del self.state.webhooks[hook.id]
        return php_json(body)

    # ---- deliveries --------------------------------------------------------------------------------------

    async def deliver(self, topic: str, payload: dict[str, Any]) -> None:
        """Send ``payload`` to every active webhook on ``topic``, signed with each one's secret."""
        body = encode(payload)
        resource, _, event = topic.partition(".")
        for hook in sorted(self.state.webhooks.values(), key=lambda w: w.id):
            if hook.topic != topic or hook.status != "active":
                continue
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-WC-Webhook-Source": f"{self.home}/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": resource,
                "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": sign(body, hook.secret),
                "X-WC-Webhook-ID": str(hook.id),
                "X-WC-Webhook-Delivery-ID": secrets.token_hex(16),
            }
            status = await self._post(hook.delivery_url, body, headers)
            self.deliveries.append(Delivery(topic, hook.delivery_url, body, headers, status))
            if status is not None and 200 <= status < 300:
                hook.failure_count = 0
            else:
                hook.failure_count += 1
                if hook.failure_count >= MAX_FAILURES:
                    hook.status = "disabled"

    async def ping(self, hook: Webhook) -> None:
        """WC_Webhook::deliver_ping: ``webhook_id=<id>``, form-encoded and unsigned."""
        body = f"webhook_id={hook.id}".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT}
        status = await self._post(hook.delivery_url, body, headers)
        self.deliveries.append(Delivery("ping", hook.delivery_url, body, headers, status))

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int | None:
        if urlsplit(url).hostname not in LOOPBACK:
            return None  # never leaves the machine (see the module's docstring)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("webhook delivery to %s failed: %s", url, exc)
            return None
