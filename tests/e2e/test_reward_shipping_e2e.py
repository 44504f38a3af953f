"""Rewards to ship end to end: the unmodified bot in the Discord emulator (and the fake Shopify over HTTP).

Earn points → redeem a product-to-ship reward → the private shipping form from the DM → the moderators' queue →
Shipped with a tracking link → the member is told, the redemption fulfilled; a moderator's cancel gives points and
stock back once; with a Shopify store, the product picked from its catalogue becomes one zero-value draft order.
And a member withdrawing an opt-in to a gifting campaign while its window is open."""

from __future__ import annotations

from datetime import timedelta

from bot.app import CollectiveBot
from bot.clock import FixedClock
from emulator import Emulator
from emulator.driver import Actor
from emulator.models import Message
from emulator.shop import FakeShopify
from tests.e2e.conftest import SHOP_START, BotRunner, World
from tests.e2e.test_content_e2e import button_of
from tests.e2e.test_gifting_e2e import announcement, gift_shop, program
from tests.e2e.test_onboarding_e2e import setup_program, until
from tests.e2e.test_rewards_e2e import ambassador_with_points, redeem, spendable

__all__ = ["gift_shop"]  # fixture

ADDRESS = {"name": "Bob Stone", "address": "Rua Augusta 10", "city": "Lisboa", "postal_code": "1100-053",
           "country": "PT"}  # fmt: skip


def mira(emu: Emulator, world: World) -> Actor:
    return emu.actor(world.guild.id, world.moderator.id)


def texts(emu: Emulator, user_id: int) -> list[str]:
    return [m.content + " " + str(m.embeds) for m in emu.dms_to(user_id)]


async def ship_reward(emu: Emulator, world: World, product: str, *, stock: int | None = None) -> int:
    options = {"stock": stock} if stock is not None else {}
    made = await mira(emu, world).slash("reward create", title="A free tote", cost=100, kind="ship",
                                        ship_product=product, **options)  # fmt: skip
    assert made.content.startswith("✅ Reward #"), made.content
    return int(made.content.split("#")[1].split()[0])


async def address_from_dm(emu: Emulator, world: World, user_id: int) -> None:
    dm = next(m for m in emu.dms_to(user_id) if m.components and "shipping details" in m.content)
    actor = emu.actor(world.guild.id, user_id)
    form = await actor.click(dm, button_of(dm, "Add shipping details"))
    assert form.modal is not None, form.content
    saved = await actor.submit_modal(form.modal, ADDRESS)
    assert saved.ephemeral and saved.content.startswith("✅"), saved.content


