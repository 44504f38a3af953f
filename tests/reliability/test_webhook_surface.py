"""The order-webhook server's attack surface, over real sockets against a real migrated database.

Refused: unsigned, badly signed (wrong secret, another body's signature, garbage), for an endpoint without a
secret, replayed (same event id, or the same order under a new event id), bodies over 1 MiB (declared or
streamed). Nothing refused is stored. It listens only on the configured host.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.clock import FixedClock
from bot.config import WebhookSettings
from bot.db import Database
from bot.webhooks import WebhookServer, sign
from tests.fixtures.commerce.sales_world import add_ambassador, encode, shopify_order

SHOPIFY_SECRET = "shpss_surface_secret_0001"
WOO_SECRET = "woo_surface_secret_0002"
STORED = ("shop_orders", "sales", "webhook_deliveries", "points_ledger")


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def stored(db: Database) -> dict[str, int]:
    return {table: int(await db.fetchval(f"SELECT COUNT(*) FROM {table}")) for table in STORED}


@pytest.fixture
async def hooks(db: Database, clock: FixedClock) -> AsyncIterator[tuple[WebhookServer, str]]:
    host = "127.0.0.1"
    config = WebhookSettings(
        enabled=True,
        host=host,
        port=free_port(host),
        shopify_secret=SecretStr(SHOPIFY_SECRET),
        woocommerce_secret=SecretStr(WOO_SECRET),
    )
    server = WebhookServer(db, config, clock)
    await server.start()  # host and port from the configuration, as the bot starts it
    try:
        yield server, f"http://{host}:{server.port}"
    finally:
        await server.stop()


async def post(url: str, body: bytes | Any, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


def shopify_headers(body: bytes, event_id: str, signature: str | None) -> dict[str, str]:
    headers = {"X-Shopify-Topic": "orders/paid", "X-Shopify-Event-Id": event_id, "Content-Type": "application/json"}
    if signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature
    return headers


async def test_unsigned_and_badly_signed_deliveries_are_refused_and_store_nothing(
    hooks: tuple[WebhookServer, str], db: Database, clock: FixedClock
) -> None:
    _, base = hooks
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    body = encode(shopify_order("ALICE10"))
    other = encode(shopify_order("ALICE10", order_id=1))
    before = await stored(db)
    for signature in (
        None,
        "",
        "not-base64-at-all",
        sign(body, "someone-elses-secret"),
        sign(other, SHOPIFY_SECRET),  # a genuine signature, of another body
        sign(body, SHOPIFY_SECRET)[:-4] + "AAA=",
        sign(body, SHOPIFY_SECRET.upper()),
    ):
        status, answer = await post(f"{base}/webhooks/shopify", body, shopify_headers(body, "evt-1", signature))
        assert (status, answer["detail"]) == (401, "bad or missing signature"), signature
    # WooCommerce: only its creation ping may come unsigned, and it records nothing.
    status, _ = await post(f"{base}/webhooks/woocommerce", b"webhook_id=12", {})
    assert status == 200
    status, _ = await post(f"{base}/webhooks/woocommerce", body, {"X-WC-Webhook-Topic": "order.created"})
    assert status == 401
    # No secret configured for the generic endpoint: nothing can be signed for it.
    status, _ = await post(f"{base}/webhooks/orders", body, {"X-Collective-Signature": sign(body, "")})
    assert status == 401
    assert await stored(db) == before


async def test_replayed_deliveries_change_nothing(
    hooks: tuple[WebhookServer, str], db: Database, clock: FixedClock
) -> None:
    _, base = hooks
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    body = encode(shopify_order("ALICE10"))
    signature = sign(body, SHOPIFY_SECRET)
    assert (await post(f"{base}/webhooks/shopify", body, shopify_headers(body, "evt-1", signature)))[0] == 200
    after_first = await stored(db)
    assert after_first["sales"] == 1
    # The captured delivery sent again, as is and under a fresh (unsigned) event id header.
    for event_id in ("evt-1", "evt-replay", "evt-replay-2"):
        status, answer = await post(f"{base}/webhooks/shopify", body, shopify_headers(body, event_id, signature))
        assert (status, answer["detail"]) == (200, "duplicate"), event_id
    counts = await stored(db)
    assert {t: counts[t] for t in ("sales", "shop_orders", "points_ledger")} == {
        t: after_first[t] for t in ("sales", "shop_orders", "points_ledger")
    }


async def test_bodies_over_one_mebibyte_are_refused_declared_or_streamed(
    hooks: tuple[WebhookServer, str], db: Database
) -> None:
    _, base = hooks
    big = b"{" + b" " * (1024 * 1024) + b"}"
    before = await stored(db)
    status, _ = await post(f"{base}/webhooks/shopify", big, shopify_headers(big, "evt-big", sign(big, SHOPIFY_SECRET)))
    assert status == 413

    async def streamed() -> AsyncIterator[bytes]:  # chunked: no Content-Length to refuse up front
        yield b"{"
        for _ in range(17):
            yield b" " * 65536
        yield b"}"

    headers = shopify_headers(big, "evt-stream", sign(big, SHOPIFY_SECRET))
    status, _ = await post(f"{base}/webhooks/shopify", streamed(), headers)
    assert status == 413
    assert await stored(db) == before


async def test_listens_only_on_the_configured_host(db: Database, clock: FixedClock) -> None:
    # 127.0.0.2 is loopback too on Linux: a server bound to it must not answer on 127.0.0.1 (nor anywhere else).
    host = "127.0.0.2"
    port = free_port(host)
    server = WebhookServer(db, WebhookSettings(enabled=True, host=host, port=port), clock)
    await server.start()
    try:
        assert server.port == port
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://{host}:{port}/healthz") as response:
                assert response.status == 200
            for elsewhere in ("127.0.0.1", "localhost"):
                with pytest.raises(aiohttp.ClientConnectorError):
                    async with session.get(f"http://{elsewhere}:{port}/healthz"):
                        pass
    finally:
        await server.stop()
