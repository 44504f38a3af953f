"""Benchmark: the catch-up of 10,000 orders from the fake Shopify, beside the webhook path on the same orders.

    python -m bench.bench_catch_up [--orders 10000] [--concurrency 50]
    python -m bench.bench_catch_up --quick      # 1,000 orders: checks that it works

The fake shop runs in a second process (its GraphQL execution is the shop's work, not the bot's) and holds
``--orders`` orders over the last 30 days, two in three with one of four ambassadors' codes, every 20th refunded
in part. Three runs, each into the real ledger:
- webhooks (the baseline): the shop fires each order's signed orders/paid body, then each refunds/create, at
  Collective's WebhookServer with ``--concurrency`` in flight, into a fresh database;
- catch-up: ``catch_up`` reads the same orders through the ``orders`` query (pages of 250, requests of 50) into
  a second fresh database;
- catch-up after the webhooks: the same catch-up over the first database, where every order is already known.
Checks (exit non-zero otherwise): both databases hold every attributed sale and refund once, with the same
money and points; the third run records nothing (zero doubled).
The shop's cost bucket is set beyond reach: Shopify's rate limit, not Collective, bounds a real catch-up, and
the script prints how long the points it requested would take on Shopify's standard plan (100 points/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from graphql import parse
from pydantic import SecretStr

from bench.report import Figure, emit
from bot.clock import FixedClock, to_db
from bot.config import ProgramDefaults, ShopifyConnection, WebhookSettings
from bot.db import Database
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales import codes
from bot.services.shop.connection import record_connection
from bot.shop.catch_up import CatchUpReport, catch_up
from bot.shop.shopify import ShopifyClient
from bot.shop.shopify_connector import ShopifyConnector
from bot.webhooks import WebhookServer

GUILD = 1
CODES = ["ANNA10", "BEN10", "CHLOE10", "DEV10"]
TOKEN = "shpat_bench"
DOMAIN = "bench-shop.myshopify.com"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
STANDARD_RESTORE = 100.0  # points per second on Shopify's standard plan


# -- the shop (second process) ------------------------------------------------------------------------


async def _shop(orders: int, pipe: Any) -> None:
    from emulator.shop import FakeShopify, ManualClock
    from emulator.shop.schema import estimate_cost

    shop = FakeShopify(token=TOKEN, domain=DOMAIN, clock=ManualClock(NOW), maximum_available=1e15, restore_rate=1e15)
    for name in CODES:
        shop.add_discount(name, percentage=0.1)
    span = timedelta(days=30) / orders
    placed = []
    for i in range(orders):
        code = CODES[i % len(CODES)] if i % 3 else None
        at = NOW - timedelta(days=30) + span * i
        placed.append(await shop.place_order(code=code, total="45.00", at=at, email=f"buyer{i}@example.com"))
    refunds = [(o, await shop.refund(o, "9.00", at=o.created_at + timedelta(hours=1))) for o in placed[::20]]
    await shop.start()
    pipe.send(shop.url)
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command[0] == "fire":
            bodies = [("orders/paid", f"paid-{o.id}", json.dumps(shop.order_webhook_body(o)).encode()) for o in placed]
            later = [("refunds/create", f"refund-{r.id}", json.dumps(shop.refund_webhook_body(o, r)).encode())
                     for o, r in refunds]  # fmt: skip
            pipe.send(await _fire(shop, command[1], command[2], bodies, later))
        elif command[0] == "cost":
            total = 0
            for request in shop.requests:
                document = parse(request["query"])
                total += estimate_cost(shop.schema, document.definitions[0], {}, request["variables"])  # type: ignore[arg-type]
            pipe.send({"points": total, "requests": len(shop.requests)})
            shop.requests.clear()
        else:
            break
    await shop.stop()


Delivery = tuple[str, str, bytes]  # topic, event id, body


async def _fire(shop: Any, url: str, concurrency: int, first: list[Delivery], then: list[Delivery]) -> dict[str, Any]:
    statuses: dict[int, int] = {}

    async def send(session: aiohttp.ClientSession, queue: list[Delivery]) -> None:
        while queue:
            topic, event_id, body = queue.pop()
            headers = {"X-Shopify-Hmac-Sha256": shop.sign(body), "X-Shopify-Topic": topic,
                       "X-Shopify-Event-Id": event_id, "Content-Type": "application/json"}  # fmt: skip
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        for batch in (list(first), list(then)):  # refunds after the sales they refund
            await asyncio.gather(*(send(session, batch) for _ in range(concurrency)))
    return {"wall": time.perf_counter() - started, "statuses": statuses, "deliveries": len(first) + len(then)}


def _shop_process(orders: int, pipe: Any) -> None:
    asyncio.run(_shop(orders, pipe))


# -- Collective's side ----------------------------------------------------------------------------------


async def program(path: Path) -> Database:
    db = await Database.open(path)
    await db.migrate()
    start = NOW - timedelta(days=90)
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), start)
    for user_id, code in enumerate(CODES, start=1):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
                " VALUES (?, ?, ?, 'active', ?, ?)",
                (GUILD, user_id, code, to_db(start), to_db(start)),
            )
            await codes.set_vanity_code(tx, GUILD, user_id, code, start)
    async with db.transaction() as tx:
        await record_connection(tx, GUILD, "shopify", DOMAIN, NOW - timedelta(days=31))
    await db.execute(  # connected a month ago, its backfill done: the catch-up reads the last 31 days
        "UPDATE shop_connections SET orders_cursor = ?, backfill_done_at = ? WHERE guild_id = ?",
        (to_db(NOW - timedelta(days=31)), to_db(NOW - timedelta(days=31)), GUILD),
    )
    return db


async def ledger(db: Database) -> dict[str, int]:
    row = await db.fetchone(
        """SELECT (SELECT COUNT(*) FROM sales WHERE kind = 'sale') AS sales,
                  (SELECT COUNT(*) FROM sales WHERE kind = 'refund') AS refunds,
                  (SELECT COALESCE(SUM(net_minor), 0) FROM sales) AS net,
                  (SELECT COUNT(*) FROM points_ledger) AS points_rows,
                  (SELECT COALESCE(SUM(points), 0) FROM points_ledger) AS points,
                  (SELECT COUNT(*) FROM shop_orders) AS orders"""
    )
    assert row is not None
    return dict(row)


class TimedClient(ShopifyClient):
    """The bot's Shopify client, keeping the time spent waiting for the shop's answers."""

    waited = 0.0

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return await super().execute(query, variables)
        finally:
            self.waited += time.perf_counter() - started


async def timed_catch_up(db: Database, url: str) -> tuple[CatchUpReport, float, float]:
    """The report, the wall time, and the part of it spent waiting on the shop."""
    config = ShopifyConnection(shop_domain=DOMAIN, access_token=SecretStr(TOKEN), admin_url=url)
    async with aiohttp.ClientSession() as session:
        client = TimedClient(session, config)
        started = time.perf_counter()
        report = await catch_up(db, ShopifyConnector(client), GUILD, NOW)
        return report, time.perf_counter() - started, client.waited


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it works")
    args = parser.parse_args()
    if args.quick:
        args.orders = 1000
    orders = args.orders
    attributed = sum(1 for i in range(orders) if i % 3)
    refunded = sum(1 for i in range(0, orders, 20) if i % 3)
    ctx = mp.get_context("spawn")
    here, there = ctx.Pipe()
    shop_proc = ctx.Process(target=_shop_process, args=(orders, there))
    shop_proc.start()
    problems: list[str] = []
    try:
        url = await asyncio.to_thread(here.recv)
        with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder:
            hooked = await program(Path(folder) / "webhooks.db")
            server = WebhookServer(hooked, WebhookSettings(shopify_secret=SecretStr("shopify-client-secret")),
                                   FixedClock(NOW))  # fmt: skip
            await server.start(host="127.0.0.1", port=0)
            try:
                here.send(("fire", f"http://127.0.0.1:{server.port}/webhooks/shopify/{GUILD}", args.concurrency))
                fired = await asyncio.to_thread(here.recv)
            finally:
                await server.stop()
            by_webhook = await ledger(hooked)

            fresh = await program(Path(folder) / "catch-up.db")
            report, took, shop_time = await timed_catch_up(fresh, url)
            here.send(("cost",))
            cost = await asyncio.to_thread(here.recv)
            by_catch_up = await ledger(fresh)

            again, took_again, _ = await timed_catch_up(hooked, url)
            after = await ledger(hooked)
            await fresh.close()
            await hooked.close()
    finally:
        here.send(("stop",))
        shop_proc.join(30)

    webhook_rate = orders / fired["wall"]
    rate, rate_again = orders / took, orders / took_again
    own_rate = orders / max(took - shop_time, 1e-9)  # Collective's share: parsing, the ledger, the commits
    doubled = max(after["sales"] - by_webhook["sales"], 0) + max(after["points_rows"] - by_webhook["points_rows"], 0)
    print(f"{orders:,} orders ({attributed:,} with an ambassador's code, {refunded:,} of those refunded in part)")
    print("| path | wall | orders/s | sales | refunds | pages | duplicates |\n|---|---|---|---|---|---|---|")
    print(f"| webhooks, {args.concurrency} in flight | {fired['wall']:.2f} s | {webhook_rate:,.0f} "
          f"| {by_webhook['sales']} | {by_webhook['refunds']} | — | — |")  # fmt: skip
    print(f"| catch-up, fresh database | {took:.2f} s | {rate:,.0f} | {report.sales_recorded} "
          f"| {report.refunds_recorded} | {report.pages} | {report.duplicates} |")  # fmt: skip
    print(f"| catch-up after the webhooks | {took_again:.2f} s | {rate_again:,.0f} | {again.sales_recorded} "
          f"| {again.refunds_recorded} | {again.pages} | {again.duplicates} |")  # fmt: skip
    print(f"of the fresh catch-up's {took:.2f} s, {shop_time:.2f} s were spent waiting for the shop's answers; "
          f"Collective's own share: {own_rate:,.0f} orders/s")  # fmt: skip
    standard = cost["points"] / STANDARD_RESTORE
    print(f"the catch-up asked Shopify for {cost['points']:,} points in {cost['requests']} requests: "
          f"{standard / 60:.1f} min at the standard plan's {STANDARD_RESTORE:g} points/s")  # fmt: skip

    if set(fired["statuses"]) != {200}:
        problems.append(f"webhook deliveries refused: {fired['statuses']}")
    if (by_webhook["sales"], by_webhook["refunds"]) != (attributed, refunded):
        problems.append(f"webhooks recorded {by_webhook['sales']} sales / {by_webhook['refunds']} refunds")
    if by_catch_up != by_webhook:
        problems.append(f"the catch-up's ledger differs from the webhooks': {by_catch_up} != {by_webhook}")
    if report.orders_read != orders or again.duplicates != attributed or again.sales_recorded or doubled:
        problems.append(f"catch-up after webhooks: {again.describe()}; doubled {doubled}")
    if after != by_webhook:
        problems.append("the catch-up after the webhooks changed the ledger")

    emit(Figure("shop catch-up", f"{orders:,} orders, pages of 250, into a fresh database", rate, "orders/s",
                webhook_rate, f"webhook ingest of the same orders, {args.concurrency} in flight"))  # fmt: skip
    baseline = f"webhook ingest of the same orders, {args.concurrency} in flight"
    emit(Figure("shop catch-up", "the same, Collective's share (time not waiting on the shop)", own_rate,
                "orders/s", webhook_rate, baseline))  # fmt: skip
    emit(Figure("shop catch-up", "the same, every order already received by webhook", rate_again, "orders/s",
                webhook_rate, f"webhook ingest of the same orders, {args.concurrency} in flight"))  # fmt: skip
    emit(Figure("shop catch-up", "sales doubled when already received by webhook", doubled, "sales", None, "",
                "0", doubled == 0))  # fmt: skip
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    asyncio.run(main())
