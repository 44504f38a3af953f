"""Rewards end to end: the unmodified bot in the Discord emulator, the brand's store as the fake Shopify over HTTP.
Earn points → redeem a shop-code reward → the code is in the store and arrives by DM; a double click redeems once; a
perk goes through the moderators' queue; a cancel gives the points back; a role reward is taken back after a
restart; a burst of members after the last items never oversells."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.app import CollectiveBot
from bot.clock import FixedClock, to_db
from bot.services.engagement import points
from emulator import Emulator
from emulator.driver import Actor, Reply
from emulator.models import Message
from emulator.shop import CheckoutRefused, FakeShopify, ManualClock
from tests.e2e.conftest import SHOP_START, BotRunner, World
from tests.e2e.test_onboarding_e2e import setup_program, until
from tests.e2e.test_shop_e2e import shop_runner
from tests.reliability.program import unlimited

__all__ = ["shop_runner"]  # fixture

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e7c22b6e0000000049454e44ae426082"
)


def mira(emu: Emulator, world: World) -> Actor:
    return emu.actor(world.guild.id, world.moderator.id)


def custom_id_on(message: Message | None, prefix: str) -> str:
    assert message is not None
    found = [c for c in message.custom_ids() if c.startswith(prefix)]
    assert found, f"no {prefix}… on the message: {message.custom_ids()}"
    return found[0]


def labelled(message: Message, label: str) -> str:
    for row in message.components:
        for component in row.get("components", []):
            if component.get("label") == label:
                return str(component["custom_id"])
    raise AssertionError(f"no {label!r} button: {message.components}")


async def ambassador_with_points(emu: Emulator, world: World, user_id: int, amount: int) -> None:
    added = await mira(emu, world).slash("ambassador add", member=user_id)
    assert not added.content.startswith("⚠️"), added.content
    given = await mira(emu, world).slash("points adjust", member=user_id, amount=amount, reason="great content")
    assert "total is now" in given.content, given.content


async def redeem(actor: Actor, reward_id: int) -> tuple[Reply, Reply]:
    """/rewards, Redeem on the reward's page (turning pages until it shows), Confirm."""
    shown = await actor.slash("rewards")
    assert shown.ephemeral and shown.message is not None
    message = shown.message
    redeem_id = f"collective:reward:redeem:{reward_id}"
    while redeem_id not in message.custom_ids():
        turned = await actor.click(message, labelled(message, "Next"))
        assert turned.message is not None
        message = turned.message
    offer = await actor.click(message, redeem_id)
    assert offer.ephemeral and "Redeem" in offer.content, offer.content
    confirmed = await actor.click(offer.message, custom_id_on(offer.message, "collective:reward:confirm:"))  # type: ignore[arg-type]
    return offer, confirmed


def a_minute_passes(shop: FakeShopify) -> None:
    """The store's clock moves on, and its query-cost bucket refills as Shopify's does (the fake's clock only moves
    when a test moves it; the connection's 60-day backfill may have drawn the bucket down meanwhile)."""
    assert isinstance(shop.clock, ManualClock)
    shop.clock.advance(60)


