"""Rewards of the kind "a product to ship": the gift queue carries the redemption (a real migrated database)."""

from __future__ import annotations

import pytest

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import Conflict, InvalidInput
from bot.services.gifting import fulfilment, shipping
from bot.services.gifting.addresses import ShippingDetails
from bot.services.rewards import catalogue, redemptions
from bot.services.rewards import forget as rewards_forget
from bot.services.rewards.balance import balance
from tests.unit.rewards_world import GUILD, MODERATOR, member, program, reward

ADDRESS = ShippingDetails("Bob Stone", "Rua A 1", None, "Lisboa", "1000-001", "PT")


async def redeem(db: Database, user_id: int, reward_id: int, key: str, clock: FixedClock) -> redemptions.Redeemed:
    return await db.perform(redemptions.redeem, GUILD, user_id, reward_id, key, clock.now())


async def spends(db: Database, user_id: int) -> list[tuple[int, str]]:
    rows = await db.fetchall(
        "SELECT points, reference FROM point_spends WHERE guild_id = ? AND user_id = ? ORDER BY id", (GUILD, user_id)
    )
    return [(int(r[0]), r[1]) for r in rows]


async def status_of(db: Database, redemption_id: int) -> str:
    found = await redemptions.find_redemption(db, redemption_id)
    assert found is not None
    return found.status


async def test_the_kind_needs_a_product_and_takes_no_code_or_role(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now(), shop=False)
    made = await catalogue.new_fields(db, GUILD, kind="ship", title="Serum", description=None, image_link=None,
                                      cost=10, stock=2, per_member_limit=None, tier=None,
                                      ship_product="  Glow   serum 30 ml ")  # fmt: skip
    assert (made.ship_product, made.ship_variant_ref) == ("Glow serum 30 ml", None)
    for bad in ({"ship_product": " "}, {"ship_product": "x", "amount": "5"}, {"ship_product": "x", "role_id": 4}):
        with pytest.raises(InvalidInput):
            await catalogue.new_fields(
                db,
                GUILD,
                kind="ship",
                title="Serum",
                description=None,
                image_link=None,
                cost=10,
                stock=2,
                per_member_limit=None,
                tier=None,
                **bad,
            )
    with pytest.raises(InvalidInput, match="only for rewards of the kind"):
        await catalogue.new_fields(db, GUILD, kind="perk", title="Call", description=None, image_link=None, cost=10,
                                   stock=None, per_member_limit=None, tier=None, ship_product="Serum")  # fmt: skip


async def test_redeeming_asks_for_the_address_and_shipping_fulfils_it(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now(), shop=False)
    await member(db, 1, 100, clock.now())
    serum = await reward(db, clock.now(), "ship", cost=60, stock=3, ship_product="Glow serum")
    assert serum.what() == "Glow serum, shipped to you"
    done = await redeem(db, 1, serum.id, "a", clock)
    rid = done.redemption.id
    gift = await fulfilment.gift_of_redemption(db, GUILD, rid)
    assert gift is not None and (gift.what, gift.route, gift.state) == ("Glow serum", "queue", "awaiting_address")
    assert gift.redemption_id == rid
    await redeem(db, 1, serum.id, "a", clock)  # a double click: one gift, one spend
    assert len(await db.fetchall("SELECT id FROM gifts")) == 1
    assert await spends(db, 1) == [(60, f"redemption:{rid}")]
    ready = await db.perform(shipping.save_details, GUILD, 1, ADDRESS, clock.now())
    assert [g.id for g in ready] == [gift.id]
    await db.perform(fulfilment.mark_shipped, GUILD, gift.id, "https://track.example/1", MODERATOR, clock.now())
    assert await status_of(db, rid) == "fulfilled"
    with pytest.raises(Conflict, match="already fulfilled"):
        await db.perform(redemptions.cancel, GUILD, rid, "too late", clock.now(), actor_id=MODERATOR)
    with pytest.raises(Conflict):
        await db.perform(fulfilment.cancel_gift, GUILD, gift.id, "too late", MODERATOR, clock.now())
    assert (await balance(db, GUILD, 1)).spendable == 40


