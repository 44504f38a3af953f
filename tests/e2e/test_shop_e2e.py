"""The shop connection end to end: the unmodified bot in the Discord emulator, the brand's store as the fake
Shopify over HTTP. Codes follow approval, vanity codes, discounts and removal into the store; an order placed
in the store arrives by its webhook; refusals reach moderators once; /shop sync repairs a running program."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.app import CollectiveBot
from bot.clock import FixedClock
from bot.config import WebhookSettings
from emulator import Emulator
from emulator.driver import Actor
from emulator.shop import FakeShopify
from tests.e2e.conftest import SHOP_START, BotRunner, World, connect_shop
from tests.e2e.test_codes_e2e import free_port
from tests.e2e.test_onboarding_e2e import apply, button, review_post, setup_program, until


@pytest.fixture
def shop_runner(runner: BotRunner, world: World, fake_shop: FakeShopify) -> BotRunner:
    """The bot with the store connected, its webhook server on a free port and the store's clock."""
    port = free_port()
    connect_shop(runner, world, fake_shop)
    runner.webhooks = WebhookSettings(
        enabled=True, host="127.0.0.1", port=port, shopify_secret=fake_shop.client_secret,
        public_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    runner.clock = FixedClock(SHOP_START)
    return runner


def mira(emu: Emulator, world: World) -> Actor:
    return emu.actor(world.guild.id, world.moderator.id)


async def settled(bot: CollectiveBot) -> None:
    """Every outbox row written so far delivered (pushes to the store among them)."""
    await bot.outbox.drain()


async def code_of(bot: CollectiveBot, guild_id: int, user_id: int) -> str:
    code = await bot.db.fetchval(
        "SELECT code FROM codes WHERE guild_id = ? AND user_id = ? AND status = 'active'", (guild_id, user_id)
    )
    assert code, "the member has an active code"
    return str(code)


def mutations(shop: FakeShopify) -> list[str]:
    return [str(body["query"]).split("(")[0].split()[-1] for body in shop.requests if "mutation" in body["query"]]


async def test_approval_puts_the_code_in_the_store_and_removal_deactivates_it(
    emu: Emulator, world: World, shop_runner: BotRunner, fake_shop: FakeShopify
) -> None:
    bot = await shop_runner.start()
    gid = world.guild.id
    review_id = await setup_program(emu, world)
    await until(lambda: len(fake_shop.state.webhooks) == 3, "the order webhooks registered at connection")
    addresses = {w.callback_url for w in fake_shop.state.webhooks.values()}
    assert addresses == {f"{shop_runner.webhooks.public_url}/webhooks/shopify/{gid}"}

    await apply(emu, world, world.alice.id)
    post = review_post(emu, review_id, world.alice.id)
    approved = await mira(emu, world).click(post, button(post, "approve"))
    assert "Approved" in approved.content
    await settled(bot)
    code = await code_of(bot, gid, world.alice.id)
    assert fake_shop.discount_status(code) == "ACTIVE"
    held = fake_shop.state.discount_by_code(code)
    assert held is not None and held.percentage == pytest.approx(0.10) and held.applies_once_per_customer

    order = await fake_shop.place_order(code=code, total="45.00")
    await until(
        lambda: bot.db is not None and fake_shop.deliveries and all(d.status == 200 for d in fake_shop.deliveries),
        "the store's webhooks answered 200",
    )
    sales = await bot.db.fetchval(
        "SELECT COUNT(*) FROM sales WHERE guild_id = ? AND order_id = ?", (gid, str(order.id))
    )
    assert sales == 1
    mine = await emu.actor(gid, world.alice.id).slash("code")
    text = str(mine.embeds)
    assert mine.ephemeral and code in text and "1 order" in text and "being activated" not in text

    removed = await mira(emu, world).slash("ambassador remove", member=world.alice.id)
    assert not removed.content.startswith("⚠️"), removed.content
    await settled(bot)
    assert fake_shop.discount_status(code) == "EXPIRED"


async def test_a_code_waits_while_the_store_is_down_and_goes_through_after(
    emu: Emulator, world: World, shop_runner: BotRunner, fake_shop: FakeShopify
) -> None:
    bot = await shop_runner.start()
    gid = world.guild.id
    await setup_program(emu, world)
    await fake_shop.go_down()
    added = await mira(emu, world).slash("ambassador add", member=world.bob.id)
    assert "✅" in added.content or "code" in added.content, added.content  # never waits on the store
    await settled(bot)
    code = await code_of(bot, gid, world.bob.id)
    assert fake_shop.state.discount_by_code(code) is None
    mine = await emu.actor(gid, world.bob.id).slash("code")
    assert "being activated" in str(mine.embeds)

    await fake_shop.come_back()
    clock = shop_runner.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(hours=1))
    cog = bot.get_cog("Shop pushes")
    assert cog is not None
    assert await cog.retry_pending() == 1  # type: ignore[attr-defined]
    assert fake_shop.discount_status(code) == "ACTIVE"
    mine = await emu.actor(gid, world.bob.id).slash("code")
    assert "being activated" not in str(mine.embeds)
    created = [m for m in mutations(fake_shop) if m == "CreateCode"]
    assert len(created) == 1


