"""The webhook server over real HTTP (aiohttp test server) against a real migrated database, no Discord."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.clock import FixedClock
from bot.config import WebhookSettings
from bot.db import Database
from bot.services.sales.ledger import SALE_RECORDED
from bot.services.sales.orders import LedgerEvent
from bot.webhooks import WebhookServer, sign
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador, encode, sample, shopify_order

SECRET = "shpss_test_secret"
WOO_SECRET = "woo_secret"
GENERIC_SECRET = "generic_secret"


@pytest.fixture
async def server(db: Database, clock: FixedClock) -> AsyncIterator[TestClient[Any, Any]]:
    config = WebhookSettings(
        enabled=True,
        shopify_secret=SecretStr(SECRET),
        woocommerce_secret=SecretStr(WOO_SECRET),
        generic_secret=SecretStr(GENERIC_SECRET),
    )
    hooks = WebhookServer(db, config, clock)
    async with TestClient(TestServer(hooks.app)) as client:
        yield client


async def sales_announced(db: Database) -> list[LedgerEvent]:
    """The sales written to the outbox for the bot's cogs (celebrations), in order."""
    rows = await db.fetchall("SELECT guild_id, payload FROM outbox WHERE topic = ? ORDER BY id", (SALE_RECORDED,))
    found = [(row["guild_id"], json.loads(row["payload"])) for row in rows]
    return [LedgerEvent("sale_recorded", guild, p["user_id"], p["sale_id"]) for guild, p in found]


async def post_shopify(
    client: TestClient[Any, Any],
    body: bytes,
    *,
    topic: str = "orders/paid",
    event_id: str = "evt-1",
    signature: str | None = "sign",
    path: str = "/webhooks/shopify",
) -> tuple[int, dict[str, Any]]:
    headers = {"X-Shopify-Topic": topic, "X-Shopify-Event-Id": event_id, "Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Shopify-Hmac-Sha256"] = sign(body, SECRET)
    elif signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature
    response = await client.post(path, data=body, headers=headers)
    return response.status, await response.json()


async def count(db: Database, table: str) -> int:
    return int(await db.fetchval(f"SELECT COUNT(*) FROM {table}"))


async def test_a_signed_paid_order_with_a_code_is_recorded_once_points_and_event(
    server: TestClient[Any, Any], db: Database, clock: FixedClock
) -> None:
    client = server
    code = await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    status, answer = await post_shopify(client, encode(shopify_order("ALICE10")))
    assert (status, answer["detail"]) == (200, "recorded")
    sale = await db.fetchone("SELECT * FROM sales")
    assert sale is not None
    assert (sale["user_id"], sale["code_id"], sale["order_id"], sale["currency"]) == (1, code.id, "450789469", "USD")
    assert (sale["gross_minor"], sale["discount_minor"], sale["net_minor"]) == (59700, 1000, 58700)
    assert sale["source"] == "webhook" and sale["kind"] == "sale"
    assert await db.fetchval("SELECT points FROM points_ledger WHERE reference = 'sale:shopify:450789469'") == 20
    assert await sales_announced(db) == [LedgerEvent("sale_recorded", GUILD, 1, sale["id"])]


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSByaWdodCBzaWduYXR1cmU=", "garbage!!"])
async def test_missing_or_bad_signatures_get_401_and_store_nothing(
    server: TestClient[Any, Any], db: Database, clock: FixedClock, signature: str | None
) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    status, _ = await post_shopify(client, encode(shopify_order("ALICE10")), signature=signature)
    assert status == 401
    for table in ("shop_orders", "sales", "webhook_deliveries", "points_ledger"):
        assert await count(db, table) == 0, table
    assert await sales_announced(db) == []


async def test_a_body_signed_with_another_secret_is_refused(
    server: TestClient[Any, Any], db: Database, clock: FixedClock
) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    body = encode(shopify_order("ALICE10"))
    status, _ = await post_shopify(client, body, signature=sign(body, "someone-elses-secret"))
    assert status == 401 and await count(db, "sales") == 0


async def test_a_replayed_event_id_changes_nothing(
    server: TestClient[Any, Any], db: Database, clock: FixedClock
) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    body = encode(shopify_order("ALICE10"))
    assert (await post_shopify(client, body, event_id="evt-7"))[0] == 200
    status, answer = await post_shopify(client, body, event_id="evt-7")
    assert (status, answer["detail"]) == (200, "duplicate")
    # The same order under a new event id (Shopify's retry after a timeout) is deduped on the order id.
    status, answer = await post_shopify(client, body, event_id="evt-8")
    assert (status, answer["detail"]) == (200, "duplicate")
    assert await count(db, "sales") == 1 and await count(db, "points_ledger") == 1
    assert len(await sales_announced(db)) == 1