async def test_a_moderator_cancelling_the_gift_refunds_points_and_stock_once(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now(), shop=False)
    await member(db, 1, 100, clock.now())
    serum = await reward(db, clock.now(), "ship", cost=60, stock=1, ship_product="Glow serum")
    rid = (await redeem(db, 1, serum.id, "a", clock)).redemption.id
    gift = await fulfilment.gift_of_redemption(db, GUILD, rid)
    assert gift is not None
    with pytest.raises(InvalidInput):
        await db.perform(fulfilment.cancel_gift, GUILD, gift.id, " ", MODERATOR, clock.now())
    cancelled, refunded = await db.perform(fulfilment.cancel_gift, GUILD, gift.id, "out of serum", MODERATOR,
                                           clock.now())  # fmt: skip
    assert refunded and cancelled.state == "cancelled"
    with pytest.raises(Conflict, match="already cancelled"):
        await db.perform(fulfilment.cancel_gift, GUILD, gift.id, "again", MODERATOR, clock.now())
    assert await spends(db, 1) == [(60, f"redemption:{rid}"), (-60, f"refund:{rid}")]
    assert (await balance(db, GUILD, 1)).spendable == 100
    assert (await catalogue.get_reward(db, GUILD, serum.id)).stock == 1
    assert await status_of(db, rid) == "cancelled"
    found = await redemptions.find_redemption(db, rid)
    assert found is not None and found.close_reason == "out of serum"
    actions = [r[0] for r in await db.fetchall("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["reward.create", "gift.cancel"]
    notices = await db.fetchall("SELECT key FROM outbox WHERE topic = ?", (redemptions.NOTICE,))
    assert [r[0] for r in notices] == [f"{rid}:refunded"]  # one DM: the refund says why
    tells = await db.fetchall("SELECT key FROM outbox WHERE topic = ? AND key LIKE '%cancelled'", (fulfilment.TELL,))
    assert tells == []


async def test_cancelling_the_redemption_calls_the_gift_back(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now(), shop=False)
    await member(db, 1, 100, clock.now())
    serum = await reward(db, clock.now(), "ship", cost=60, stock=None, ship_product="Glow serum")
    rid = (await redeem(db, 1, serum.id, "a", clock)).redemption.id
    await db.perform(redemptions.cancel, GUILD, rid, "discontinued", clock.now(), actor_id=MODERATOR)
    gift = await fulfilment.gift_of_redemption(db, GUILD, rid)
    assert gift is not None and gift.state == "cancelled"
    assert await spends(db, 1) == [(60, f"redemption:{rid}"), (-60, f"refund:{rid}")]


async def test_a_gift_already_ordered_in_the_store_cannot_be_cancelled(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now(), shop=True)
    await member(db, 1, 100, clock.now())
    await db.perform(shipping.save_details, GUILD, 1, ADDRESS, clock.now())
    serum = await reward(db, clock.now(), "ship", cost=60, ship_product="Glow serum", ship_variant_ref="gid://v/1")
    rid = (await redeem(db, 1, serum.id, "a", clock)).redemption.id
    gift = await fulfilment.gift_of_redemption(db, GUILD, rid)
    assert gift is not None and (gift.route, gift.state) == ("shop", "ready")
    orders = await db.fetchall("SELECT key FROM outbox WHERE topic = ?", (fulfilment.ORDER,))
    assert [r[0] for r in orders] == [str(gift.id)]
    await db.perform(fulfilment.record_ordered, gift.id, "gid://order/9", "#1009", clock.now())
    with pytest.raises(Conflict, match="in the store"):
        await db.perform(fulfilment.cancel_gift, GUILD, gift.id, "no", MODERATOR, clock.now())
    with pytest.raises(Conflict, match="in the store"):
        await db.perform(redemptions.cancel, GUILD, rid, "no", clock.now(), actor_id=MODERATOR)
    assert (await balance(db, GUILD, 1)).spendable == 40
    await db.perform(fulfilment.record_fulfilment, gift.id, shipped=True, delivered=False, tracking_url=None,
                     now=clock.now())  # fmt: skip
    assert await status_of(db, rid) == "fulfilled"


async def test_forget_refunds_what_waits_and_erases_what_redemptions_hold(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now())
    await member(db, 1, 300, clock.now())
    serum = await reward(db, clock.now(), "ship", cost=60, ship_product="Glow serum")
    code = await reward(db, clock.now(), "code", cost=50)
    shipped_rid = (await redeem(db, 1, serum.id, "a", clock)).redemption.id
    code_rid = (await redeem(db, 1, code.id, "b", clock)).redemption.id
    await db.perform(redemptions.cancel, GUILD, code_rid, "Bob asked to swap", clock.now(), actor_id=MODERATOR)
    fulfilled_rid = (await redeem(db, 1, code.id, "c", clock)).redemption.id
    async with db.transaction() as tx:
        await tx.execute("UPDATE redemptions SET status = 'fulfilled', remote_ref = 'gid://d/1' WHERE id = ?",
                         (fulfilled_rid,))  # fmt: skip
    async with db.transaction() as tx:
        closed = await rewards_forget.forget(tx, GUILD, 1, clock.now())
        await shipping.forget(tx, GUILD, 1, clock.now())
    assert closed == 1  # the product still waiting to ship
    rows = await db.fetchall("SELECT id, status, code, remote_ref, close_reason FROM redemptions ORDER BY id")
    assert [tuple(r) for r in rows] == [
        (shipped_rid, "cancelled", None, None, "(erased)"),
        (code_rid, "cancelled", None, None, "(erased)"),
        (fulfilled_rid, "fulfilled", None, None, None),
    ]
    assert (await balance(db, GUILD, 1)).spendable == 250  # counts stay exact: 300 earned, one code of 50 stands
    notices = await db.fetchall("SELECT key FROM outbox WHERE topic = ?", (redemptions.NOTICE,))
    assert [r[0] for r in notices] == [f"{code_rid}:refunded"]  # no DM to a forgotten member
    gift = await fulfilment.gift_of_redemption(db, GUILD, shipped_rid)
    assert gift is not None and gift.state == "cancelled" and gift.cancel_reason is None


async def test_the_fulfilment_export_is_audited_with_its_row_count_only(db: Database, clock: FixedClock) -> None:
    await program(db, clock.now(), shop=False)
    await member(db, 1, 100, clock.now())
    serum = await reward(db, clock.now(), "ship", cost=60, ship_product="Glow serum")
    await redeem(db, 1, serum.id, "a", clock)
    await db.perform(shipping.save_details, GUILD, 1, ADDRESS, clock.now())
    text, rows = await db.perform(fulfilment.export_csv, GUILD, MODERATOR, clock.now())
    assert rows == 1 and "Rua A 1" in text
    (entry,) = await db.fetchall("SELECT actor_id, action, details FROM audit_log WHERE action = 'fulfilment.export'")
    assert entry[0] == MODERATOR and '"rows": 1' in entry[2]
    assert "Rua" not in entry[2] and "Bob" not in entry[2]


async def test_cancelling_a_campaigns_gift_tells_the_member_why_and_refunds_nothing(
    db: Database, clock: FixedClock
) -> None:
    await program(db, clock.now(), shop=False)
    await member(db, 2, 0, clock.now())
    gift = await db.perform(fulfilment.request_fulfilment, GUILD, 2, "Tote bag", "campaign:5", clock.now())
    cancelled, refunded = await db.perform(fulfilment.cancel_gift, GUILD, gift.id, "Sold out", MODERATOR,
                                           clock.now())  # fmt: skip
    assert not refunded and cancelled.cancel_reason == "Sold out"
    tells = await db.fetchall("SELECT key FROM outbox WHERE topic = ? ORDER BY id", (fulfilment.TELL,))
    assert [r[0] for r in tells] == [f"gift:{gift.id}:asked", f"gift:{gift.id}:cancelled"]
    assert await db.fetchval("SELECT COUNT(*) FROM point_spends") == 0
