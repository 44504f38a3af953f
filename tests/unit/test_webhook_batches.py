"""Group commit of webhook deliveries: many per transaction, each deduped and answered on its own."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.clock import FixedClock
from bot.config import WebhookSettings
from bot.db import Database
from bot.services.sales.ledger import Delivery, RecordResult, UnknownProgram
from bot.services.sales.payloads import PayloadError, parse_json, shopify_order, shopify_refund
from bot.storage.statements import Statements, TransactionAbandoned
from bot.webhook_batches import DeliveryWriter
from bot.webhooks import WebhookServer, sign
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador, encode, sample
from tests.fixtures.commerce.sales_world import shopify_order as order_body

SECRET = "shpss_batch_secret"


def order(code: str | None, order_id: int, event_id: str, clock: FixedClock, guild: int | None = GUILD) -> Delivery:
    item = shopify_order(parse_json(encode(order_body(code, order_id=order_id))))
    return Delivery(guild, "shopify", event_id, "orders/paid", item, clock.now())


def refund(order_id: int, currency: str, event_id: str, clock: FixedClock) -> Delivery:
    body = sample("shopify_refund_example.json")
    body["order_id"] = order_id
    for line in body["refund_line_items"]:
        line["subtotal_set"]["shop_money"]["currency_code"] = currency
    return Delivery(GUILD, "shopify", event_id, "refunds/create", shopify_refund(body), clock.now())


async def count(db: Database, sql: str) -> int:
    return int(await db.fetchval(sql))


@pytest.mark.sqlite_only("injects the failure with a SQLite TEMP TRIGGER")
async def test_deliveries_submitted_together_share_a_transaction_and_fail_alone(
    db: Database, clock: FixedClock
) -> None:
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    await add_ambassador(db, 2, "Bob", clock.now(), code="BOB10")
    async with db.transaction() as tx:  # an SQL-level failure for one event id, on the writer's connection
        await tx.execute(
            "CREATE TEMP TRIGGER refuse_one BEFORE INSERT ON main.webhook_deliveries"
            " WHEN NEW.event_id = 'e-abort' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    writer = DeliveryWriter(db)
    batch = [
        order("ALICE10", 1001, "e1", clock),
        order("ALICE10", 1001, "e1", clock),  # the same event again, in the same batch
        order("ALICE10", 1001, "e2", clock),  # the same order under a new event id
        order("BOB10", 1002, "e3", clock),
        refund(1001, "EUR", "e4", clock),  # the sale is in USD: a bad refund
        order("BOB10", 1003, "e5", clock, guild=999),  # no program for that server
        order("NOBODY", 1004, "e6", clock),
        order("BOB10", 1005, "e-abort", clock),  # fails inside SQLite, after its sale was written
        order("BOB10", 1006, "e7", clock),
    ]
    results = await asyncio.gather(*(writer.submit(d) for d in batch), return_exceptions=True)
    await writer.close()
    assert writer.largest_batch == len(batch)  # one transaction held them all
    outcomes = [r.outcome if isinstance(r, RecordResult) else type(r) for r in results]
    assert outcomes == [
        "recorded", "duplicate", "duplicate", "recorded", PayloadError, UnknownProgram, "unknown_code",
        sqlite3.IntegrityError, "recorded",
    ]  # fmt: skip
    assert isinstance(results[5], UnknownProgram) and results[5].status == 404
    sales = await db.fetchall("SELECT order_id FROM sales ORDER BY order_id")
    assert [row["order_id"] for row in sales] == ["1001", "1002", "1006"]  # 1005 rolled back with its delivery
    assert await count(db, "SELECT COUNT(*) FROM points_ledger") == 3
    assert await count(db, "SELECT COUNT(*) FROM shop_orders WHERE counted = 1") == 3
    assert await count(db, "SELECT COUNT(*) FROM shop_orders WHERE order_id = '1005'") == 0
    events = await db.fetchall("SELECT event_id FROM webhook_deliveries ORDER BY event_id")
    assert [row["event_id"] for row in events] == ["e1", "e2", "e3", "e6", "e7"]  # failed ones may be retried
    assert await count(db, "SELECT orders FROM unknown_codes WHERE code = 'NOBODY'") == 1


@pytest.mark.sqlite_only("RAISE(ROLLBACK): SQLite abandoning a whole transaction")
async def test_a_batch_whose_transaction_fails_is_refused_whole_and_stores_nothing(
    db: Database, clock: FixedClock
) -> None:
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    async with db.transaction() as tx:  # RAISE(ROLLBACK) ends the whole transaction, like a failed COMMIT
        await tx.execute(
            "CREATE TEMP TRIGGER lose_all BEFORE INSERT ON main.webhook_deliveries"
            " WHEN NEW.event_id = 'e-boom' BEGIN SELECT RAISE(ROLLBACK, 'the disk went away'); END"
        )
    writer = DeliveryWriter(db)
    batch = [order("ALICE10", 2001, "e1", clock), order("ALICE10", 2002, "e-boom", clock)]
    results = await asyncio.gather(*(writer.submit(d) for d in batch), return_exceptions=True)
    # nobody is told "stored": each hears that the whole transaction was lost, and why
    assert all(
        isinstance(r, TransactionAbandoned) and isinstance(r.__cause__, sqlite3.IntegrityError) for r in results
    ), results
    for table in ("sales", "shop_orders", "points_ledger", "webhook_deliveries"):
        assert await count(db, f"SELECT COUNT(*) FROM {table}") == 0, table
    retried = await writer.submit(batch[0])  # the shop retries; the writer carries on
    assert retried.outcome == "recorded" and await count(db, "SELECT COUNT(*) FROM sales") == 1
    await writer.close()


async def test_a_concurrent_burst_over_http_stores_each_order_once(
    db: Database, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    await add_ambassador(db, 2, "Bob", clock.now(), code="BOB10")
    hooks = WebhookServer(db, WebhookSettings(shopify_secret=SecretStr(SECRET)), clock)
    posts: list[tuple[str, str, bytes]] = []
    for n in range(60):
        code = None if n % 3 == 0 else ("ALICE10" if n % 2 else "BOB10")
        posts.append((f"e{n}", "orders/paid", encode(order_body(code, order_id=5000 + n))))
    posts += [(f"e{n}", "orders/paid", encode(order_body("ALICE10", order_id=5000 + n))) for n in range(20)]
    bad = sample("shopify_refund_example.json")
    bad["order_id"], bad["transactions"], bad["refund_line_items"] = 5001, [], [{"subtotal": 1.005}]  # finer than cents
    posts.append(("e-bad", "refunds/create", encode(bad)))

    async def post(client: TestClient[Any, Any], event_id: str, topic: str, body: bytes) -> int:
        headers = {"X-Shopify-Hmac-Sha256": sign(body, SECRET), "X-Shopify-Topic": topic,
                   "X-Shopify-Event-Id": event_id, "Content-Type": "application/json"}  # fmt: skip
        response = await client.post("/webhooks/shopify", data=body, headers=headers)
        return response.status

    with caplog.at_level(logging.WARNING, logger="bot.webhooks"):
        async with TestClient(TestServer(hooks.app)) as client:
            statuses = await asyncio.gather(*(post(client, *p) for p in posts))
        await hooks.writer.close()
    assert statuses[:-1] == [200] * (len(posts) - 1) and statuses[-1] == 400
    attributed = sum(1 for n in range(60) if n % 3)
    assert await count(db, "SELECT COUNT(*) FROM shop_orders") == 60
    assert await count(db, "SELECT COUNT(*) FROM sales") == attributed
    assert await count(db, "SELECT COUNT(*) FROM points_ledger") == attributed
    assert await count(db, "SELECT COUNT(*) FROM webhook_deliveries") == 60
    assert await count(db, "SELECT SUM(orders) FROM sales_totals") == attributed


async def test_run_transaction_commits_all_or_nothing_in_one_call(db: Database) -> None:
    await db.execute("CREATE TABLE scratch (n INTEGER PRIMARY KEY)")

    async def two_then_fail(sql: Statements) -> None:
        await sql.execute("INSERT INTO scratch VALUES (1)")
        await sql.execute("INSERT INTO scratch VALUES (2)")
        raise RuntimeError("halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        await db.run_transaction(two_then_fail)
    assert await count(db, "SELECT COUNT(*) FROM scratch") == 0
    added = await db.run_transaction(lambda sql: sql.execute("INSERT INTO scratch VALUES (3)"))
    assert added == 1 and await count(db, "SELECT COUNT(*) FROM scratch") == 1