async def test_a_taken_code_is_refused_once_and_a_matching_one_adopted(
    emu: Emulator, world: World, shop_runner: BotRunner, fake_shop: FakeShopify
) -> None:
    bot = await shop_runner.start()
    gid = world.guild.id
    review_id = await setup_program(emu, world)
    await mira(emu, world).slash("ambassador add", member=world.bob.id)
    await mira(emu, world).slash("ambassador add", member=world.alice.id)
    await settled(bot)
    fake_shop.add_discount("WINTER50", percentage=0.5, title="Winter sale")  # the brand's own discount
    fake_shop.add_discount("GLOWALICE", percentage=0.1, title="Old spreadsheet code")  # same discount as ours

    before = len(emu.state.messages_in(review_id))
    await mira(emu, world).slash("codes set", member=world.bob.id, code="WINTER50")
    await mira(emu, world).slash("codes set", member=world.alice.id, code="GLOWALICE")
    await settled(bot)
    assert fake_shop.state.discount_by_code("WINTER50").title == "Winter sale"  # type: ignore[union-attr]
    adopted = fake_shop.state.discount_by_code("GLOWALICE")
    assert adopted is not None and adopted.title.startswith("Collective ambassador code")
    notices = [m for m in emu.state.messages_in(review_id)[before:] if "refused" in str(m.embeds)]
    assert len(notices) == 1 and "Winter sale" in str(notices[0].embeds) and "WINTER502" in str(notices[0].embeds)
    mine = await emu.actor(gid, world.bob.id).slash("code")
    assert "hasn't accepted" in str(mine.embeds)
    status = await mira(emu, world).slash("shop status")
    assert status.ephemeral and "WINTER50" in str(status.embeds) and "1 refused" in str(status.embeds)

    # A sync tries again and still refuses, but moderators are not told twice about the same change.
    await mira(emu, world).slash("shop sync")
    await settled(bot)
    notices = [m for m in emu.state.messages_in(review_id)[before:] if "refused" in str(m.embeds)]
    assert len(notices) == 1


