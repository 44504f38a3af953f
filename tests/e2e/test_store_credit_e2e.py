"""Store credit end to end (issue 18 item 4): an ambassador picks store credit in /payouts method, a sale reaches
the bot from the fake Shopify, the month closes and is run, a moderator marks the statement paid — and the fake shop
holds one gift card for the total, the ambassador's DM carries its code (once), /payouts mine shows it to them
alone, also after they have left the program."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import FixedClock
from emulator import Emulator
from emulator.shop import FakeShopify
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_onboarding_e2e import apply, button, review_post, setup_program, until
from tests.e2e.test_shop_e2e import code_of, settled, shop_runner  # noqa: F401 — the fixture

CLOSED = datetime(2027, 1, 2, 9, 0, tzinfo=UTC)


async def test_a_store_credit_statement_paid_becomes_one_gift_card_whose_code_is_dmd(
    emu: Emulator,
    world: World,
    shop_runner: BotRunner,  # noqa: F811 — the fixture imported above
    fake_shop: FakeShopify,
) -> None:
    fake_shop.scopes.add("write_gift_cards")
    bot = await shop_runner.start()
    gid = world.guild.id
    mira, alice = emu.actor(gid, world.moderator.id), emu.actor(gid, world.alice.id)
    review_id = await setup_program(emu, world)
    await mira.slash("settings tier", key="affiliate", name="Affiliate", commission="10")
    await apply(emu, world, world.alice.id)
    post = review_post(emu, review_id, world.alice.id)
    await mira.click(post, button(post, "approve"))
    await mira.slash("ambassador tier", member=world.alice.id, tier="affiliate")
    await settled(bot)

    picker = await alice.slash("payouts method")
    assert picker.ephemeral and picker.message is not None and "You're paid in cash" in str(picker.embeds)
    (select_id,) = picker.message.custom_ids()
    chosen = await alice.select(picker.message, select_id, ["store_credit"])
    assert "✅ Saved" in str(chosen.embeds) and "gift card" in str(chosen.embeds), chosen.embeds
    assert await bot.db.fetchval("SELECT method FROM payout_methods WHERE user_id = ?", (world.alice.id,)) == (
        "store_credit"
    )

    code = await code_of(bot, gid, world.alice.id)
    await fake_shop.place_order(code=code, total="200.00", email="buyer@example.com")
    await until(lambda: fake_shop.deliveries and all(d.status == 200 for d in fake_shop.deliveries), "the order")
    clock = shop_runner.clock
    assert isinstance(clock, FixedClock)
    clock.set(CLOSED)
    review = await mira.slash("payouts run", period="2026-12")
    assert review.message is not None and "in store credit" in str(review.embeds), review.embeds
    statement_id, total = await bot.db.fetchone("SELECT id, total_minor FROM payout_statements")  # type: ignore[misc]
    pick = next(c for c in review.message.custom_ids() if c.startswith("collective:payouts:pay:"))
    form = await mira.select(review.message, pick, [str(statement_id)])
    assert form.modal is not None
    done = await mira.submit_modal(form.modal, {"reference": "store credit"})
    assert done.ephemeral and "in store credit" in done.content, done.content
    await settled(bot)

    (card,) = fake_shop.gift_cards
    assert card.initial_value * 100 == total and card.currency == "USD"
    gift_code = await bot.db.fetchval("SELECT code FROM store_credits WHERE statement_id = ?", (statement_id,))
    assert card.code == gift_code
    dms = [m for m in emu.state.dms_to(world.alice.id) if gift_code in str(m.embeds)]
    assert len(dms) == 1 and "Your store credit" in str(dms[0].embeds)
    statement_dm = [m for m in emu.state.dms_to(world.alice.id) if f"Statement #{statement_id}" in str(m.embeds)]
    assert any("Paid in store credit" in str(m.embeds) for m in statement_dm)
    logged = await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE details LIKE ?", (f"%{gift_code}%",))
    assert logged == 0, "the code is never in the audit log"

    await bot.db.execute("UPDATE members SET status = 'left' WHERE user_id = ?", (world.alice.id,))
    mine = await alice.slash("payouts mine")  # a former ambassador still sees what they were paid
    assert mine.ephemeral and f"Statement #{statement_id}" in str(mine.embeds) and gift_code in str(mine.embeds)
    assert len(fake_shop.gift_cards) == 1


async def test_a_shop_away_at_mark_paid_never_blocks_the_moderator_and_the_card_comes_later(
    emu: Emulator,
    world: World,
    shop_runner: BotRunner,  # noqa: F811 — the fixture imported above
    fake_shop: FakeShopify,
) -> None:
    fake_shop.scopes.add("write_gift_cards")
    bot = await shop_runner.start()
    gid = world.guild.id
    mira, alice = emu.actor(gid, world.moderator.id), emu.actor(gid, world.alice.id)
    review_id = await setup_program(emu, world)
    await mira.slash("settings tier", key="affiliate", name="Affiliate", commission="10")
    await apply(emu, world, world.alice.id)
    post = review_post(emu, review_id, world.alice.id)
    await mira.click(post, button(post, "approve"))
    await mira.slash("ambassador tier", member=world.alice.id, tier="affiliate")
    await settled(bot)
    picker = await alice.slash("payouts method")
    assert picker.message is not None
    await alice.select(picker.message, picker.message.custom_ids()[0], ["store_credit"])
    await fake_shop.place_order(code=await code_of(bot, gid, world.alice.id), total="80.00")
    await until(lambda: fake_shop.deliveries and all(d.status == 200 for d in fake_shop.deliveries), "the order")
    clock = shop_runner.clock
    assert isinstance(clock, FixedClock)
    clock.set(CLOSED)
    review = await mira.slash("payouts run", period="2026-12")
    assert review.message is not None
    statement_id = int(await bot.db.fetchval("SELECT id FROM payout_statements"))

    await fake_shop.go_down()
    pick = next(c for c in review.message.custom_ids() if c.startswith("collective:payouts:pay:"))
    form = await mira.select(review.message, pick, [str(statement_id)])
    assert form.modal is not None
    done = await mira.submit_modal(form.modal, {"reference": "store credit"})
    assert done.content.startswith("✅"), done.content  # answered at once: the shop is not in the way
    await settled(bot)
    assert fake_shop.gift_cards == []
    assert await bot.db.fetchval("SELECT status FROM store_credits") == "owed"

    await fake_shop.come_back()
    clock.advance(timedelta(hours=1))  # the outbox's own retries, or after it gave up, the retry loop
    cog: Any = bot.get_cog("Store credit")  # the extension's own module copy: no isinstance here
    assert cog is not None and hasattr(cog, "retry_owed")
    assert await cog.retry_owed() == 1
    await settled(bot)
    (card,) = fake_shop.gift_cards
    assert await bot.db.fetchval("SELECT status FROM store_credits") == "created"
    assert sum(card.code in str(m.embeds) for m in emu.state.dms_to(world.alice.id)) == 1
    assert await cog.retry_owed() == 0 and len(fake_shop.gift_cards) == 1
