"""Benchmark: a burst of signed Shopify webhooks over loopback, fired from a second process.

    python -m bench.bench_webhooks [--orders 5000] [--concurrency 50] [--replays 500] [--rate 200 --rated 2000]
    python -m bench.bench_webhooks --quick      # small sizes: checks that it works
    python -m bench.bench_webhooks --engine postgresql   # PostgreSQL beside SQLite, same run

``--engine postgresql`` starts a throwaway PostgreSQL server (bench/postgres.py) and runs each mode against
Collective on it too, beside Collective on SQLite and the bare handler in the same run; its figures are PostgreSQL's,
each printed beside the bare handler and beside SQLite's same-run figure, with the writer's transactions and
statements per delivery (what a PostgreSQL delivery waits on).

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
import contextlib
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

from bench.postgres import ENGINES, LABEL, RoundTrips, new_database, round_trip_us, throwaway_cluster
from bench.report import Figure, emit
from bot.clock import SystemClock, to_db
from bot.config import ProgramDefaults, WebhookSettings
from bot.db import Database
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales import codes
from bot.storage.sqlite_engine import SqliteDatabase
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


async def run_collective(target: Path | str, load: Load, trips: RoundTrips | None = None) -> dict[str, Any]:
    """Collective's WebhookServer over a fresh database: a SQLite file's path or an empty PostgreSQL database's DSN.

    ``trips`` counts the writer's transactions (and, on PostgreSQL, its statements) while the load runs.
    """
    db = await Database.open(target)
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
        with trips or contextlib.nullcontext():
            result = await asyncio.to_thread(fire_from_second_process, server.port, load)
    finally:
        await server.stop()
    result["trips"] = trips
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


@dataclass
class EngineRuns:
    """One engine's two runs (max throughput, fixed rate), measured in the same process run as the baseline's."""

    burst: dict[str, Any]
    steady: dict[str, Any]


async def measure(engines: list[str], burst: Load, steady: Load) -> tuple[dict[str, EngineRuns], EngineRuns]:
    """Each mode's runs back to back — Collective on each engine, then the bare handler (the order the SQLite-only
    scenario always had) — on fresh databases."""
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder, contextlib.ExitStack() as stack:
        cluster = stack.enter_context(throwaway_cluster()) if "postgresql" in engines else None
        runs: dict[str, dict[str, dict[str, Any]]] = {engine: {} for engine in engines}
        bare: dict[str, dict[str, Any]] = {}
        if cluster is not None:
            print(f"PostgreSQL: SELECT 1 round trip, median of 500 on an idle connection: "
                  f"{await round_trip_us(cluster.dsn):.0f} µs")  # fmt: skip
        for mode, load in (("burst", burst), ("steady", steady)):
            for engine in engines:
                if engine == "postgresql":
                    assert cluster is not None
                    target: Path | str = await new_database(cluster, f"webhooks_{mode}")
                    trips = RoundTrips(statements_too=mode == "steady")
                else:  # the writer's transactions only (one clock read per batch): SQLite's cost per delivery
                    target, trips = Path(folder) / f"collective-{mode}.db", RoundTrips(SqliteDatabase)
                runs[engine][mode] = await run_collective(target, load, trips)
            bare[mode] = await run_bare(Path(folder), load)
    return ({engine: EngineRuns(r["burst"], r["steady"]) for engine, r in runs.items()},
            EngineRuns(bare["burst"], bare["steady"]))  # fmt: skip


def where_time_goes(name: str, result: dict[str, Any]) -> None:
    """The writer's transactions (and, on PostgreSQL, its statements when counted) per delivery."""
    trips: RoundTrips | None = result.get("trips")
    if trips is None or not trips.batches or trips.batch_seconds == 0:
        return
    deliveries = result["requests"]
    line = (f"{name}: {trips.batches} writer transactions ({deliveries / trips.batches:.1f} deliveries each), the"
            f" writer held {trips.batch_seconds / deliveries * 1000:.2f} ms per delivery"
            f" ({trips.batch_seconds / result['wall']:.0%} of the wall time)")  # fmt: skip
    if trips.statements:
        line += (f"; {trips.statements / deliveries:.1f} statements per delivery (BEGIN/COMMIT not counted),"
                 f" {trips.statement_seconds / trips.statements * 1e6:.0f} µs awaited each")  # fmt: skip
    print(line)


