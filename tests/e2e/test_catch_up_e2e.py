"""No sale lost to downtime: the real bot in the emulator, connected to the fake Shopify. While the bot is down the
shop's webhook deliveries fail; when it starts again, the start-up catch-up reads those orders back — each once,
beside the ones the webhooks did bring — and Shopify's later retries change nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from pydantic import SecretStr

from bot.clock import FixedClock, from_db
from bot.config import Settings, ShopifyConnection, WebhookSettings
from bot.db import Database
from emulator.shop import FakeShopify
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_codes_e2e import free_port, make_ambassador

TOKEN = "shpat_e2e_catch_up"
DOMAIN = "glow-skincare.myshopify.com"
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
async def shop() -> AsyncIterator[FakeShopify]:
    # The shop's own clock is the real one, so its cost bucket refills as the bot's client waits; orders are placed
    # at explicit times on the bot's (fixed) clock.
    fake = FakeShopify(token=TOKEN, domain=DOMAIN)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def shop_runner(runner: BotRunner, world: World, shop: FakeShopify, monkeypatch: pytest.MonkeyPatch) -> BotRunner:
    """The ordinary runner with its webhook server on and the guild's shop configured (the fake one)."""
    plain = runner.settings
    port = free_port()

    def settings() -> Settings:
        hooks = WebhookSettings(enabled=True, host="127.0.0.1", port=port, shopify_secret=SecretStr(shop.client_secret))
        store = ShopifyConnection(shop_domain=DOMAIN, access_token=SecretStr(TOKEN), admin_url=shop.url)
        return plain().model_copy(update={"webhooks": hooks, "shops": {world.guild.id: store}})

    monkeypatch.setattr(runner, "settings", settings)
    return runner


async def caught_up(db: Database, guild_id: int, at: datetime) -> None:
    """Wait until a catch-up run started at ``at`` has finished (the runs are background tasks)."""
    for _ in range(200):
        value = await db.fetchval("SELECT caught_up_at FROM shop_connections WHERE guild_id = ?", (guild_id,))
        if value is not None and from_db(value) >= at:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the catch-up did not finish")


async def ledger(db: Database) -> tuple[int, int, int, int]:
    row = await db.fetchone(
        """SELECT (SELECT COUNT(*) FROM sales WHERE kind = 'sale'), (SELECT COUNT(*) FROM sales WHERE kind = 'refund'),
                  (SELECT COUNT(*) FROM shop_orders), (SELECT COUNT(*) FROM points_ledger)"""
    )
    assert row is not None
    return (row[0], row[1], row[2], row[3])


async def test_orders_placed_while_the_bot_was_down_are_caught_up_at_start_once(
    shop_runner: BotRunner, world: World, shop: FakeShopify, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    shop_runner.clock = FixedClock(START)
    bot = await shop_runner.start()
    guild_id = world.guild.id
    await caught_up(bot.db, guild_id, START)  # a new shop: the 60-day backfill ran at start (nothing yet)
    assert any("backfill" in r.getMessage() and str(guild_id) in r.getMessage() for r in caplog.records)
    code = await make_ambassador(bot, guild_id, world.alice.id, "alice")
    shop.add_discount(code, percentage=0.1)
    connector = bot.shops.get(guild_id)
    assert connector is not None and bot.webhook_server is not None
    await connector.ensure_webhooks(f"http://127.0.0.1:{bot.webhook_server.port}/webhooks/shopify/{guild_id}")

    webhooked = await shop.place_order(code=code.lower(), total="90.00", at=START + timedelta(minutes=1))
    assert {d.status for d in shop.deliveries} == {200}
    assert await ledger(bot.db) == (1, 0, 1, 1)

    await shop_runner.stop()  # the bot is down for three hours: every delivery fails
    missed = [
        await shop.place_order(code=code, total="45.00", at=START + timedelta(minutes=30)),
        await shop.place_order(code=code, total="18.00", at=START + timedelta(minutes=40)),
        await shop.place_order(total="12.00", at=START + timedelta(minutes=45)),  # no code: nobody's sale
    ]
    await shop.refund(webhooked, "30.00", at=START + timedelta(minutes=50))
    failed = [d for d in shop.deliveries if d.status is None]
    assert len(failed) == 7  # orders/create and orders/paid for each order, refunds/create for the refund

    later = START + timedelta(hours=3)
    shop_runner.clock = FixedClock(later)
    bot = await shop_runner.start()
    await caught_up(bot.db, guild_id, later)

    assert await ledger(bot.db) == (3, 1, 4, 4)  # A by webhook; B, C and A's refund by the catch-up; each once
    rows = await bot.db.fetchall("SELECT order_id, user_id FROM sales WHERE kind = 'sale' ORDER BY order_id")
    assert [r["order_id"] for r in rows] == [str(o.id) for o in (webhooked, *missed[:2])]
    assert {r["user_id"] for r in rows} == {world.alice.id}

    # Shopify retries the failed deliveries now that the bot listens again: all duplicates.
    async with aiohttp.ClientSession() as session:
        for delivery in failed:
            async with session.post(delivery.url, data=delivery.body, headers=delivery.headers) as response:
                assert response.status == 200
    assert await ledger(bot.db) == (3, 1, 4, 4)
