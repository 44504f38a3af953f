"""WooCommerce end to end: the unmodified bot in the Discord emulator, the brand's store as the fake WooCommerce
over HTTP. Approval creates the coupon, an order with it arrives by the webhook the bot registered, /code shows it,
removal expires the coupon so checkout refuses it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bot.clock import FixedClock
from bot.config import WebhookSettings, WooCommerceConnection
from emulator import Emulator
from emulator.shop import ManualClock
from emulator.shop.woocommerce import FakeWooCommerce
from emulator.shop.woocommerce.server import CheckoutRefused
from tests.e2e.conftest import SHOP_START, BotRunner, World
from tests.e2e.test_onboarding_e2e import apply, button, review_post, setup_program
from tests.e2e.test_shop_e2e import code_of, free_port, until

HOOK_SECRET = "woo-e2e-webhook-secret"


@pytest.fixture
async def woo() -> AsyncIterator[FakeWooCommerce]:
    store = FakeWooCommerce(clock=ManualClock(SHOP_START), currency="EUR")
    await store.start()
    try:
        yield store
    finally:
        await store.stop()


async def test_a_woocommerce_store_follows_the_program(
    emu: Emulator, world: World, runner: BotRunner, woo: FakeWooCommerce
) -> None:
    port = free_port()
    runner.shops[world.guild.id] = WooCommerceConnection(
        platform="woocommerce", store_url="https://glow.example.com", api_url=woo.url,
        consumer_key=SecretStr(woo.key.consumer_key), consumer_secret=SecretStr(woo.key.consumer_secret),
    )  # fmt: skip
    runner.webhooks = WebhookSettings(
        enabled=True, host="127.0.0.1", port=port, woocommerce_secret=SecretStr(HOOK_SECRET),
        public_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    runner.clock = FixedClock(SHOP_START)
    bot = await runner.start()
    gid = world.guild.id
    review_id = await setup_program(emu, world)
    await until(lambda: len(woo.webhooks) >= 2, "the store's webhooks registered by the bot")
    assert {w.delivery_url for w in woo.webhooks} == {f"http://127.0.0.1:{port}/webhooks/woocommerce/{gid}"}

    await apply(emu, world, world.alice.id)
    post = review_post(emu, review_id, world.alice.id)
    await emu.actor(gid, world.moderator.id).click(post, button(post, "approve"))
    await bot.outbox.drain()
    code = await code_of(bot, gid, world.alice.id)
    assert woo.coupon_usable(code)

    order = await woo.place_order(code=code, total="36.00")
    await until(lambda: woo.deliveries and all(d.status == 200 for d in woo.deliveries), "deliveries answered 200")
    counted = await bot.db.fetchval(
        "SELECT COUNT(*) FROM sales WHERE guild_id = ? AND shop = 'woocommerce' AND order_id = ?", (gid, str(order.id))
    )
    assert counted == 1
    mine = await emu.actor(gid, world.alice.id).slash("code")
    assert "1 order" in str(mine.embeds) and "being activated" not in str(mine.embeds)

    await emu.actor(gid, world.moderator.id).slash("ambassador remove", member=world.alice.id)
    await bot.outbox.drain()
    assert not woo.coupon_usable(code)
    with pytest.raises(CheckoutRefused, match="expired"):
        await woo.place_order(code=code, total="20.00", email="another@example.com")
