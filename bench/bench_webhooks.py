"""Benchmark: a burst of signed Shopify webhooks over loopback, fired from a second process.

    python -m bench.bench_webhooks [--orders 5000] [--concurrency 50] [--replays 500] [--rate 200 --rated 2000]
    python -m bench.bench_webhooks --quick      # small sizes: checks that it works

Two modes, each run against Collective's WebhookServer (HMAC check, parse, one transaction per delivery
with dedupe, ledger and points) and against a bare aiohttp + SQLite handler (read the body, one INSERT OR
IGNORE, commit) measured in the same run as the baseline, each on a fresh database:
- max throughput: ``--orders`` deliveries plus ``--replays`` repeats, ``--concurrency`` in flight at once;
- fixed rate: ``--rated`` deliveries sent open-loop at ``--rate`` per second (each on its schedule, however
  slow the answers), the load a busy shop really sends; p50/p99 latency is the figure there.
The client is a separate process so the server's event loop is not sharing a CPU budget with the load
generator. After each Collective run the database is checked: every order stored once (zero lost), every
attributed sale once and each replay changed nothing (zero doubled); any of those exits non-zero.
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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bench.report import Figure, emit
from bot.clock import SystemClock, to_db
from bot.config import ProgramDefaults, WebhookSettings
from bot.db import Database
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales import codes
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


@dataclass(frozen=True)
class Load:
    orders: int
    replays: int
    concurrency: int
    rate: float | None = None  # None: as fast as the server answers


async def _fire(port: int, orders: int, replays: int, concurrency: int, rate: float | None) -> dict[str, Any]:
    jobs = [(i, f"evt-{i}") for i in range(orders)] + [(i, f"evt-{i}") for i in range(replays)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    url = f"http://127.0.0.1:{port}/webhooks/shopify"

    async def deliver(session: aiohttp.ClientSession, i: int, event_id: str) -> None:
        body = body_for(i)
        headers = {"X-Shopify-Hmac-Sha256": sign(body, SECRET), "X-Shopify-Topic": "orders/paid",
                   "X-Shopify-Event-Id": event_id, "Content-Type": "application/json"}  # fmt: skip
        started = time.perf_counter()
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
        latencies.append(time.perf_counter() - started)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            await deliver(session, *queue.get_nowait())

    async def on_schedule(session: aiohttp.ClientSession, n: int, i: int, event_id: str) -> None:
        assert rate is not None
        await asyncio.sleep(max(0.0, first + n / rate - time.perf_counter()))
        await deliver(session, i, event_id)

    started = time.perf_counter()
    first = started + 0.05
    # At a fixed rate every delivery gets its own connection slot: a slow answer must not delay the next send.
    limit = concurrency if rate is None else 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as session:
        if rate is None:
            await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        else:
            await asyncio.gather(*(on_schedule(session, n, i, e) for n, (i, e) in enumerate(jobs)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(jobs),
        "wall": wall,
        "statuses": statuses,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def _client_process(port: int, load: Load, out: Any) -> None:
    out.put(asyncio.run(_fire(port, load.orders, load.replays, load.concurrency, load.rate)))


def fire_from_second_process(port: int, load: Load) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_client_process, args=(port, load, out))
    proc.start()
    result: dict[str, Any] = out.get()
    proc.join()
    return result


# -- the servers ------------------------------------------------------------------------------------


async def run_collective(folder: Path, load: Load) -> dict[str, Any]:
    db = await Database.open(folder / f"collective-{load.rate or 'max'}.db")
    await db.migrate()
    now = datetime.now(UTC)
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), now)
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
        result = await asyncio.to_thread(fire_from_second_process, server.port, load)
    finally:
        await server.stop()
    attributed = sum(1 for i in range(load.orders) if i % 3)
    result["stored_orders"] = await db.fetchval("SELECT COUNT(*) FROM shop_orders")
    result["sales"] = await db.fetchval("SELECT COUNT(*) FROM sales")
    result["points_rows"] = await db.fetchval("SELECT COUNT(*) FROM points_ledger")
    result["lost"] = load.orders - result["stored_orders"] + attributed - result["sales"]
    result["doubled"] = max(result["sales"] - attributed, 0) + max(result["points_rows"] - attributed, 0)
    await db.close()
    return result


async def run_bare(folder: Path, load: Load) -> dict[str, Any]:
    conn = sqlite3.connect(folder / f"bare-{load.rate or 'max'}.db", isolation_level=None, check_same_thread=False)
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
        result = await asyncio.to_thread(fire_from_second_process, port, load)
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


def check(name: str, result: dict[str, Any]) -> list[str]:
    print(f"{name}: stored {result['stored_orders']} orders, {result['sales']} sales, lost {result['lost']}, "
          f"doubled {result['doubled']}")  # fmt: skip
    if result["lost"] or result["doubled"] or set(result["statuses"]) != {200}:
        return [f"{name}: orders lost, doubled or refused"]
    return []


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--replays", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries per second in the fixed-rate mode")
    parser.add_argument("--rated", type=int, default=2000, help="deliveries sent in the fixed-rate mode")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it works")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.replays, args.rated = 300, 30, 100
    burst = Load(args.orders, args.replays, args.concurrency)
    steady = Load(args.rated, 0, args.concurrency, args.rate)
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder:
        ours = await run_collective(Path(folder), burst)
        bare = await run_bare(Path(folder), burst)
        ours_steady = await run_collective(Path(folder), steady)
        bare_steady = await run_bare(Path(folder), steady)
    print(f"max throughput: {args.orders} orders + {args.replays} replays, {args.concurrency} concurrent,"
          " client in a 2nd process")  # fmt: skip
    print("| server | requests | throughput | p50 | p99 | statuses |\n|---|---|---|---|---|---|")
    show("Collective WebhookServer", ours)
    show("bare aiohttp + SQLite", bare)
    print(f"fixed rate: {args.rated} orders at {args.rate:g}/s")
    print("| server | requests | achieved rate | p50 | p99 | statuses |\n|---|---|---|---|---|---|")
    show("Collective WebhookServer", ours_steady)
    show("bare aiohttp + SQLite", bare_steady)
    problems = check("max throughput", ours) + check("fixed rate", ours_steady)
    throughput, base_throughput = ours["requests"] / ours["wall"], bare["requests"] / bare["wall"]
    emit(Figure("order webhooks", f"max throughput, {args.concurrency} in flight", throughput, "req/s",
                base_throughput, "bare aiohttp handler: HMAC + one SQLite insert", ">= 50% of the baseline",
                throughput >= base_throughput / 2))  # fmt: skip
    emit(Figure("order webhooks", "p99 latency at max throughput", ours["p99_ms"], "ms", bare["p99_ms"],
                "bare aiohttp handler"))  # fmt: skip
    emit(Figure("order webhooks", f"p50 latency at {args.rate:g} req/s", ours_steady["p50_ms"], "ms",
                bare_steady["p50_ms"], "bare aiohttp handler"))  # fmt: skip
    emit(Figure("order webhooks", f"p99 latency at {args.rate:g} req/s", ours_steady["p99_ms"], "ms",
                bare_steady["p99_ms"], "bare aiohttp handler", "< 100 ms", ours_steady["p99_ms"] < 100))  # fmt: skip
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    asyncio.run(main())