async def spendable(bot: CollectiveBot, guild_id: int, user_id: int) -> int:
    earned = await points.balance(bot.db, guild_id, user_id)
    spent = await bot.db.fetchval(
        "SELECT COALESCE(SUM(points), 0) FROM point_spends WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return earned - int(spent)


async def test_earn_points_redeem_a_shop_code_and_it_is_in_the_store_and_arrives_by_dm(
    emu: Emulator, world: World, shop_runner: BotRunner, fake_shop: FakeShopify
) -> None:
    bot = await shop_runner.start()
    gid = world.guild.id
    await setup_program(emu, world)
    await ambassador_with_points(emu, world, world.bob.id, 300)
    made = await mira(emu, world).slash(
        "reward create", title="$10 off your next order", cost=120, kind="code", amount="10.00", currency="USD",
        stock=5, per_member_limit=2, image=("voucher.png", PNG, "image/png"), description="Thanks for all you do",
    )  # fmt: skip
    assert made.content.startswith("✅ Reward #"), made.content
    reward_id = int(made.content.split("#")[1].split()[0])

    bob = emu.actor(gid, world.bob.id)
    shown = await bob.slash("rewards")
    assert shown.ephemeral and "300 points" in shown.text and "$10 off" in shown.text
    assert shown.files and shown.embeds[0]["image"]["url"].startswith("attachment://reward-")
    a_minute_passes(fake_shop)
    offer, confirmed = await redeem(bob, reward_id)
    assert "180 points left" in offer.content
    assert confirmed.content.startswith("✅ Redeemed"), confirmed.content
    await bot.outbox.drain()

    code = await bot.db.fetchval("SELECT code FROM redemptions WHERE user_id = ?", (world.bob.id,))
    held = fake_shop.state.discount_by_code(code)
    assert held is not None and held.usage_limit == 1 and str(held.amount) == "10.00"
    assert held.ends_at == SHOP_START + timedelta(days=30)
    dms = [m for m in emu.state.dms_to(world.bob.id) if code in str(m.embeds)]
    assert len(dms) == 1 and "Use it once" in str(dms[0].embeds)
    assert await bot.db.fetchval("SELECT status FROM redemptions") == "fulfilled"
    again = await bob.slash("rewards")  # the way to the code when a DM could not be delivered: only bob sees it
    assert again.ephemeral and code in again.content and "180 points" in again.text
    order = await fake_shop.place_order(code=code, subtotal="30.00")
    assert str(order.total) == "20.00"
    with pytest.raises(CheckoutRefused):
        await fake_shop.place_order(code=code, subtotal="30.00")

    profile = await bob.slash("profile")
    assert "Points overall 300" in profile.text and "Points to spend 180" in profile.text
    seen_by_alice = await emu.actor(gid, world.alice.id).slash("profile", member=world.bob.id)
    assert "to spend" not in seen_by_alice.text and code not in seen_by_alice.text
    board = await bob.slash("leaderboard", period="all")
    assert "300" in board.text  # lifetime points rank, whatever was spent


async def test_a_double_click_on_confirm_redeems_once(
    emu: Emulator, world: World, shop_runner: BotRunner, fake_shop: FakeShopify
) -> None:
    bot = await shop_runner.start()
    unlimited(bot)
    gid = world.guild.id
    await setup_program(emu, world)
    await ambassador_with_points(emu, world, world.bob.id, 300)
    await mira(emu, world).slash("reward create", title="Sticker pack", cost=100, kind="perk", stock=3)
    reward_id = int(await bot.db.fetchval("SELECT MAX(id) FROM rewards"))
    bob = emu.actor(gid, world.bob.id)
    shown = await bob.slash("rewards")
    offer = await bob.click(shown.message, f"collective:reward:redeem:{reward_id}")  # type: ignore[arg-type]
    confirm = custom_id_on(offer.message, "collective:reward:confirm:")
    first, second = await asyncio.gather(bob.click(offer.message, confirm), bob.click(offer.message, confirm))  # type: ignore[arg-type]
    assert first.type == second.type == 7  # both answered, by updating the confirm message
    answers = [str((r.record.response_data or {}).get("content")) for r in (first, second)]
    assert sorted(a.split(" ")[1] for a in answers) == ["Already", "Redeemed"], answers
    assert await bot.db.fetchval("SELECT COUNT(*) FROM redemptions") == 1
    assert await bot.db.fetchval("SELECT stock FROM rewards") == 2
    assert await spendable(bot, gid, world.bob.id) == 200


async def test_a_perk_goes_through_the_queue_and_a_cancel_gives_the_points_back(
    emu: Emulator, world: World, shop_runner: BotRunner, fake_shop: FakeShopify
) -> None:
    bot = await shop_runner.start()
    unlimited(bot)
    gid = world.guild.id
    review_id = await setup_program(emu, world)
    await ambassador_with_points(emu, world, world.bob.id, 250)
    await mira(emu, world).slash("reward create", title="Call with the founder", cost=100, kind="perk", stock=2)
    reward_id = int(await bot.db.fetchval("SELECT MAX(id) FROM rewards"))
    bob = emu.actor(gid, world.bob.id)
    await redeem(bob, reward_id)
    await redeem(bob, reward_id)
    await bot.outbox.drain()
    queue = [m for m in emu.state.messages_in(review_id) if "To hand out" in str(m.embeds) and m.components]
    assert len(queue) == 2 and f"<@{world.bob.id}>" in str(queue[0].embeds)
    given = await mira(emu, world).click(queue[0], custom_id_on(queue[0], "collective:redemption:given:"))
    assert "marked given" in given.text, given.text
    form = await mira(emu, world).click(queue[1], custom_id_on(queue[1], "collective:redemption:cancel:"))
    cancelled = await mira(emu, world).submit_modal(form.modal, {"reason": "The founder is travelling"})
    assert "points are back" in cancelled.text, cancelled.text
    await bot.outbox.drain()
    assert await spendable(bot, gid, world.bob.id) == 150
    assert await bot.db.fetchval("SELECT stock FROM rewards") == 1
    dms = " ".join(str(m.embeds) for m in emu.state.dms_to(world.bob.id))
    assert "marked your reward" in dms and "The founder is travelling" in dms and "are back" in dms
    actions = [r[0] for r in await bot.db.fetchall("SELECT action FROM audit_log WHERE action LIKE 'reward.%'")]
    assert actions == ["reward.create", "reward.given", "reward.cancel"]
    listed = await mira(emu, world).slash("reward list")
    assert "Call with the founder" in listed.text and "Waiting" not in listed.text


async def test_a_role_reward_is_given_and_taken_back_on_time_after_a_restart(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    runner.clock = clock = FixedClock(SHOP_START)
    bot = await runner.start()
    gid = world.guild.id
    await setup_program(emu, world)
    vip = emu.create_role(gid, "VIP lounge")
    await until(lambda: bot.get_guild(gid).get_role(vip.id) is not None, "the role cached")  # type: ignore[union-attr]
    await ambassador_with_points(emu, world, world.bob.id, 100)
    made = await mira(emu, world).slash("reward create", title="VIP for a week", cost=100, kind="role",
                                        role=vip.id, days=7)  # fmt: skip
    assert made.content.startswith("✅"), made.content
    reward_id = int(await bot.db.fetchval("SELECT MAX(id) FROM rewards"))
    await redeem(emu.actor(gid, world.bob.id), reward_id)
    await bot.outbox.drain()
    assert vip.id in emu.state.guild(gid).members[world.bob.id].roles

    bot = await runner.restart()
    clock.advance(timedelta(days=6))
    await bot.scheduler.run_due(clock.now())
    assert vip.id in emu.state.guild(gid).members[world.bob.id].roles
    clock.advance(timedelta(days=1, minutes=1))
    await bot.scheduler.run_due(clock.now())
    assert vip.id not in emu.state.guild(gid).members[world.bob.id].roles
    assert await bot.db.fetchval("SELECT role_removed_at IS NOT NULL FROM redemptions") == 1
    assert await bot.db.fetchval("SELECT status FROM timers WHERE kind = 'reward-role-end'") == "done"


async def test_a_burst_of_members_after_the_last_items_never_oversells(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    runner.clock = FixedClock(SHOP_START)
    bot = await runner.start()
    unlimited(bot)
    gid = world.guild.id
    await setup_program(emu, world)
    members = [emu.add_member(gid, f"fan{n}") for n in range(40)]
    now = runner.clock.now()
    async with bot.db.transaction() as tx:
        for fan in members:
            await tx.execute(
                "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
                " VALUES (?, ?, ?, 'active', ?, ?)",
                (gid, fan.id, fan.username, to_db(now), to_db(now)),
            )
            await points.award(tx, gid, fan.id, 150, "adjustment", f"burst:{fan.id}", now)
    await mira(emu, world).slash("reward create", title="Limited tote", cost=100, kind="perk", stock=10)
    reward_id = int(await bot.db.fetchval("SELECT MAX(id) FROM rewards"))
    button = {"type": 2, "style": 3, "label": "Redeem", "custom_id": f"collective:reward:redeem:{reward_id}"}
    row = [{"type": 1, "components": [button]}]
    catalogue = emu.state.add_message(world.general_id, emu.state.bot.id, "Rewards", components=row)

    async def attempt(user_id: int) -> str:
        actor = emu.actor(gid, user_id)
        offer = await actor.click(catalogue, f"collective:reward:redeem:{reward_id}")
        if offer.message is None or not offer.message.custom_ids():
            return offer.content
        confirmed = await actor.click(offer.message, custom_id_on(offer.message, "collective:reward:confirm:"))
        return confirmed.content

    answers = await asyncio.gather(*(attempt(fan.id) for fan in members))
    assert sum(a.startswith("✅ Redeemed") for a in answers) == 10, answers
    assert sum("gone" in a for a in answers) == 30, answers
    assert await bot.db.fetchval("SELECT stock FROM rewards") == 0
    assert await bot.db.fetchval("SELECT COUNT(*) FROM redemptions") == 10
    for fan in members:
        assert await spendable(bot, gid, fan.id) in (50, 150)


async def test_a_free_product_reward_is_picked_from_the_shop_and_honoured_at_checkout(
    emu: Emulator, world: World, shop_runner: BotRunner, fake_shop: FakeShopify
) -> None:
    bot = await shop_runner.start()
    gid = world.guild.id
    await setup_program(emu, world)
    await ambassador_with_points(emu, world, world.bob.id, 500)
    serum = fake_shop.add_product("Glow serum", price="32.00")
    fake_shop.add_product("Night cream", price="41.00")
    choices = await mira(emu, world).autocomplete("reward create", "product", "serum", title="x", cost=1, kind="code")
    assert [(c["name"], c["value"]) for c in choices] == [("Glow serum · 32.00", serum.gid)]
    made = await mira(emu, world).slash("reward create", title="A free serum", cost=400, kind="code",
                                        product=serum.gid, valid_days=14)  # fmt: skip
    assert made.content.startswith("✅") and "free Glow serum" in made.text, made.text
    reward_id = int(await bot.db.fetchval("SELECT MAX(id) FROM rewards"))
    a_minute_passes(fake_shop)
    await redeem(emu.actor(gid, world.bob.id), reward_id)
    await bot.outbox.drain()
    code = str(await bot.db.fetchval("SELECT code FROM redemptions"))
    held = fake_shop.state.discount_by_code(code)
    assert held is not None and held.product_ids == [serum.gid] and held.usage_limit == 1
    assert any(code in str(m.embeds) and "free Glow serum" in str(m.embeds) for m in emu.state.dms_to(world.bob.id))
    with pytest.raises(CheckoutRefused):
        await fake_shop.place_order(code=code, subtotal="41.00", product_id="gid://shopify/Product/1")
    order = await fake_shop.place_order(code=code, subtotal="32.00", product_id=serum.gid)
    assert str(order.total) == "0.00"


async def test_a_code_waits_while_the_store_is_down_and_arrives_after(
    emu: Emulator, world: World, shop_runner: BotRunner, fake_shop: FakeShopify
) -> None:
    bot = await shop_runner.start()
    gid = world.guild.id
    await setup_program(emu, world)
    await ambassador_with_points(emu, world, world.bob.id, 200)
    await mira(emu, world).slash("reward create", title="$5 off", cost=100, kind="code", amount="5.00", currency="USD")
    reward_id = int(await bot.db.fetchval("SELECT MAX(id) FROM rewards"))
    await fake_shop.go_down()
    _, confirmed = await redeem(emu.actor(gid, world.bob.id), reward_id)
    assert confirmed.content.startswith("✅ Redeemed")  # the member never waits on the store
    await bot.outbox.drain()
    code = str(await bot.db.fetchval("SELECT code FROM redemptions"))
    assert await bot.db.fetchval("SELECT status FROM redemptions") == "pending"
    assert not any(code in str(m.embeds) for m in emu.state.dms_to(world.bob.id))

    await fake_shop.come_back()
    a_minute_passes(fake_shop)
    clock = shop_runner.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(hours=1))
    cog = bot.get_cog("Reward fulfilment")
    assert cog is not None
    assert await cog.retry_owed() == 1  # type: ignore[attr-defined]
    await bot.outbox.drain()
    assert fake_shop.state.discount_by_code(code) is not None
    assert sum(code in str(m.embeds) for m in emu.state.dms_to(world.bob.id)) == 1