async def test_redeem_a_product_to_ship_give_the_address_and_a_moderator_ships_it(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    runner.clock = FixedClock(SHOP_START)
    bot = await runner.start()
    gid, bob_id = world.guild.id, world.bob.id
    await setup_program(emu, world)
    await ambassador_with_points(emu, world, bob_id, 250)
    suggested = await mira(emu, world).autocomplete("reward create", "ship_product", "Tote bag", title="x", cost=1,
                                                    kind="ship")  # fmt: skip
    assert [c["value"] for c in suggested] == ["Tote bag"]  # no store: what was typed
    reward_id = await ship_reward(emu, world, "Tote bag", stock=2)

    bob = emu.actor(gid, bob_id)
    _offer, confirmed = await redeem(bob, reward_id)
    assert confirmed.content.startswith("✅ Redeemed") and "shipping queue" in confirmed.content, confirmed.content
    await bot.outbox.drain()
    await address_from_dm(emu, world, bob_id)
    await bot.outbox.drain()
    assert await spendable(bot, gid, bob_id) == 150

    queue = await mira(emu, world).slash("fulfilment list")
    assert queue.ephemeral and queue.message is not None and "Rua Augusta 10" in str(queue.embeds)
    assert "Tote bag" in str(queue.embeds)
    ship = await mira(emu, world).click(queue.message, button_of(queue.message, "Shipped"))
    assert ship.modal is not None
    shipped = await mira(emu, world).submit_modal(ship.modal, {"tracking": "https://track.example/TOTE1"})
    assert "marked shipped" in shipped.content, shipped.content
    await bot.outbox.drain()
    await until(lambda: any("https://track.example/TOTE1" in t for t in texts(emu, bob_id)), "the shipped DM")
    assert await bot.db.fetchval("SELECT status FROM redemptions") == "fulfilled"
    cancel = await mira(emu, world).slash("reward cancel", redemption="1", reason="changed our minds")
    assert cancel.content.startswith("⚠️") and "already fulfilled" in cancel.content, cancel.content
    assert await spendable(bot, gid, bob_id) == 150
    audit = emu.state.channel_named(gid, "audit-log").id
    assert all("Rua Augusta" not in str(m.embeds) for m in emu.state.messages_in(audit))


async def test_a_moderator_cancels_the_item_and_points_and_stock_come_back_once(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    runner.clock = FixedClock(SHOP_START)
    bot = await runner.start()
    gid, bob_id = world.guild.id, world.bob.id
    await setup_program(emu, world)
    await ambassador_with_points(emu, world, bob_id, 100)
    reward_id = await ship_reward(emu, world, "Tote bag", stock=1)
    bob = emu.actor(gid, bob_id)
    await redeem(bob, reward_id)
    await bot.outbox.drain()
    assert await spendable(bot, gid, bob_id) == 0
    assert await bot.db.fetchval("SELECT stock FROM rewards") == 0

    choices = await mira(emu, world).autocomplete("fulfilment cancel", "gift", "tote")
    assert len(choices) == 1 and "Tote bag" in choices[0]["name"], choices
    refused = await bob.slash("fulfilment cancel", gift=choices[0]["value"], reason="mine")
    assert refused.content.startswith("⚠️")
    blank = await mira(emu, world).slash("fulfilment cancel", gift=choices[0]["value"], reason="   ")
    assert blank.content.startswith("⚠️"), blank.content
    done = await mira(emu, world).slash("fulfilment cancel", gift=choices[0]["value"], reason="Out of totes")
    assert done.ephemeral and "cancelled" in done.content and "points are back" in done.content, done.content
    again = await mira(emu, world).slash("fulfilment cancel", gift=choices[0]["value"], reason="Out of totes")
    assert again.content.startswith("⚠️") and "already cancelled" in again.content, again.content
    await bot.outbox.drain()

    assert await spendable(bot, gid, bob_id) == 100
    assert await bot.db.fetchval("SELECT stock FROM rewards") == 1
    assert await bot.db.fetchval("SELECT COUNT(*) FROM point_spends WHERE reason = 'refund'") == 1
    refunds = [t for t in texts(emu, bob_id) if "points are back" in t]
    assert len(refunds) == 1 and "Out of totes" in refunds[0], texts(emu, bob_id)
    actions = [r[0] for r in await bot.db.fetchall("SELECT action FROM audit_log WHERE action LIKE 'gift.%'")]
    assert actions == ["gift.cancel"]
    queue = await mira(emu, world).slash("fulfilment list")
    assert queue.content.startswith("Nothing to ship"), queue.content


async def test_with_shopify_the_product_becomes_one_zero_value_draft_order(
    emu: Emulator, world: World, runner: BotRunner, gift_shop: FakeShopify
) -> None:
    serum = gift_shop.add_product("Vitamin C Serum", price="32.00", variants=["30 ml"])
    bot = await runner.start()
    gid, bob_id = world.guild.id, world.bob.id
    await setup_program(emu, world)
    await ambassador_with_points(emu, world, bob_id, 300)
    offered = await mira(emu, world).autocomplete("reward create", "ship_product", "serum", title="x", cost=1,
                                                  kind="ship")  # fmt: skip
    picked = next(c for c in offered if c["name"].startswith("Vitamin C Serum"))
    assert serum.variants[0].gid in picked["value"]
    reward_id = await ship_reward(emu, world, picked["value"])
    assert await bot.db.fetchval("SELECT ship_product FROM rewards") == "Vitamin C Serum"

    bob = emu.actor(gid, bob_id)
    form = await bob.slash("shipping")  # details on file before redeeming: nothing more to ask
    assert form.modal is not None
    await bob.submit_modal(form.modal, ADDRESS)
    await redeem(bob, reward_id)
    await bot.outbox.drain()
    await bot.outbox.drain()
    (order,) = gift_shop.orders
    (draft,) = gift_shop.draft_orders
    assert draft.status == "COMPLETED" and order.total == 0 and order.discount == serum.variants[0].price
    assert order.shipping_address is not None and order.shipping_address["city"] == "Lisboa"
    await until(lambda: any("is ordered" in t for t in texts(emu, bob_id)), "the 'ordered' DM")
    assert not any("shipping details" in m.content for m in emu.dms_to(bob_id) if m.components)

    clock = runner.clock
    assert isinstance(clock, FixedClock)
    gift_shop.fulfil(order, tracking_url="https://track.example/DHL9")
    clock.advance(timedelta(hours=1))
    await bot.scheduler.run_due(clock.now())
    await bot.outbox.drain()
    await until(lambda: any("https://track.example/DHL9" in t for t in texts(emu, bob_id)), "the shipped DM")
    assert await bot.db.fetchval("SELECT status FROM redemptions") == "fulfilled"
    cancel = await mira(emu, world).slash("fulfilment cancel", gift=1, reason="too late")
    assert cancel.content.startswith("⚠️")
    assert gift_shop.orders == [order] and await spendable(bot, gid, bob_id) == 200


async def test_a_member_withdraws_an_opt_in_while_the_window_is_open(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    runner.clock = clock = FixedClock(SHOP_START)
    bot = await runner.start()
    await program(emu, world, bot)
    made = await mira(emu, world).slash("gift create", product="Tote bag", quantity=1, closes="2026-12-01 10:00")
    assert "✅" in made.text, made.text
    alice = emu.actor(world.guild.id, world.alice.id)
    post: Message = announcement(emu, world)
    never = await alice.click(post, button_of(post, "Count me out"))
    assert never.ephemeral and "nothing to withdraw" in never.content, never.content
    await alice.click(post, button_of(post, "I'd love one"))
    out = await alice.click(post, button_of(post, "Count me out"))
    assert out.ephemeral and out.content.startswith("↩️") and "withdrawn" in out.content, out.content
    again = await alice.click(post, button_of(post, "Count me out"))
    assert "nothing to withdraw" in again.content
    assert await bot.db.fetchval("SELECT COUNT(*) FROM gift_optins") == 0
    await until(lambda: "'value': '0'" in str(announcement(emu, world).embeds), "the count back to 0")

    clock.advance(timedelta(days=10))
    late = await alice.click(post, button_of(post, "Count me out"))
    assert late.content.startswith("⚠️") and "closed" in late.content, late.content
    await _chosen_nobody(bot)


async def _chosen_nobody(bot: CollectiveBot) -> None:
    assert await bot.db.fetchval("SELECT COUNT(*) FROM gifts") == 0
