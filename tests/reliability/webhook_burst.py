"""A burst of Shopify orders for the crash tests: the seeded program, the deliveries, and the shop that sends them
as Shopify does (the same delivery again until it gets a 2xx), through a load balancer when several processes
could answer."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.program.guild_settings import ensure_guild
from bot.webhooks import sign
from tests.e2e.conftest import World
from tests.fixtures.commerce.sales_world import add_ambassador, encode, shopify_order
from tests.reliability.bot_process import SECRET
from tests.reliability.consistency import assert_consistent
from tests.reliability.store_reader import StoreReader

FIRST_ORDER_ID = 7_000_000_000_000


async def seed(target: Path | str, world: World, now: datetime) -> list[str]:
    """The server's program and two ambassadors with their codes; returns the codes."""
    async with await Database.open(target) as db:
        await db.migrate()
        await db.perform(ensure_guild, world.guild.id, ProgramDefaults(), now - timedelta(days=1))
        alice = await add_ambassador(db, world.alice.id, "alice", now, code="ALICE10", guild_id=world.guild.id)
        bob = await add_ambassador(db, world.bob.id, "bob", now, code="BOB10", guild_id=world.guild.id)
    return [alice.code, bob.code]


def deliveries(codes: list[str], now: datetime, orders: int, first: int = FIRST_ORDER_ID) -> list[tuple[str, bytes]]:
    """(event id, body): one orders/paid per order, the codes in turn, and every tenth order delivered again as a
    new event. Order ids (and event ids) count from ``first``."""
    out = []
    for n in range(orders):
        order_id = first + n
        body = encode(shopify_order(codes[n % len(codes)], order_id=order_id, when=now.isoformat()))
        out.append((f"evt-{order_id}", body))
        if n % 10 == 0:
            out.append((f"evt-{order_id}-again", body))
    return out


class Shop:
    """Sends each delivery until it gets a 2xx, like Shopify (with a short back-off instead of hours).

    With several ports it is the shop behind a load balancer: a delivery goes to the port that last answered
    and, when that fails (refused, 5xx, cut off), to the next one in turn — the shop itself only ever retries.
    """

    def __init__(self, *ports: int, guild_id: int | None = None) -> None:
        assert ports, "at least one port"
        # With several servers on one database a delivery names its server, as the shop's webhook address does.
        path = "/webhooks/shopify" if guild_id is None else f"/webhooks/shopify/{guild_id}"
        self.urls = [f"http://127.0.0.1:{port}{path}" for port in ports]
        self.ports = ports
        self.failures = 0
        self.accepted: Counter[int] = Counter()  # port → deliveries it answered with a 2xx
        self._good = 0  # index of the port that last answered

    async def deliver(self, session: aiohttp.ClientSession, event_id: str, body: bytes) -> None:
        headers = {
            "X-Shopify-Hmac-Sha256": sign(body, SECRET),
            "X-Shopify-Topic": "orders/paid",
            "X-Shopify-Event-Id": event_id,
            "Content-Type": "application/json",
        }
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        first = turn = self._good
        while True:
            index = turn % len(self.urls)
            try:
                async with session.post(self.urls[index], data=body, headers=headers) as response:
                    if 200 <= response.status < 300:
                        self._good = index
                        self.accepted[self.ports[index]] += 1
                        return
                    assert response.status >= 500, f"{event_id}: {response.status} {await response.text()}"
            except (aiohttp.ClientError, ConnectionError):
                pass
            self.failures += 1
            assert loop.time() < deadline, f"{event_id} was never accepted"
            turn += 1
            # A pause only after every port failed once: the balancer tries the others at once, the shop backs off.
            if (turn - first) % len(self.urls) == 0:
                await asyncio.sleep(0.05)


async def send_all(shop: Shop, items: list[tuple[str, bytes]], senders: int) -> None:
    """Every delivery, by ``senders`` concurrent senders, each until accepted."""
    await send_each([(shop, event_id, body) for event_id, body in items], senders)


async def send_each(items: list[tuple[Shop, str, bytes]], senders: int) -> None:
    """Every delivery through its own shop (one per server), by ``senders`` concurrent senders."""
    queue: asyncio.Queue[tuple[Shop, str, bytes]] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def sender(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            shop, event_id, body = queue.get_nowait()
            await shop.deliver(session, event_id, body)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        await asyncio.gather(*(sender(session) for _ in range(senders)))


async def assert_every_order_once(store: StoreReader, world: World, orders: int) -> None:
    """After the burst: one sale, one shop order counted and one points entry per order — the resent deliveries
    and the repeated events included —, half the orders each ambassador's, and the read models equal to sums."""
    every_order_once = [(orders, orders)]
    sales = "SELECT COUNT(*), COUNT(DISTINCT order_id) FROM sales WHERE kind = 'sale'"
    assert await store.query(sales) == every_order_once
    assert await store.query("SELECT COUNT(*), SUM(counted) FROM shop_orders") == every_order_once
    points = "SELECT COUNT(*), COUNT(DISTINCT reference) FROM points_ledger WHERE reason = 'sale'"
    assert await store.query(points) == every_order_once
    per_member = dict(await store.query("SELECT user_id, orders FROM sales_totals"))
    assert per_member == {world.alice.id: orders // 2, world.bob.id: orders // 2}
    await assert_consistent(store)
