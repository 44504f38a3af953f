"""Payouts end to end (issue 18): orders placed in the fake Shopify reach the bot by webhook, the holding period
passes and the month closes, a moderator runs it, two moderators mark the statement paid at once (one wins, the
other is told), and the ambassador gets the statement by DM — once — and finds it in /payouts mine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.clock import FixedClock
from bot.services.affiliates.rules import rate_of
from bot.services.sales.ledger import share
from emulator import Emulator
from emulator.shop import FakeShopify
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_onboarding_e2e import apply, button, review_post, setup_program, until
from tests.e2e.test_shop_e2e import code_of, settled, shop_runner  # noqa: F401 — the fixture

CLOSED = datetime(2027, 1, 2, 9, 0, tzinfo=UTC)  # December is over; November's orders are past their 30 days


async def test_sales_to_a_paid_statement_and_the_ambassadors_dm(
    emu: Emulator,
    world: World,
    shop_runner: BotRunner,  # noqa: F811 — the fixture imported above
    fake_shop: FakeShopify,
) -> None:
    bot = await shop_runner.start()
    gid = world.guild.id
    mira, owner = emu.actor(gid, world.moderator.id), emu.actor(gid, world.owner.id)
    alice = emu.actor(gid, world.alice.id)
    review_id = await setup_program(emu, world)
    await mira.slash("settings tier", key="affiliate", name="Affiliate", commission="10")
    await apply(emu, world, world.alice.id)
    post = review_post(emu, review_id, world.alice.id)
    await mira.click(post, button(post, "approve"))
    await mira.slash("ambassador tier", member=world.alice.id, tier="affiliate")
    rules = await mira.slash("payouts rules", tier="affiliate", first_order_rate="20")
    assert rules.ephemeral and "20% on a buyer's first order" in rules.content, rules.content
    await settled(bot)
    code = await code_of(bot, gid, world.alice.id)

    first = await fake_shop.place_order(code=code, total="100.00", email="buyer@example.com")
    second = await fake_shop.place_order(code=code, total="50.00", email="buyer@example.com")
    await fake_shop.refund(second, "10.00")  # inside the holding period: reduces the commission before it is due
    await until(
        lambda: len(fake_shop.deliveries) >= 3 and all(d.status == 200 for d in fake_shop.deliveries),
        "the orders and the refund delivered by webhook",
    )
    nets = {
        r["order_id"]: int(r["net_minor"])
        for r in await bot.db.fetchall("SELECT order_id, net_minor FROM sales WHERE kind = 'sale'")
    }
    assert set(nets) == {str(first.id), str(second.id)}
    refunded = -int(await bot.db.fetchval("SELECT SUM(net_minor) FROM sales WHERE kind = 'refund'"))
    whole = rate_of(nets[str(second.id)], 1000)
    # The buyer's first order earns the first-order rate (20 %), the second the tier's 10 % less the refunded share.
    expected = rate_of(nets[str(first.id)], 2000) + whole - share(whole, refunded, nets[str(second.id)])
    card = str((await alice.slash("code")).embeds)
    assert "pending" in card and "0.00 USD payable" in card, card

    clock = shop_runner.clock
    assert isinstance(clock, FixedClock)
    clock.set(CLOSED)
    review = await mira.slash("payouts run", period="2026-12")
    assert review.ephemeral and review.message is not None, review.content
    text = str(review.embeds)
    assert "Payouts — December 2026" in text and "To pay" in text
    statement_id = int(await bot.db.fetchval("SELECT id FROM payout_statements"))
    total = int(await bot.db.fetchval("SELECT total_minor FROM payout_statements"))
    assert total == expected
    again = await owner.slash("payouts run", period="2026-12")
    assert "was run before" in str(again.embeds) and again.message is not None
    assert await bot.db.fetchval("SELECT COUNT(*) FROM payout_runs") == 1

    # Two moderators pick the statement and submit their references at the same moment.
    pick = next(c for c in review.message.custom_ids() if c.startswith("collective:payouts:pay:"))
    forms = [
        await mira.select(review.message, pick, [str(statement_id)]),
        await owner.select(again.message, pick, [str(statement_id)]),
    ]
    assert all(f.modal is not None for f in forms)
    answers = await asyncio.gather(
        mira.submit_modal(forms[0].modal, {"reference": "PAYPAL-1"}),
        owner.submit_modal(forms[1].modal, {"reference": "PAYPAL-2"}),
    )
    won = [a for a in answers if a.content.startswith("✅")]
    told = [a for a in answers if "already marked paid" in a.content]
    assert len(won) == 1 and len(told) == 1, [a.content for a in answers]
    assert all(a.ephemeral for a in answers)
    await settled(bot)
    statements = [m for m in emu.state.dms_to(world.alice.id) if f"Statement #{statement_id}" in str(m.embeds)]
    assert len(statements) == 1, "the ambassador gets the statement once"
    dm = str(statements[0].embeds)
    assert "Paid" in dm and ("PAYPAL-1" in dm or "PAYPAL-2" in dm)
    assert await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'payouts.paid'") == 1

    mine = await alice.slash("payouts mine")
    assert mine.ephemeral and f"Statement #{statement_id}" in str(mine.embeds)
    card = str((await alice.slash("code")).embeds)
    assert "Nothing pending or payable" in card, card  # paid
    export = await mira.slash("payouts export", period="2026-12", layout="generic")
    (data,) = export.files.values()
    assert f"{statement_id},2026-12,{world.alice.id}" in data.decode() and ",paid," in data.decode()
    refused = await alice.slash("payouts run", period="2026-12")
    assert refused.ephemeral and "moderators" in refused.content
