"""Benchmark: a burst of signed Shopify webhooks over loopback, fired from a second process.

    python -m bench.bench_webhooks [--orders 5000] [--concurrency 50] [--replays 500]

Runs twice against a fresh database each time: Collective's WebhookServer (HMAC check, parse, one
transaction per delivery with dedupe, ledger and points) and a bare aiohttp + SQLite handler (read the body,
one INSERT OR IGNORE, commit) measured in the same run as the baseline. The client is a separate process so
the server's event loop is not sharing a CPU budget with the load generator. After each run the database is
checked: every order stored once (zero lost), every attributed sale once and each replay changed nothing
(zero doubled). Prints throughput and p50/p99 latency. A script run by hand, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bot.clock import SystemClock, to_db
from bot.config import ProgramDefaults, WebhookSettings
from bot.db import Database
from bot.services import codes
from bot.services.guild_settings import ensure_guild
from bot.webhooks import WebhookServer, sign

SECRET = "bench-secret"
GUILD = 1
CODES = ["ANNA10", "BEN10", "CHLOE10", "DEV10"]


def body_for(i: int) -> bytes:
    code = CODES[i % len(CODES)] if i % 3 else "UNKNOWN1"  # two in three orders carry an ambassador's code
    return json.dumps({
        "id": 9_007_199_254_740_993 + i, "name": f"#{1000 + i}", "currency": "USD", "financial_status": "paid",
        "created_at": datetime.now(UTC).isoformat(), "email": f"buyer{i}@example.com", "test": False,
        "total_line_items_price": "59.70", "total_discounts": "5.97",
        "discount_codes": [{"code": code, "amount": "5.97", "type": "percentage"}],
        "discount_applications": [{"type": "discount_code", "code": code, "value": "10.0"}],
    }).encode()  # fmt: skip


# -- the client (second process) --------------------------------------------------------------------


async def _fire(port: int, orders: int, replays: int, concurrency: int) -> dict[str, Any]:
    jobs = [(i, f"evt-{i}") for i in range(orders)] + [(i, f"evt-{i}") for i in range(replays)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    url = f"http://127.0.0.1:{port}/webhooks/shopify"

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i, event_id = queue.get_nowait()
            body = body_for(i)
            headers = {"X-Shopify-Hmac-Sha256": sign(body, SECRET), "X-Shopify-Topic": "orders/paid",
                       "X-Shopify-Event-Id": event_id, "Content-Type": "application/json"}  # fmt: skip
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(jobs),
        "wall": wall,
        "statuses": statuses,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def _client_process(port: int, orders: int, replays: int, concurrency: int, out: Any) -> None:
    out.put(asyncio.run(_fire(port, orders, replays, concurrency)))


def fire_from_second_process(port: int, orders: int, replays: int, concurrency: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_client_process, args=(port, orders, replays, concurrency, out))
    proc.start()
    result: dict[str, Any] = out.get()
    proc.join()
    return result


# -- the servers ------------------------------------------------------------------------------------


async def run_collective(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    db = await Database.open(folder / "collective.db")
    await db.migrate()
    now = datetime.now(UTC)
    await ensure_guild(db, GUILD, ProgramDefaults(), now)
    for user_id, code in enumerate(CODES, start=1):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
                " VALUES (?, ?, ?, 'active', ?, ?)",
                (GUILD, user_id, code, to_db(now), to_db(now)),
            )
            await codes.set_vanity_code(tx, GUILD, user_id, code, now)
    server = WebhookServer(db, WebhookSettings(shopify_secret=SecretStr(SECRET)), SystemClock())
    await server.start(host="127.0.0.1", port=0)
    assert server.port is not None
    try:
        result = await asyncio.to_thread(
            fire_from_second_process, server.port, args.orders, args.replays, args.concurrency
        )
    finally:
        await server.stop()
    attributed = sum(1 for i in range(args.orders) if i % 3)
    result["stored_orders"] = await db.fetchval("SELECT COUNT(*) FROM shop_orders")
    result["sales"] = await db.fetchval("SELECT COUNT(*) FROM sales")
    result["points_rows"] = await db.fetchval("SELECT COUNT(*) FROM points_ledger")
    result["lost"] = args.orders - result["stored_orders"] + attributed - result["sales"]
    result["doubled"] = max(result["sales"] - attributed, 0) + max(result["points_rows"] - attributed, 0)
    await db.close()
    return result


async def run_bare(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    conn = sqlite3.connect(folder / "bare.db", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE deliveries (event_id TEXT PRIMARY KEY, body BLOB NOT NULL)")

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        json.loads(body)
        conn.execute(
            "INSERT OR IGNORE INTO deliveries VALUES (?, ?)", (request.headers.get("X-Shopify-Event-Id"), body)
        )
        return web.Response(text="ok")

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/webhooks/shopify", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        result = await asyncio.to_thread(fire_from_second_process, port, args.orders, args.replays, args.concurrency)
    finally:
        await runner.cleanup()
    result["stored_orders"] = conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
    conn.close()
    return result


def show(name: str, result: dict[str, Any]) -> None:
    rate = result["requests"] / result["wall"]
    print(
        f"| {name} | {result['requests']} | {rate:,.0f} req/s | {result['p50_ms']:.1f} ms | {result['p99_ms']:.1f} ms"
        f" | {result['statuses']} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--replays", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder:
        ours = await run_collective(Path(folder), args)
        bare = await run_bare(Path(folder), args)
    print(f"{args.orders} orders + {args.replays} replays, {args.concurrency} concurrent, client in a 2nd process")
    print("| server | requests | throughput | p50 | p99 | statuses |")
    print("|---|---|---|---|---|---|")
    show("Collective WebhookServer", ours)
    show("bare aiohttp + SQLite", bare)
    print(f"Collective: stored {ours['stored_orders']} orders, {ours['sales']} sales, lost {ours['lost']}, "
          f"doubled {ours['doubled']}")  # fmt: skip
    if ours["lost"] or ours["doubled"] or set(ours["statuses"]) != {200}:
        raise SystemExit("FAILED: orders lost, doubled or refused")


if __name__ == "__main__":
    asyncio.run(main())
