"""The order-webhook server: verify, parse, record in one transaction, answer — and only then tell the bot.

Endpoints (aiohttp, inside the bot's process when ``[webhooks] enabled``; it needs only the database, so
sales are recorded while the Discord connection is down):

    POST /webhooks/shopify[/<guild_id>]      X-Shopify-Hmac-Sha256, topics orders/paid, orders/create,
                                             refunds/create; dedupe on X-Shopify-Event-Id
    POST /webhooks/woocommerce[/<guild_id>]  X-WC-Webhook-Signature; topics order.created / order.updated;
                                             dedupe on X-WC-Webhook-Delivery-ID; the unsigned ping gets 200
    POST /webhooks/orders[/<guild_id>]       the generic format (see bot/services/sales/payloads.py), signed
                                             with X-Collective-Signature; optional X-Collective-Event-Id
    GET  /healthz

Which server a delivery is for: the ``<guild_id>`` path segment (or ``?guild=<id>``). When the bot runs
exactly one program, the plain path is enough. Every signature is base64(HMAC-SHA256(raw body, secret)),
compared in constant time. Answers: 200 after commit (replays too), 401 bad/missing signature (nothing
stored), 400 malformed (reason logged, nothing stored), 404 unknown server (checked after the body: a malformed
body to an unknown server is a 400), 413 over 1 MiB, 500 when the database failed (the shop retries). Verified
deliveries are written in batches by one writer task, each answered only after the commit that holds it (see
bot/webhook_batches.py).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import SecretStr

from bot.clock import Clock
from bot.config import WebhookSettings
from bot.db import Database
from bot.services.sales.ledger import Delivery, UnknownProgram
from bot.services.sales.payloads import (
    OrderIn,
    PayloadError,
    RefundIn,
    Shop,
    generic_event,
    parse_json,
    shopify_order,
    shopify_refund,
    woocommerce_order,
)
from bot.webhook_batches import DeliveryWriter

if TYPE_CHECKING:
    from bot.app import CollectiveBot

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
STOP_GRACE = 5.0  # seconds
_WOO_PING = re.compile(rb"^webhook_id=\d+$")
_GUILD = re.compile(r"^\d{1,19}$")


def sign(body: bytes, secret: str) -> str:
    """The header value shops send: base64(HMAC-SHA256(body, secret))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_ok(body: bytes, header: str | None, secret: SecretStr | None) -> bool:
    if not header or secret is None or not secret.get_secret_value():
        return False
    expected = sign(body, secret.get_secret_value()).encode()
    return hmac.compare_digest(expected, header.strip().encode())


