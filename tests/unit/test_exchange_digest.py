"""The digest's lines for the ambassador's side of the exchange: rewards redeemed and gifts shipped this week
(everyone), and what waits too long to be handed out or shipped (moderators only) — never an address."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.clock import FixedClock
from bot.db import Database
from bot.services.digest.sections import DigestWindow
from bot.services.gifting import fulfilment, shipping
from bot.services.gifting.digest import gifting_section
from bot.services.rewards import redemptions
from bot.services.rewards.digest import rewards_section
from tests.unit.rewards_world import GUILD, MODERATOR, member, program, reward
from tests.unit.test_gifting_fulfilment import FORM


async def test_redeemed_shipped_and_waiting_too_long(db: Database, clock: FixedClock) -> None:
    start = clock.now()
    await program(db, start, shop=False)
    await member(db, 1, 500, start)
    await member(db, 2, 500, start)
    tote = await reward(db, start, "perk", cost=50)
    await db.perform(redemptions.redeem, GUILD, 1, tote.id, "press-1", start)
    await db.perform(redemptions.redeem, GUILD, 2, tote.id, "press-2", start)
    await db.perform(shipping.save_details, GUILD, 1, shipping.check_form(**FORM), start)
    await db.perform(shipping.save_details, GUILD, 2, shipping.check_form(**FORM), start)
    shipped = await db.perform(fulfilment.request_fulfilment, GUILD, 1, "Serum", "campaign:1", start)
    await db.perform(fulfilment.request_fulfilment, GUILD, 2, "Serum", "campaign:1", start)  # never shipped
    await db.perform(fulfilment.mark_shipped, GUILD, shipped.id, "https://track.example.com/1", MODERATOR,
                     start + timedelta(days=1))  # fmt: skip

    window = DigestWindow(start - timedelta(days=1), start + timedelta(days=6), ZoneInfo("UTC"))
    rewards = {s.key: s for s in await rewards_section(db, GUILD, window)}
    assert rewards["rewards"].audience == "public" and rewards["rewards"].lines[0] == "2 rewards redeemed with points"
    assert "A perk reward ×2" in rewards["rewards"].lines
    assert rewards["rewards_waiting"].audience == "moderators" and len(rewards["rewards_waiting"].lines) == 2
    gifts = {s.key: s for s in await gifting_section(db, GUILD, window)}
    assert gifts["gifting"].lines == ["1 gift shipped to ambassadors", "Serum ×1"]
    assert gifts["gifting_waiting"].audience == "moderators" and len(gifts["gifting_waiting"].lines) == 1
    shown = str([*rewards.values(), *gifts.values()])
    assert "Torstraße" not in shown and FORM["postal_code"] not in shown and "Alice Doe" not in shown  # no address

    quiet = DigestWindow(start + timedelta(days=30), start + timedelta(days=37), ZoneInfo("UTC"))
    assert [s.key for s in await rewards_section(db, GUILD, quiet)] == ["rewards_waiting"]  # still waiting