async def test_a_manual_discount_title_in_discount_codes_is_not_attributed(
    server: TestClient[Any, Any], db: Database, clock: FixedClock
) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    body = shopify_order("ALICE10")
    # A staff member typed a manual discount titled like Alice's code: not a discount code application.
    body["discount_applications"] = [
        {"target_type": "line_item", "type": "manual", "value": "10.0", "value_type": "fixed_amount",
         "allocation_method": "across", "target_selection": "all", "title": "ALICE10", "description": "ALICE10"}
    ]  # fmt: skip
    status, answer = await post_shopify(client, encode(body))
    assert (status, answer["detail"]) == (200, "unattributed")
    assert await count(db, "sales") == 0 and await count(db, "shop_orders") == 1
    assert await count(db, "unknown_codes") == 0


async def test_a_lowercase_code_is_attributed(server: TestClient[Any, Any], db: Database, clock: FixedClock) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    status, answer = await post_shopify(client, encode(shopify_order("alice10")))
    assert (status, answer["detail"]) == (200, "recorded")
    assert await db.fetchval("SELECT code FROM sales") == "ALICE10"


async def test_a_partial_refund_reverses_its_share(
    server: TestClient[Any, Any], db: Database, clock: FixedClock
) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    await post_shopify(client, encode(shopify_order("ALICE10")), event_id="e-order")
    refund = sample("shopify_refund_example.json")  # two lines: 195.66 + 195.67 of the 587.00 net
    status, answer = await post_shopify(client, encode(refund), topic="refunds/create", event_id="e-refund")
    assert (status, answer["detail"]) == (200, "refund")
    row = await db.fetchone("SELECT * FROM sales WHERE kind = 'refund'")
    assert row is not None and row["net_minor"] == -39133 and row["entry_ref"] == "509562969"
    assert row["user_id"] == 1 and row["currency"] == "USD"
    # 20 points × 391.33 / 587.00 = 13.33 → 13 reversed, under the refund's own reference.
    reversed_points = await db.fetchval(
        "SELECT points FROM points_ledger WHERE reference = 'refund:shopify:450789469:509562969'"
    )
    assert reversed_points == -13
    assert len(await sales_announced(db)) == 1  # a refund is no new sale to celebrate
    # The same refund again (another event id) is not reversed twice.
    status, answer = await post_shopify(client, encode(refund), topic="refunds/create", event_id="e-refund-2")
    assert answer["detail"] == "duplicate" and await count(db, "points_ledger") == 2