class WebhookServer:
    def __init__(self, db: Database, config: WebhookSettings, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.writer = DeliveryWriter(db)
        self.app = web.Application(client_max_size=MAX_BODY)
        missing = config.missing_secrets()
        for shop in ("shopify", "woocommerce", "orders"):
            key = missing.get(f"/webhooks/{shop}")
            # An endpoint without a secret can verify nothing: it is off, refusing every delivery (401) with the key
            # that turns it on (shops show the answer's body in their delivery log).
            handler = self._handler(shop) if key is None else _off(key)
            self.app.router.add_post(f"/webhooks/{shop}", handler)
            self.app.router.add_post(f"/webhooks/{shop}/{{guild_id}}", handler)
        self.app.router.add_get("/healthz", self._healthz)
        self.app.on_cleanup.append(self._close_writer)  # after in-flight requests: their deliveries get written
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        # On stop, requests already received get this long to be committed and answered (the clean stop must
        # finish within 10 s; a batch commits in milliseconds).
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=STOP_GRACE)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host or self.config.host, self.config.port if port is None else port)
        await site.start()
        server = site._server  # the bound socket tells us the port when 0 was asked for
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("order webhooks listening on %s:%s", host or self.config.host, self.port)
        for path, key in self.config.missing_secrets().items():
            log.warning("webhook endpoint %s refused: %s is not set", path, key)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()  # finishes in-flight requests first, then closes the writer
            self._runner = None

    async def _close_writer(self, app: web.Application) -> None:
        await self.writer.close()

    # -- handlers --------------------------------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            await self.db.fetchval("SELECT 1")
        except Exception:
            log.exception("healthz: database unavailable")
            return web.json_response({"ok": False}, status=503)
        return web.json_response({"ok": True})

    def _handler(self, endpoint: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            return await self._handle(endpoint, request)

        return handle

    async def _handle(self, endpoint: str, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _answer(413, "body over 1 MiB")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _answer(413, "body over 1 MiB")
        headers = request.headers
        if endpoint == "shopify":
            header, secret = headers.get("X-Shopify-Hmac-Sha256"), self.config.shopify_secret
        elif endpoint == "woocommerce":
            header, secret = headers.get("X-WC-Webhook-Signature"), self.config.woocommerce_secret
            if header is None and _WOO_PING.fullmatch(body.strip()):
                return _answer(200, "pong")  # WooCommerce checks a new webhook with an unsigned ping
        else:
            header, secret = headers.get("X-Collective-Signature"), self.config.generic_secret
        if not signature_ok(body, header, secret):
            return _answer(401, "bad or missing signature")
        raw_guild = request.match_info.get("guild_id") or request.query.get("guild")
        if raw_guild is not None and not _is_guild_id(raw_guild):
            return _answer(400, "guild must be a server id")
        guild_id = None if raw_guild is None else int(raw_guild)
        try:
            shop, event_id, topic, item = _parse(endpoint, headers, body)
        except PayloadError as exc:
            log.warning("webhook to /webhooks/%s for guild %s rejected: %s", endpoint, guild_id, exc)
            return _answer(400, str(exc))
        if item is None:
            known = await self._guild_for(request)
            return known if isinstance(known, web.Response) else _answer(200, f"topic {topic!r} ignored")
        # The writer checks the server exists inside the transaction that records the delivery.
        delivery = Delivery(guild_id, shop, event_id, topic, item, self.clock.now())
        try:
            result = await self.writer.submit(delivery)
        except UnknownProgram as exc:
            return _answer(exc.status, str(exc))
        except PayloadError as exc:
            log.warning("webhook to /webhooks/%s for guild %s rejected: %s", endpoint, guild_id, exc)
            return _answer(400, str(exc))
        except Exception:
            log.exception("webhook to /webhooks/%s for guild %s could not be recorded", endpoint, guild_id)
            return _answer(500, "not recorded; please retry")
        if result.outcome == "recorded":
            log.info("sale recorded: %s order %s (server %s)", shop, item.order_id, guild_id or "default")
        elif result.outcome == "refund":
            log.info("refund recorded: %s order %s (server %s)", shop, item.order_id, guild_id or "default")
        return _answer(200, result.outcome)

    async def _guild_for(self, request: web.Request) -> int | web.Response:
        raw = request.match_info.get("guild_id") or request.query.get("guild")
        if raw is not None:
            if not _is_guild_id(raw):
                return _answer(400, "guild must be a server id")
            known = await self.db.fetchval("SELECT 1 FROM guild_settings WHERE guild_id = ?", (int(raw),))
            return int(raw) if known else _answer(404, "no program for that server")
        rows = await self.db.fetchall("SELECT guild_id FROM guild_settings LIMIT 2")
        if len(rows) == 1:
            return int(rows[0][0])
        return _answer(400 if rows else 404, "say which server: /webhooks/<shop>/<guild_id>")


def _off(key: str) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.Response:
        return _answer(401, f"this endpoint is off: {key} is not set")

    return handle


def _is_guild_id(raw: str) -> bool:
    # A snowflake fits SQLite's signed 64-bit integer; a longer "id" would fail inside the writer's batch.
    return _GUILD.fullmatch(raw) is not None and int(raw) < 2**63


def _answer(status: int, detail: str) -> web.Response:
    return web.Response(body=_answer_body(status, detail), status=status, content_type="application/json")


@functools.lru_cache(maxsize=256)
def _answer_body(status: int, detail: str) -> bytes:
    # Most answers are one of a few (200 recorded/duplicate/...): encode each once.
    return json.dumps({"status": status, "detail": detail}).encode()


def _parse(endpoint: str, headers: Any, body: bytes) -> tuple[Shop, str | None, str, OrderIn | RefundIn | None]:
    data = parse_json(body)
    if endpoint == "shopify":
        topic = headers.get("X-Shopify-Topic", "")
        event_id = headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id")
        if topic == "refunds/create":
            return "shopify", event_id, topic, shopify_refund(data)
        if topic in ("orders/paid", "orders/create"):
            order = shopify_order(data)
            if topic == "orders/paid" and not order.paid:
                order = replace(order, paid=True)  # the topic itself says it was paid
            return "shopify", event_id, topic, order
        return "shopify", event_id, topic, None
    if endpoint == "woocommerce":
        topic = headers.get("X-WC-Webhook-Topic", "")
        event_id = headers.get("X-WC-Webhook-Delivery-ID")
        if topic in ("order.created", "order.updated", "order.restored"):
            return "woocommerce", event_id, topic, woocommerce_order(data)
        return "woocommerce", event_id, topic, None
    return "generic", headers.get("X-Collective-Event-Id"), "generic", generic_event(data)


async def start_webhook_server(bot: CollectiveBot) -> WebhookServer:
    """Called from the bot's setup_hook when ``[webhooks] enabled``; a recorded sale reaches the cogs through the
    outbox row written in the same transaction (``order_ledger.SALE_RECORDED``)."""
    server = WebhookServer(bot.db, bot.settings.webhooks, bot.clock)
    await server.start()
    return server
