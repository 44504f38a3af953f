"""SIGKILL the bot in the middle of a burst of Shopify webhooks that are retried as Shopify retries them: the
same delivery is sent again until it gets a 2xx (a refused connection or a 5xx counts as a failure). After the
restart every order is counted exactly once: one sale row, one points row, and read models equal to SUMs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.program.guild_settings import ensure_guild
from bot.webhooks import sign
from emulator import Emulator
from tests.e2e.conftest import World
from tests.fixtures.commerce.sales_world import add_ambassador, encode, shopify_order
from tests.reliability.bot_process import SECRET, BotProcess, assert_consistent, query, scalar, until

ORDERS = 600
KILL_AFTER = 60  # sales recorded before the kill: well inside the burst
SENDERS = 16


async def seed(db_path: Path, world: World, now: datetime) -> list[str]:
    async with await Database.open(db_path) as db:
        await db.migrate()
        await db.perform(ensure_guild, world.guild.id, ProgramDefaults(), now - timedelta(days=1))
        alice = await add_ambassador(db, world.alice.id, "alice", now, code="ALICE10", guild_id=world.guild.id)
        bob = await add_ambassador(db, world.bob.id, "bob", now, code="BOB10", guild_id=world.guild.id)
    return [alice.code, bob.code]


def deliveries(codes: list[str], now: datetime) -> list[tuple[str, bytes]]:
    """(event id, body): one orders/paid per order, and every tenth order delivered again as a new event."""
    out = []
    for n in range(ORDERS):
        body = encode(shopify_order(codes[n % 2], order_id=7_000_000_000_000 + n, when=now.isoformat()))
        out.append((f"evt-{n}", body))
        if n % 10 == 0:
            out.append((f"evt-{n}-again", body))
    return out


class Shop:
    """Sends each delivery until it gets a 2xx, like Shopify (with a short back-off instead of hours)."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/webhooks/shopify"
        self.failures = 0

    async def deliver(self, session: aiohttp.ClientSession, event_id: str, body: bytes) -> None:
        headers = {
            "X-Shopify-Hmac-Sha256": sign(body, SECRET),
            "X-Shopify-Topic": "orders/paid",
            "X-Shopify-Event-Id": event_id,
            "Content-Type": "application/json",
        }
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            try:
                async with session.post(self.url, data=body, headers=headers) as response:
                    if 200 <= response.status < 300:
                        return
                    assert response.status >= 500, f"{event_id}: {response.status} {await response.text()}"
            except (aiohttp.ClientError, ConnectionError):
                pass
            self.failures += 1
            assert loop.time() < deadline, f"{event_id} was never accepted"
            await asyncio.sleep(0.05)


@pytest.mark.timeout(90)
async def test_a_killed_bot_counts_every_retried_webhook_once(emu: Emulator, world: World, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    codes = await seed(tmp_path / "collective.db", world, now)
    bot = BotProcess(emu, tmp_path, webhooks=True)
    assert bot.webhook_port is not None
    shop = Shop(bot.webhook_port)
    await bot.start()
    try:
        queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        for item in deliveries(codes, now):
            queue.put_nowait(item)

        async def sender(session: aiohttp.ClientSession) -> None:
            while not queue.empty():
                event_id, body = queue.get_nowait()
                await shop.deliver(session, event_id, body)

        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            burst = asyncio.gather(*(sender(session) for _ in range(SENDERS)))
            try:
                await until(
                    lambda: int(scalar(bot.db_path, "SELECT COUNT(*) FROM sales") or 0) >= KILL_AFTER,
                    "the first sales of the burst",
                )
                bot.kill()
                await bot.wait_dead()
                at_kill = int(scalar(bot.db_path, "SELECT COUNT(*) FROM sales") or 0)
                assert KILL_AFTER <= at_kill < ORDERS, f"the kill did not land mid-burst ({at_kill} of {ORDERS})"
                await bot.start()  # meanwhile the shop keeps retrying into a refused connection
                await asyncio.wait_for(burst, 60)
            finally:
                burst.cancel()
        assert shop.failures > 0  # some deliveries really were cut off and sent again

        db = bot.db_path
        assert query(db, "SELECT COUNT(*), COUNT(DISTINCT order_id) FROM sales WHERE kind = 'sale'") == [
            (ORDERS, ORDERS)
        ]
        assert query(db, "SELECT COUNT(*), SUM(counted) FROM shop_orders") == [(ORDERS, ORDERS)]
        assert query(db, "SELECT COUNT(*), COUNT(DISTINCT reference) FROM points_ledger WHERE reason = 'sale'") == [
            (ORDERS, ORDERS)
        ]
        per_member = dict(query(db, "SELECT user_id, orders FROM sales_totals"))
        assert per_member == {world.alice.id: ORDERS // 2, world.bob.id: ORDERS // 2}
        assert_consistent(db)
        assert bot.running, bot.log_tail()
    finally:
        await bot.stop()
