"""The webhook tier (``python -m bot webhooks``: the webhook server alone, no gateway) beside the shard processes,
on PostgreSQL. Two tiers behind a load balancer take a burst of orders for servers on both shards, and one tier is
SIGKILLed in the middle: every order is counted once. Each sale's follow-up is delivered by the process owning its
server's shard — woken at once by NOTIFY (an idle outbox otherwise sleeps a minute) — and never by another: with
only shard 0's process running, shard 1's follow-ups wait until their own process starts.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales.ledger import SALE_RECORDED
from emulator import Emulator
from tests.fixtures.commerce.sales_world import add_ambassador
from tests.reliability.bot_process import BotProcess, until
from tests.reliability.consistency import assert_consistent
from tests.reliability.fleet import AT_ONCE, shard_args, stop_all
from tests.reliability.store_reader import StoreReader
from tests.reliability.webhook_burst import FIRST_ORDER_ID, Shop, deliveries, send_each

SHARDS = 2
ORDERS = 150  # per server
KILL_AFTER = 60  # sales recorded (of both servers) before one tier is killed
SENDERS = 16
TIER_UP = "webhook tier on"


async def seed(dsn: str, holders: dict[int, int], now: datetime) -> dict[int, str]:
    """Each server (id → its ambassador's user id) with a program and one code; returns server → code."""
    codes = {}
    async with await Database.open(dsn) as db:
        for n, (guild_id, user_id) in enumerate(holders.items()):
            await db.perform(ensure_guild, guild_id, ProgramDefaults(), now - timedelta(days=1))
            code = await add_ambassador(db, user_id, f"ambassador{n}", now, code=f"GLOW{n}", guild_id=guild_id)
            codes[guild_id] = code.code
    return codes


@pytest.mark.timeout(120)
async def test_the_webhook_tier_survives_a_kill_and_each_shard_follows_up_its_own_sales(
    emu: Emulator, tmp_path: Path, shared_database: str
) -> None:
    now = datetime.now(UTC)
    guilds = emu.create_guilds(SHARDS)
    shard = {g.id: emu.shard_of(g.id, SHARDS) for g in guilds}
    assert sorted(shard.values()) == list(range(SHARDS)), "one server on each shard"
    codes = await seed(shared_database, {g.id: g.owner_id for g in guilds}, now)
    tiers = [
        BotProcess(emu, tmp_path, webhooks=True, database=shared_database, name=f"tier{n}", command="webhooks")
        for n in range(2)
    ]
    owners = [
        BotProcess(emu, tmp_path, database=shared_database, name=f"shard{s}", args=shard_args(s, SHARDS))
        for s in range(SHARDS)
    ]
    ports = [tier.webhook_port for tier in tiers if tier.webhook_port is not None]
    per_guild = [
        [(Shop(*ports, guild_id=g.id), event, body) for event, body in deliveries([codes[g.id]], now, ORDERS, first)]
        for g, first in zip(guilds, (FIRST_ORDER_ID, FIRST_ORDER_ID + ORDERS), strict=True)
    ]
    items = [item for pair in zip(*per_guild, strict=True) for item in pair]  # the servers' orders interleaved
    first, second = (g.id for g in sorted(guilds, key=lambda g: shard[g.id]))
    try:
        await owners[0].start()
        for tier in tiers:
            await tier.start(wait=False)
        for tier in tiers:
            await tier.wait_logged(TIER_UP, f"{tier.name} to listen")
        async with StoreReader(shared_database) as store:

            async def sales_at_least(n: int) -> bool:
                return await store.count("SELECT COUNT(*) FROM sales") >= n

            burst = asyncio.ensure_future(send_each(items, SENDERS))
            try:
                await until(lambda: sales_at_least(KILL_AFTER), "the first sales of the burst")
                tiers[0].kill()
                await tiers[0].wait_dead()
                at_kill = await store.count("SELECT COUNT(*) FROM sales")
                assert at_kill < 2 * ORDERS, f"the kill did not land mid-burst ({at_kill} of {2 * ORDERS})"
                await asyncio.wait_for(burst, 60)
            finally:
                burst.cancel()

            per_server = """SELECT guild_id, COUNT(*), COUNT(DISTINCT order_id) FROM sales WHERE kind = 'sale'
                            GROUP BY guild_id"""
            assert sorted(await store.query(per_server)) == sorted((g.id, ORDERS, ORDERS) for g in guilds)
            await assert_consistent(store)

            follow_ups = "SELECT guild_id, status, COUNT(*) FROM outbox WHERE topic = ? GROUP BY guild_id, status"

            async def first_server_followed_up() -> bool:
                counts = await store.query(follow_ups, (SALE_RECORDED,))
                return (first, "done", ORDERS) in counts

            # Shard 0's process was idle before the burst: only a wake from another process's commit brings it.
            await until(first_server_followed_up, "shard 0's process to follow up its server's sales", limit=AT_ONCE)
            assert (second, "pending", ORDERS) in await store.query(follow_ups, (SALE_RECORDED,))

            await owners[1].start()

            async def all_followed_up() -> bool:
                counts = sorted(await store.query(follow_ups, (SALE_RECORDED,)))
                return counts == sorted([(first, "done", ORDERS), (second, "done", ORDERS)])

            await until(all_followed_up, "shard 1's process to follow up its server's sales", limit=AT_ONCE)
        for bot in [tiers[1], *owners]:
            assert bot.running, bot.log_tail()
            assert not bot.tracebacks(), (bot.name, bot.tracebacks())
    finally:
        await stop_all(*tiers, *owners)