async def test_malformed_bodies_get_400_with_the_reason_logged(
    server: TestClient[Any, Any],
    db: Database,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    broken = shopify_order("ALICE10")
    broken["total_line_items_price"] = 597.001  # a float with sub-cent precision
    cases = [b"{not json", b"[1, 2]", encode({**shopify_order("ALICE10"), "currency": "dollars"}), encode(broken)]
    with caplog.at_level(logging.WARNING, logger="bot.webhooks"):
        for i, body in enumerate(cases):
            status, _ = await post_shopify(client, body, event_id=f"bad-{i}")
            assert status == 400, body[:40]
    assert any("currency" in record.getMessage() for record in caplog.records)
    for table in ("shop_orders", "sales", "webhook_deliveries"):
        assert await count(db, table) == 0


async def test_bodies_over_one_mebibyte_get_413(server: TestClient[Any, Any]) -> None:
    client = server
    body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    status, _ = await post_shopify(client, body)
    assert status == 413


async def test_order_ids_beyond_2_53_stay_exact(server: TestClient[Any, Any], db: Database, clock: FixedClock) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    big = 2**63 - 25  # would round to ...808 as a float
    await post_shopify(client, encode(shopify_order("ALICE10", order_id=big)))
    assert await db.fetchval("SELECT order_id FROM sales") == str(big)
    assert await db.fetchval("SELECT reference FROM points_ledger") == f"sale:shopify:{big}"


async def test_orders_create_is_stored_and_counts_only_once_paid(
    server: TestClient[Any, Any], db: Database, clock: FixedClock
) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    body = shopify_order("ALICE10")
    body["financial_status"] = "pending"
    status, answer = await post_shopify(client, encode(body), topic="orders/create", event_id="c1")
    assert (status, answer["detail"]) == (200, "stored") and await count(db, "sales") == 0
    status, answer = await post_shopify(client, encode(body), topic="orders/paid", event_id="p1")
    assert answer["detail"] == "recorded" and await count(db, "sales") == 1


async def test_shopify_test_notification_is_acknowledged_and_not_counted(
    server: TestClient[Any, Any], db: Database, clock: FixedClock
) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    body = encode(sample("shopify_orders_create_test.json"))
    status, answer = await post_shopify(client, body, topic="orders/create")
    assert (status, answer["detail"]) == (200, "test") and await count(db, "shop_orders") == 0


async def test_records_sales_without_any_discord_connection(db: Database, clock: FixedClock) -> None:
    """The server needs only the database: here there is no bot and no gateway at all."""
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    hooks = WebhookServer(db, WebhookSettings(shopify_secret=SecretStr(SECRET)), clock)
    async with TestClient(TestServer(hooks.app)) as client:
        status, _ = await post_shopify(client, encode(shopify_order("ALICE10")))
    assert status == 200 and await count(db, "sales") == 1


async def test_woocommerce_ping_order_and_lowercase_coupon(
    server: TestClient[Any, Any], db: Database, clock: FixedClock
) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    ping = await client.post("/webhooks/woocommerce", data=b"webhook_id=12")
    assert ping.status == 200
    order = {
        "id": 727, "number": "727", "status": "processing", "currency": "EUR", "discount_total": "5.00",
        "date_created_gmt": "2026-11-24T09:00:00", "billing": {"email": "buyer@example.com"},
        "line_items": [{"subtotal": "30.00", "total": "25.00"}], "coupon_lines": [{"code": "alice10"}],
    }  # fmt: skip
    body = encode(order)
    headers = {"X-WC-Webhook-Signature": sign(body, WOO_SECRET), "X-WC-Webhook-Topic": "order.created",
               "X-WC-Webhook-Delivery-ID": "d1"}  # fmt: skip
    response = await client.post("/webhooks/woocommerce", data=body, headers=headers)
    assert response.status == 200
    sale = await db.fetchone("SELECT * FROM sales")
    assert sale is not None and (sale["shop"], sale["net_minor"], sale["currency"]) == ("woocommerce", 2500, "EUR")
    unsigned = await client.post("/webhooks/woocommerce", data=body, headers={"X-WC-Webhook-Topic": "order.created"})
    assert unsigned.status == 401


async def test_generic_endpoint_sale_and_refund_in_yen(
    server: TestClient[Any, Any], db: Database, clock: FixedClock
) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    sale = {"event": "sale", "order_id": "POP-1", "code": "Alice10", "currency": "JPY", "gross": "5000",
            "discount": "500", "occurred_at": "2026-11-24T10:00:00+09:00"}  # fmt: skip
    refund = {"event": "refund", "order_id": "POP-1", "refund_id": "R1", "amount": "4500", "currency": "JPY",
              "occurred_at": "2026-11-25T10:00:00Z"}  # fmt: skip
    for event in (sale, refund):
        body = encode(event)
        response = await client.post(
            f"/webhooks/orders/{GUILD}", data=body, headers={"X-Collective-Signature": sign(body, GENERIC_SECRET)}
        )
        assert response.status == 200
    rows = await db.fetchall("SELECT kind, net_minor FROM sales ORDER BY id")
    assert [(r["kind"], r["net_minor"]) for r in rows] == [("sale", 4500), ("refund", -4500)]
    assert await db.fetchval("SELECT SUM(points) FROM points_ledger") == 0  # a full refund reverses all points


async def test_routing_by_guild_and_health(server: TestClient[Any, Any], db: Database, clock: FixedClock) -> None:
    client = server
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    body = encode(shopify_order("ALICE10"))
    assert (await post_shopify(client, body, path="/webhooks/shopify/999"))[0] == 404
    assert (await post_shopify(client, body, path="/webhooks/shopify/abc"))[0] == 400
    # Beyond SQLite's 64-bit integers: refused up front, not a 500 from inside the writer's batch.
    assert (await post_shopify(client, body, path="/webhooks/shopify/99999999999999999999"))[0] == 400
    assert (await post_shopify(client, body, path=f"/webhooks/shopify/{2**63}"))[0] == 400
    assert (await post_shopify(client, body, path=f"/webhooks/shopify?guild={GUILD}"))[0] == 200
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["ok"] is True


async def test_an_endpoint_without_a_secret_is_off_and_says_which_key(
    db: Database, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    config = WebhookSettings(enabled=True, host="127.0.0.1", port=1, shopify_secret=SecretStr(SECRET))
    hooks = WebhookServer(db, config, clock)
    with caplog.at_level(logging.WARNING, logger="bot.webhooks"):
        await hooks.start(port=0)
        await hooks.stop()
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused == [
        "webhook endpoint /webhooks/woocommerce refused: webhooks.woocommerce_secret is not set",
        "webhook endpoint /webhooks/orders refused: webhooks.generic_secret is not set",
    ]
    async with TestClient(TestServer(hooks.app)) as client:
        body = encode({"id": 1})
        off = await client.post("/webhooks/woocommerce", data=body, headers={"X-WC-Webhook-Signature": sign(body, "")})
        assert off.status == 401 and "webhooks.woocommerce_secret" in (await off.json())["detail"]
        status, _ = await post_shopify(client, encode(shopify_order("ALICE10")))
        assert status == 200
