"""The brand's Shopify store in the demo: the fake Shopify beside the Discord emulator, connected to the bot as a
real store would be (``[shops.<server id>]`` and a public webhook address), so codes appear in it at approval, its
orders reach the bot by webhook, and the catch-up reads them again through the Admin API.

The last scene shows what happened in the store during the week, then an order placed in it, then chen leaving.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from pydantic import SecretStr

from bot.clock import FixedClock
from bot.config import ShopifyConnection, WebhookSettings
from bot.demo.stage import Demo
from bot.text import plural
from cogs.shop.catch_up import CatchUpCog
from emulator.shop import FakeShopify
from emulator.shop.clock import Clock

STORE_DOMAIN = "glow-skincare.myshopify.com"
STORE_TOKEN = "shpat_demo_admin_api_token"
# What the brand's app was given (README, Connecting your shop), draft orders for gifting campaigns and gift cards
# for store credit.
DEMO_SCOPES = ("write_discounts", "read_orders", "read_products", "write_draft_orders", "write_gift_cards")


class FollowingClock(Clock):
    """The store's clock follows the demo's scripted week (its rate limit still refills in real time)."""

    def __init__(self, clock: FixedClock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def brand_store(clock: FixedClock) -> AsyncIterator[FakeShopify]:
    # The scripted week runs in seconds, so its hourly catch-ups come seconds apart: the store gets a Plus plan's
    # rate limit (Shopify's own figures) so none of them waits out the standard plan's refill.
    store = FakeShopify(token=STORE_TOKEN, domain=STORE_DOMAIN, name="Glow Skincare", currency="EUR",
                        clock=FollowingClock(clock), maximum_available=20_000, restore_rate=1_000,
                        scopes=DEMO_SCOPES)  # fmt: skip
    await store.start()
    try:
        yield store
    finally:
        await store.stop()


def connection_for(store: FakeShopify) -> tuple[ShopifyConnection, WebhookSettings]:
    """What an operator's configuration says: the store's Admin API, and where the store delivers orders."""
    port = _free_port()
    shop = ShopifyConnection(shop_domain=STORE_DOMAIN, access_token=SecretStr(STORE_TOKEN), admin_url=store.url)
    hooks = WebhookSettings(enabled=True, host="127.0.0.1", port=port, shopify_secret=SecretStr(store.client_secret),
                            public_url=f"http://127.0.0.1:{port}")  # fmt: skip
    return shop, hooks


def _show_codes(demo: Demo, store: FakeShopify) -> None:
    for discount in sorted(store.discounts.values(), key=lambda d: d.created_at):
        value = (
            f"{round((discount.percentage or 0) * 100)}% off"
            if discount.percentage
            else f"{discount.amount} {store.currency} off"
        )
        once = ", once per customer" if discount.applies_once_per_customer else ""
        demo.print(f"   store: {discount.code:<14} {value}{once} — {discount.status_at(store.clock.now())}"
                   f" (created {discount.created_at:%a %H:%M})")  # fmt: skip


async def play(demo: Demo) -> None:
    store = demo.store
    assert store is not None, "the demo runs with the brand's store connected"
    demo.scene("Meanwhile, in the brand's Shopify store")
    demo.narrate("Collective created each ambassador's code in the store when they were approved")
    _show_codes(demo, store)
    hooks = sorted({w.topic for w in store.state.webhooks.values()})
    demo.narrate(f"and subscribed the store to {', '.join(hooks)} when it was connected")

    demo.scene("An order in the store, seen twice, counted once")
    code = await demo.bot.db.fetchval(
        "SELECT code FROM codes WHERE guild_id = ? AND user_id = ? AND status = 'active'",
        (demo.guild_id, demo.people["alice"]),
    )
    order = await store.place_order(code=str(code), total="54.00")
    demo.print(f"   store: order #{order.number}, €54.00 paid with the code {code}")
    for delivery in store.deliveries[-2:]:
        demo.print(f"   store → bot: {delivery.topic} — answered {delivery.status}")
    demo.clock.set(demo.clock.now() + timedelta(hours=1))
    cog = demo.bot.get_cog("Shop catch-up")
    report = await cog.run_now(demo.guild_id) if isinstance(cog, CatchUpCog) else None
    demo.narrate("an hour later the catch-up reads the store's orders through its Admin API, as it does every hour")
    demo.print(f"   bot: {report.describe() if report else 'no catch-up ran'}")
    counted = await demo.bot.db.fetchval(
        "SELECT COUNT(*) FROM sales WHERE guild_id = ? AND shop = 'shopify' AND order_id = ? AND kind = 'sale'",
        (demo.guild_id, str(order.id)),
    )
    demo.narrate(f"order #{order.number} is in the ledger {plural(int(counted), 'time')}")


async def play_leaving(demo: Demo) -> None:
    store = demo.store
    assert store is not None, "the demo runs with the brand's store connected"
    demo.scene("chen moves on")
    await demo.slash("mira", "ambassador remove", member=demo.people["chen"])
    await demo.bot.outbox.drain()
    demo.narrate("the store follows: chen's code is switched off there too")
    _show_codes(demo, store)
