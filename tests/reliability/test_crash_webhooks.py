"""SIGKILL the bot in the middle of a burst of Shopify webhooks that are retried as Shopify retries them: the
same delivery is sent again until it gets a 2xx (a refused connection or a 5xx counts as a failure). After the
restart every order is counted exactly once: one sale row, one points row, and read models equal to SUMs. On each
engine: a SQLite file, and a PostgreSQL database when a server is at hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emulator import Emulator
from tests.e2e.conftest import World
from tests.reliability.bot_process import BotProcess, until
from tests.reliability.store_reader import StoreReader
from tests.reliability.webhook_burst import Shop, assert_every_order_once, deliveries, seed, send_all

ORDERS = 600
KILL_AFTER = 60  # sales recorded before the kill: well inside the burst
SENDERS = 16


@pytest.mark.timeout(90)
async def test_a_killed_bot_counts_every_retried_webhook_once(
    emu: Emulator, world: World, tmp_path: Path, db_target: Path | str
) -> None:
    now = datetime.now(UTC)
    codes = await seed(db_target, world, now)
    bot = BotProcess(emu, tmp_path, webhooks=True, database=db_target)
    assert bot.webhook_port is not None
    shop = Shop(bot.webhook_port)
    await bot.start()
    try:
        async with StoreReader(db_target) as store:

            async def sales_at_least(n: int) -> bool:
                return await store.count("SELECT COUNT(*) FROM sales") >= n

            burst = asyncio.ensure_future(send_all(shop, deliveries(codes, now, ORDERS), SENDERS))
            try:
                await until(lambda: sales_at_least(KILL_AFTER), "the first sales of the burst")
                bot.kill()
                await bot.wait_dead()
                at_kill = await store.count("SELECT COUNT(*) FROM sales")
                assert KILL_AFTER <= at_kill < ORDERS, f"the kill did not land mid-burst ({at_kill} of {ORDERS})"
                await bot.start()  # meanwhile the shop keeps retrying into a refused connection
                await asyncio.wait_for(burst, 60)
            finally:
                burst.cancel()
            assert shop.failures > 0  # some deliveries really were cut off and sent again

            await assert_every_order_once(store, world, ORDERS)
        assert bot.running, bot.log_tail()
    finally:
        await bot.stop()
