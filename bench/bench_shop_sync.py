"""Benchmark: ``/shop sync`` of 1,000 ambassador codes into a store with a standard plan's throttle.

    python -m bench.bench_shop_sync [--codes 1000]
    python -m bench.bench_shop_sync --quick    # 40 codes: checks that it works

A fresh database holds a running program's codes (a shop connected to a program that already runs); the fake
Shopify runs on the wall clock with Shopify's standard-plan bucket (2,000 points, refilling 100 a second). The sync
looks each code up and creates it; every throttled answer is waited out, never surfaced. The baseline, in the same
run, is the minimum that throttle allows for the cost the store actually charged: (total cost − the full bucket) ÷
restore rate. Then the sync runs again, which must change nothing. Exits non-zero when a code is refused, missing,
doubled, or the second sync changes anything.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from bench.report import Figure, emit
from bot.clock import SystemClock, to_db
from bot.config import ProgramDefaults, ShopifyConnection
from bot.db import Database
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales import codes
from bot.services.shop import connection
from bot.shop.code_push import CodePusher, sync_codes
from bot.shop.shopify import ShopifyClient
from bot.shop.shopify_connector import ShopifyConnector
from emulator.shop import FakeShopify
from emulator.shop.shopify import STANDARD_MAXIMUM, STANDARD_RESTORE_RATE

GUILD = 1
TOKEN = "shpat_bench"
DOMAIN = "bench.myshopify.com"


async def prepare(db: Database, count: int) -> None:
    now = datetime.now(UTC)
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), now)
    async with db.transaction() as tx:
        for user in range(1, count + 1):
            await tx.execute(
                """INSERT INTO members (guild_id, user_id, display_name, status, approved_at, status_changed_at,
                       created_at) VALUES (?, ?, ?, 'active', ?, ?, ?)""",
                (GUILD, user, f"amb{user}", to_db(now), to_db(now), to_db(now)),
            )
            await codes.set_vanity_code(tx, GUILD, user, f"AMB{user:05d}", now)
    # Connected afterwards: the codes were never pushed, as in a program that ran before its shop was connected.
    await db.perform(connection.record_connection, GUILD, "shopify", DOMAIN, now)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--codes", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true", help="40 codes, to check that it works")
    args = parser.parse_args()
    if args.quick:
        args.codes = 40
    shop = FakeShopify(token=TOKEN, domain=DOMAIN)  # the wall clock: the bucket refills in real time
    charged: list[float] = []
    throttled = 0
    real_run = shop.run

    def run(query: str, variables: dict[str, Any], operation: str | None = None) -> dict[str, Any]:
        nonlocal throttled
        answer = real_run(query, variables, operation)
        if any(e.get("extensions", {}).get("code") == "THROTTLED" for e in answer.get("errors") or []):
            throttled += 1
        elif answer.get("extensions"):
            charged.append(float(answer["extensions"]["cost"]["requestedQueryCost"]))
        return answer

    setattr(shop, "run", run)  # noqa: B010 — count what the store charges, in this process only
    await shop.start()
    try:
        with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder:
            db = await Database.open(Path(folder) / "collective.db")
            await db.migrate()
            await prepare(db, args.codes)
            async with aiohttp.ClientSession() as session:
                config = ShopifyConnection(shop_domain=DOMAIN, access_token=SecretStr(TOKEN), admin_url=shop.url)
                connector = ShopifyConnector(ShopifyClient(session, config))
                pusher = CodePusher(db, SystemClock())
                started = time.perf_counter()
                first = await sync_codes(pusher, db, connector, GUILD, datetime.now(UTC))
                took = time.perf_counter() - started
                cost = sum(charged)
                started = time.perf_counter()
                again = await sync_codes(pusher, db, connector, GUILD, datetime.now(UTC))
                again_took = time.perf_counter() - started
            live = await db.fetchval("SELECT COUNT(*) FROM shop_codes WHERE state = 'live'")
            await db.close()
    finally:
        await shop.stop()
    minimum = max(cost - STANDARD_MAXIMUM, 0) / STANDARD_RESTORE_RATE
    print(f"| first sync | {args.codes:,} codes | {took:.1f} s | store charged {cost:,.0f} points |"
          f" {throttled:,} throttled answers waited out | minimum the throttle allows {minimum:.1f} s |")  # fmt: skip
    print(f"| second sync | {again.checked:,} checked | {again_took:.1f} s | changed {again.changed or 'nothing'} |")
    emit(Figure("shop sync", f"/shop sync of {args.codes:,} codes, standard throttle", took, "s", minimum,
                "minimum the store's throttle allows for the same cost"))  # fmt: skip
    emit(Figure("shop sync", "second sync (everything matches)", again_took, "s", None, ""))
    created = (first.changed or {}).get("created", 0)
    held = sorted(shop.discounts)
    if (first.refused or first.unreachable or created != args.codes or len(held) != args.codes
            or live != args.codes or again.changed or again.refused):  # fmt: skip
        raise SystemExit(f"FAILED: created {created}, refused {first.refused}, unreachable {first.unreachable!r}, "
                         f"store holds {len(held)}, live {live}, second sync changed {again.changed}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