async def test_sync_brings_a_running_program_into_the_store_and_changes_nothing_the_second_time(
    emu: Emulator, world: World, runner: BotRunner, fake_shop: FakeShopify
) -> None:
    runner.clock = FixedClock(SHOP_START)
    bot = await runner.start()
    gid = world.guild.id
    await setup_program(emu, world)
    for member in (world.alice, world.bob):
        await mira(emu, world).slash("ambassador add", member=member.id)
    await mira(emu, world).slash("ambassador pause", member=world.bob.id)
    codes = {user: await bot.db.fetchval(
        "SELECT code FROM codes WHERE guild_id = ? AND user_id = ? AND status IN ('active', 'paused')", (gid, user)
    ) for user in (world.alice.id, world.bob.id)}  # fmt: skip
    await runner.stop()

    connect_shop(runner, world, fake_shop)
    bot = await runner.start()
    status = await mira(emu, world).slash("shop status")
    assert "2 codes never sent to the shop" in str(status.embeds)
    synced = await mira(emu, world).slash("shop sync")
    text = str(synced.embeds)
    assert "2 of 2 checked" in text and "1 created" in text, text
    assert fake_shop.discount_status(codes[world.alice.id]) == "ACTIVE"
    assert fake_shop.state.discount_by_code(codes[world.bob.id]) is None  # paused: nothing to switch on
    before = mutations(fake_shop)
    again = await mira(emu, world).slash("shop sync")
    assert "Nothing: the shop already matched" in str(again.embeds)
    assert mutations(fake_shop) == before
    await settled(bot)


async def test_the_discount_setting_reaches_every_code(
    emu: Emulator, world: World, shop_runner: BotRunner, fake_shop: FakeShopify
) -> None:
    bot = await shop_runner.start()
    gid = world.guild.id
    await setup_program(emu, world)
    await mira(emu, world).slash("ambassador add", member=world.bob.id)
    await settled(bot)
    code = await code_of(bot, gid, world.bob.id)
    bad = await mira(emu, world).slash("shop discount", kind="percentage", value="150")
    assert bad.ephemeral and "1 to 100" in bad.content
    answer = await mira(emu, world).slash(
        "shop discount", kind="fixed", value="5.00", currency="USD", minimum="30", combines_with_order=True
    )
    assert "$5.00 off" in answer.content or "5.00" in answer.content, answer.content
    await settled(bot)
    held = fake_shop.state.discount_by_code(code)
    assert held is not None and held.amount is not None and str(held.amount) == "5.00"
    assert held.minimum_subtotal is not None and str(held.minimum_subtotal) == "30.00"
    assert held.combines_with.get("orderDiscounts") is True
    wrong = await mira(emu, world).slash("shop discount", kind="fixed", value="5.00", currency="EUR")
    assert "✅" in wrong.content
    await settled(bot)
    review_id = emu.state.channel_named(gid, "review").id
    assert any("sells in USD" in str(m.embeds) for m in emu.state.messages_in(review_id))


async def test_webhooks_are_registered_once_a_public_address_is_set(
    emu: Emulator, world: World, runner: BotRunner, fake_shop: FakeShopify
) -> None:
    connect_shop(runner, world, fake_shop)
    runner.clock = FixedClock(SHOP_START)
    await runner.start()
    await setup_program(emu, world)
    hooks = await mira(emu, world).slash("shop webhooks")
    assert "public_url isn't set" in str(hooks.embeds) and not fake_shop.state.webhooks
    await runner.stop()

    port = free_port()
    runner.webhooks = WebhookSettings(
        enabled=True, host="127.0.0.1", port=port, shopify_secret=fake_shop.client_secret,
        public_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    await runner.start()  # not a new shop, but one never registered: the start registers it
    await until(lambda: len(fake_shop.state.webhooks) == 3, "webhooks registered at the next start")
    # The store holds them a moment before the bot has written down that it registered them: wait for that too,
    # or the restart below can come in between and (rightly) register again.
    assert runner.db is not None
    for _ in range(250):
        if await runner.db.fetchval("SELECT webhooks FROM shop_connections WHERE guild_id = ?", (world.guild.id,)):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the registration was never recorded")
    asked = len(fake_shop.requests)
    bot = await runner.restart()
    await bot.outbox.drain()
    status = await mira(emu, world).slash("shop status")
    assert "ORDERS_PAID" in str(status.embeds)
    assert not any("webhookSubscription" in str(b["query"]) for b in fake_shop.requests[asked:])  # not again