def emit_sqlite(args: argparse.Namespace, ours: EngineRuns, bare: EngineRuns) -> None:
    throughput, base_throughput = rate_of(ours.burst), rate_of(bare.burst)
    emit(Figure("order webhooks", f"max throughput, {args.concurrency} in flight", throughput, "req/s",
                base_throughput, "bare aiohttp handler: HMAC + one SQLite insert", ">= 50% of the baseline",
                throughput >= base_throughput / 2))  # fmt: skip
    emit(Figure("order webhooks", "p99 latency at max throughput", ours.burst["p99_ms"], "ms", bare.burst["p99_ms"],
                "bare aiohttp handler"))  # fmt: skip
    emit(Figure("order webhooks", f"p50 latency at {args.rate:g} req/s", ours.steady["p50_ms"], "ms",
                bare.steady["p50_ms"], "bare aiohttp handler"))  # fmt: skip
    emit(Figure("order webhooks", f"p99 latency at {args.rate:g} req/s", ours.steady["p99_ms"], "ms",
                bare.steady["p99_ms"], "bare aiohttp handler", "< 100 ms", ours.steady["p99_ms"] < 100))  # fmt: skip


def emit_postgres(args: argparse.Namespace, pg: EngineRuns, lite: EngineRuns, bare: EngineRuns) -> None:
    """Each PostgreSQL figure twice: beside the bare handler (as SQLite's is) and beside SQLite in the same run."""
    scenario, on_sqlite = "order webhooks (PostgreSQL)", "Collective on SQLite (same run)"
    throughput = rate_of(pg.burst)
    emit(Figure(scenario, f"max throughput, {args.concurrency} in flight", throughput, "req/s", rate_of(bare.burst),
                "bare aiohttp handler: HMAC + one SQLite insert", ">= 50% of the baseline",
                throughput >= rate_of(bare.burst) / 2))  # fmt: skip
    emit(Figure(scenario, f"max throughput, {args.concurrency} in flight", throughput, "req/s", rate_of(lite.burst),
                on_sqlite))  # fmt: skip
    for mode, run_pg, run_lite, run_bare_ in (
        ("at max throughput", pg.burst, lite.burst, bare.burst),
        (f"at {args.rate:g} req/s", pg.steady, lite.steady, bare.steady),
    ):
        for pct in ("p50", "p99"):
            if pct == "p50" and run_pg is pg.burst:
                continue  # as for SQLite: p99 only at max throughput
            what = f"{pct} latency {mode}"
            target = "< 100 ms" if pct == "p99" and run_pg is pg.steady else ""
            met = run_pg["p99_ms"] < 100 if target else None
            emit(Figure(scenario, what, run_pg[f"{pct}_ms"], "ms", run_bare_[f"{pct}_ms"], "bare aiohttp handler",
                        target, met))  # fmt: skip
            emit(Figure(scenario, what, run_pg[f"{pct}_ms"], "ms", run_lite[f"{pct}_ms"], on_sqlite))


def rate_of(result: dict[str, Any]) -> float:
    return float(result["requests"] / result["wall"])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--replays", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries per second in the fixed-rate mode")
    parser.add_argument("--rated", type=int, default=2000, help="deliveries sent in the fixed-rate mode")
    parser.add_argument(
        "--engine", choices=ENGINES, default="sqlite",
        help="postgresql: Collective on a throwaway PostgreSQL server, beside SQLite and the baseline in this run",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it works")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.replays, args.rated = 300, 30, 100
    engines = ["sqlite"] if args.engine == "sqlite" else ["sqlite", "postgresql"]
    burst = Load(args.orders, args.replays, args.concurrency)
    steady = Load(args.rated, 0, args.concurrency, args.rate)
    ours, bare = await measure(engines, burst, steady)
    print(f"max throughput: {args.orders} orders + {args.replays} replays, {args.concurrency} concurrent,"
          " client in a 2nd process")  # fmt: skip
    print("| server | requests | throughput | p50 | p99 | statuses |\n|---|---|---|---|---|---|")
    for engine in engines:
        show(f"Collective WebhookServer on {LABEL[engine]}", ours[engine].burst)
    show("bare aiohttp + SQLite", bare.burst)
    print(f"fixed rate: {args.rated} orders at {args.rate:g}/s")
    print("| server | requests | achieved rate | p50 | p99 | statuses |\n|---|---|---|---|---|---|")
    for engine in engines:
        show(f"Collective WebhookServer on {LABEL[engine]}", ours[engine].steady)
    show("bare aiohttp + SQLite", bare.steady)
    problems: list[str] = []
    for engine in engines:
        problems += check(f"{LABEL[engine]}, max throughput", ours[engine].burst)
        problems += check(f"{LABEL[engine]}, fixed rate", ours[engine].steady)
    for engine in engines:
        where_time_goes(f"{LABEL[engine]}, max throughput", ours[engine].burst)
        where_time_goes(f"{LABEL[engine]}, fixed rate", ours[engine].steady)
    if "postgresql" in ours:
        emit_postgres(args, ours["postgresql"], ours["sqlite"], bare)
    else:
        emit_sqlite(args, ours["sqlite"], bare)
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    asyncio.run(main())
