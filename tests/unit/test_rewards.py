"""Rewards against a real database: spendable points, redemptions that commit points, stock and the row together,
limits, tiers, double clicks, refunds exactly once, and a burst of members after the last items."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.services.engagement import points
from bot.services.rewards import catalogue, fulfilment, redemptions
from bot.services.rewards.balance import balance
from bot.services.rewards.redemptions import SoldOut
from tests.unit.rewards_world import GUILD, MODERATOR, member, program, reward


async def redeem(db: Database, user_id: int, reward_id: int, key: str, clock: FixedClock) -> redemptions.Redeemed:
    return await db.perform(redemptions.redeem, GUILD, user_id, reward_id, key, clock.now())


async def outbox(db: Database, topic: str) -> list[str]:
    rows = await db.fetchall("SELECT key FROM outbox WHERE topic = ? ORDER BY id", (topic,))
    return [row[0] for row in rows]


async def spends(db: Database, user_id: int) -> list[tuple[int, str]]:
    rows = await db.fetchall(
        "SELECT points, reference FROM point_spends WHERE guild_id = ? AND user_id = ? ORDER BY id", (GUILD, user_id)
    )
    return [(int(r[0]), r[1]) for r in rows]


async def test_spending_leaves_lifetime_points_alone_and_the_balance_is_earned_minus_spent(
    db: Database, clock: FixedClock
) -> None:
    await program(db, clock.now())
    await member(db, 1, 250, clock.now())
    perk = await reward(db, clock.now(), cost=100, stock=3)
    done = await redeem(db, 1, perk.id, "k1", clock)
    assert not done.already and done.redemption.status == "pending" and done.redemption.cost == 100
    assert done.balance.earned == 250 and done.balance.spent == 100 and done.balance.spendable == 150
    assert await points.balance(db, GUILD, 1) == 250  # lifetime: leaderboards, streaks and tiers see every point
    assert await db.fetchval("SELECT points FROM points_totals WHERE guild_id = ? AND user_id = 1", (GUILD,)) == 250
    assert (await catalogue.get_reward(db, GUILD, perk.id)).stock == 2
    assert await spends(db, 1) == [(100, f"redemption:{done.redemption.id}")]
    assert await outbox(db, redemptions.HANDOUT) == [str(done.redemption.id)]


async def test_a_double_click_redeems_once(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now())
    await member(db, 1, 500, clock.now())
    perk = await reward(db, clock.now(), cost=100, stock=5)
    first, again = await asyncio.gather(redeem(db, 1, perk.id, "same", clock), redeem(db, 1, perk.id, "same", clock))
    assert {first.already, again.already} == {False, True}
    assert first.redemption.id == again.redemption.id
    assert (await balance(db, GUILD, 1)).spendable == 400
    assert (await catalogue.get_reward(db, GUILD, perk.id)).stock == 4
    assert await db.fetchval("SELECT COUNT(*) FROM redemptions") == 1
    other = await redeem(db, 1, perk.id, "another press", clock)  # a new confirm: a second redemption
    assert not other.already and other.balance.spendable == 300


async def test_a_short_balance_a_limit_or_another_tier_refuse_and_write_nothing(
    db: Database, clock: FixedClock
) -> None:
    await program(db, clock.now())
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO tiers (guild_id, key, name, commission_bp, perks, position) VALUES (?, 'gold',"
                         " 'Gold', 0, '', 1)", (GUILD,))  # fmt: skip
    await member(db, 1, 150, clock.now())
    await member(db, 2, 1000, clock.now(), tier="gold")
    perk = await reward(db, clock.now(), cost=100, limit=1)
    dear = await reward(db, clock.now(), cost=60)
    gold = await reward(db, clock.now(), cost=10, tier="gold")
    before = await db.fetchval("SELECT COUNT(*) FROM outbox")
    await redeem(db, 1, perk.id, "a", clock)
    with pytest.raises(NotAllowed, match="you have 50 points"):
        await redeem(db, 1, dear.id, "b", clock)
    await redeem(db, 2, perk.id, "c", clock)
    with pytest.raises(NotAllowed, match="limit"):
        await redeem(db, 2, perk.id, "d", clock)
    with pytest.raises(NotAllowed, match="gold"):
        await redeem(db, 1, gold.id, "e", clock)
    assert await db.fetchval("SELECT COUNT(*) FROM redemptions") == 2
    assert (await balance(db, GUILD, 1)).spendable == 50
    assert await db.fetchval("SELECT COUNT(*) FROM outbox") - before == 2  # one hand-out post per redemption


async def test_sold_out_and_retired_rewards_refuse(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now())
    await member(db, 1, 500, clock.now())
    await member(db, 2, 500, clock.now())
    last = await reward(db, clock.now(), cost=100, stock=1)
    await redeem(db, 1, last.id, "a", clock)
    with pytest.raises(SoldOut, match="gone"):
        await redeem(db, 2, last.id, "a", clock)
    assert (await balance(db, GUILD, 2)).spendable == 500
    assert (await catalogue.get_reward(db, GUILD, last.id)).stock == 0
    retired = await reward(db, clock.now(), cost=10)
    await db.perform(catalogue.retire, GUILD, retired.id, clock.now(), actor_id=MODERATOR)
    with pytest.raises(SoldOut, match="isn't in the catalogue"):
        await redeem(db, 2, retired.id, "b", clock)


async def test_cancel_gives_points_and_stock_back_once(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now())
    await member(db, 1, 100, clock.now())
    perk = await reward(db, clock.now(), cost=100, stock=1, limit=1)
    done = await redeem(db, 1, perk.id, "a", clock)
    rid = done.redemption.id
    with pytest.raises(InvalidInput):
        await db.perform(redemptions.cancel, GUILD, rid, "  ", clock.now(), actor_id=MODERATOR)
    closed = await db.perform(redemptions.cancel, GUILD, rid, "out of stock at the warehouse", clock.now(),
                              actor_id=MODERATOR)  # fmt: skip
    assert closed.status == "cancelled"
    assert await spends(db, 1) == [(100, f"redemption:{rid}"), (-100, f"refund:{rid}")]
    assert (await balance(db, GUILD, 1)).spendable == 100
    assert (await catalogue.get_reward(db, GUILD, perk.id)).stock == 1
    with pytest.raises(Conflict, match="already cancelled"):
        await db.perform(redemptions.cancel, GUILD, rid, "again", clock.now(), actor_id=MODERATOR)
    assert await db.perform(redemptions.refund, rid, "failed", "late shop refusal", clock.now()) is None
    assert (await balance(db, GUILD, 1)).spendable == 100
    actions = [r[0] for r in await db.fetchall("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["reward.create", "reward.cancel"]
    assert await outbox(db, redemptions.NOTICE) == [f"{rid}:refunded"]
    again = await redeem(db, 1, perk.id, "b", clock)  # the limit counts only redemptions that stand
    assert again.balance.spendable == 0


async def test_a_shop_code_reward_owes_the_shop_a_code_and_a_late_confirmation_after_cancel_does_not_fulfil(
    db: Database, clock: FixedClock
) -> None:
    await program(db, clock.now())
    await member(db, 1, 300, clock.now())
    voucher = await reward(db, clock.now(), "code", cost=100)
    first = await redeem(db, 1, voucher.id, "a", clock)
    code = first.redemption.code
    assert code is not None and code.startswith("R") and len(code) == 11
    assert first.redemption.ends_at == clock.now() + timedelta(days=30)
    assert await outbox(db, redemptions.CODE_OWED) == [str(first.redemption.id)]
    target = await fulfilment.code_target(db, first.redemption.id)
    assert target is not None and target.code == code and target.amount_minor == 1000 and target.currency == "USD"
    assert await db.perform(fulfilment.record_code_created, first.redemption.id, "gid://1", clock.now())
    assert await outbox(db, redemptions.CODE_READY) == [str(first.redemption.id)]
    assert await fulfilment.code_target(db, first.redemption.id) is None  # nothing owed any more
    with pytest.raises(Conflict):  # a delivered code is not cancelled (the member already has it)
        await db.perform(redemptions.cancel, GUILD, first.redemption.id, "no", clock.now(), actor_id=MODERATOR)

    second = await redeem(db, 1, voucher.id, "b", clock)
    await db.perform(redemptions.cancel, GUILD, second.redemption.id, "mistake", clock.now(), actor_id=MODERATOR)
    assert not await db.perform(fulfilment.record_code_created, second.redemption.id, "gid://2", clock.now())
    assert await outbox(db, redemptions.CODE_READY) == [str(first.redemption.id)]
    assert (await balance(db, GUILD, 1)).spendable == 200


async def test_a_shop_code_reward_needs_a_connected_shop(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now(), shop=False)
    await member(db, 1, 300, clock.now())
    voucher = await reward(db, clock.now(), "code", cost=100)
    with pytest.raises(NotAllowed, match="shop is connected"):
        await redeem(db, 1, voucher.id, "a", clock)
    assert (await balance(db, GUILD, 1)).spendable == 300


async def test_a_role_reward_schedules_its_end_and_a_refund_cancels_it(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now())
    await member(db, 1, 300, clock.now())
    vip = await reward(db, clock.now(), "role", cost=100)
    done = await redeem(db, 1, vip.id, "a", clock)
    timer = await db.fetchone("SELECT kind, key, due_at, status FROM timers")
    assert timer is not None and tuple(timer)[:2] == ("reward-role-end", f"redemption:{done.redemption.id}")
    grant = await fulfilment.role_grant(db, done.redemption.id)
    assert grant is not None and grant.role_id == 555 and grant.ends_at == clock.now() + timedelta(days=7)
    again = await redeem(db, 1, vip.id, "b", clock)
    assert await fulfilment.role_still_held(db, grant, clock.now() + timedelta(days=1))
    await db.perform(redemptions.refund, again.redemption.id, "failed", "Discord refused the role", clock.now())
    assert not await fulfilment.role_still_held(db, grant, clock.now() + timedelta(days=1))
    statuses = [r[0] for r in await db.fetchall("SELECT status FROM timers ORDER BY id")]
    assert statuses == ["pending", "cancelled"]


async def test_mark_given_fulfils_a_perk_once_and_audits_it(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now())
    await member(db, 1, 300, clock.now())
    perk = await reward(db, clock.now(), cost=100)
    done = await redeem(db, 1, perk.id, "a", clock)
    given = await db.perform(fulfilment.mark_given, GUILD, done.redemption.id, clock.now(), actor_id=MODERATOR)
    assert given.status == "fulfilled"
    with pytest.raises(Conflict, match="already fulfilled"):
        await db.perform(fulfilment.mark_given, GUILD, done.redemption.id, clock.now(), actor_id=MODERATOR)
    assert await outbox(db, redemptions.NOTICE) == [f"{done.redemption.id}:given"]
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'reward.given'") == 1


async def test_edit_changes_only_what_is_given_and_checks_it(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now())
    perk = await reward(db, clock.now(), cost=100, stock=5, limit=2)
    change = catalogue.Edit(cost=150, unlimited=True)
    edited = await db.perform(catalogue.edit, GUILD, perk.id, change, None, clock.now(), actor_id=MODERATOR)
    assert (edited.cost, edited.stock, edited.per_member_limit, edited.title) == (150, None, 2, perk.title)
    with pytest.raises(InvalidInput):
        await db.perform(catalogue.edit, GUILD, perk.id, catalogue.Edit(cost=0), None, clock.now(), actor_id=1)
    with pytest.raises(InvalidInput):
        catalogue.check_code_value("5.00", "EUR", "gid://shopify/Product/1")
    assert catalogue.check_code_value("5.00", "eur", None) == (500, "EUR")


async def test_a_burst_of_200_members_after_50_items_redeems_exactly_50(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now())
    members = list(range(1000, 1200))
    for user_id in members:
        await member(db, user_id, 150, clock.now())
    last = await reward(db, clock.now(), cost=100, stock=50)

    async def attempt(user_id: int) -> str:
        try:
            await redeem(db, user_id, last.id, f"press-{user_id}", clock)
        except SoldOut:
            return "gone"
        return "redeemed"

    outcomes = await asyncio.gather(*(attempt(u) for u in members))
    assert outcomes.count("redeemed") == 50 and outcomes.count("gone") == 150
    assert (await catalogue.get_reward(db, GUILD, last.id)).stock == 0
    assert await db.fetchval("SELECT COUNT(*) FROM redemptions WHERE reward_id = ?", (last.id,)) == 50
    assert await db.fetchval("SELECT COALESCE(SUM(points), 0) FROM point_spends") == 50 * 100
    for user_id in members:
        assert (await balance(db, GUILD, user_id)).spendable in (50, 150)
