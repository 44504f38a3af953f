"""Demo scenes after the week: the affiliate side of the money — alice chooses store credit, November closes, mira
runs the month and marks alice's statement paid (the store makes a gift card and alice gets its code by DM), and the
next morning the daily tier rules move alice up to a new tier by her results."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.demo.stage import Demo
from emulator.models import Message


def _custom_id(message: Message, prefix: str) -> str:
    return next(c for c in message.custom_ids() if c.startswith(prefix))


def _next(demo: Demo, hour: int, minute: int = 0) -> datetime:
    """The next time the clock reads ``hour:minute`` (and half a minute, as the week's own scenes start)."""
    now = demo.clock.now()
    at = now.replace(hour=hour, minute=minute, second=30, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def _last_dm(demo: Demo, name: str, contains: str) -> Message:
    return next(m for m in reversed(demo.emu.dms_to(demo.people[name])) if contains in m.content + str(m.embeds))


async def play_statement(demo: Demo) -> None:
    store = demo.store
    assert store is not None, "the demo runs with the brand's store connected"
    demo.scene("alice would rather be paid in store credit")
    picker = await demo.slash("alice", "payouts method")
    assert picker.message is not None
    demo.print("\n » alice picks “Store credit”")
    alice = demo.emu.actor(demo.guild_id, demo.people["alice"])
    (select,) = picker.message.custom_ids()
    demo.show_reply(await alice.select(picker.message, select, ["store_credit"]), "alice")
    demo.narrate(
        "for the demo, commission is payable as soon as a month closes (the default waits 30 days for returns)"
    )
    await demo.slash("mira", "payouts settings", hold_days=0)

    await demo.advance_to(_next(demo, 0, 5))
    demo.scene("November is over: mira runs its payouts")
    review = await demo.slash("mira", "payouts run", period="2026-11")
    assert review.message is not None
    statement_id = int(await demo.bot.db.fetchval(
        "SELECT id FROM payout_statements WHERE guild_id = ? AND user_id = ? AND status = 'open'",
        (demo.guild_id, demo.people["alice"]),
    ))  # fmt: skip
    demo.print(f"\n » mira picks statement #{statement_id} under “Mark paid…”")
    mira = demo.emu.actor(demo.guild_id, demo.people["mira"])
    form = await mira.select(review.message, _custom_id(review.message, "collective:payouts:pay:"), [str(statement_id)])
    demo.show_reply(form, "mira")
    assert form.modal is not None
    demo.print("   (the reference is already filled in: “store credit”)")
    demo.show_reply(await mira.submit_modal(form.modal, {"reference": "store credit"}), "mira")
    await demo.bot.outbox.drain()
    for card in store.gift_cards:
        demo.narrate(f"the store now holds a gift card ending in {card.code[-4:]}: €{card.initial_value}, "
                     f"“{card.note}”")  # fmt: skip
    demo.show_message(_last_dm(demo, "alice", f"Statement #{statement_id} —"), "alice (DM)")
    demo.show_message(_last_dm(demo, "alice", "Your store credit"), "alice (DM)")


async def play_promotion(demo: Demo) -> None:
    demo.scene("Tiers that move by themselves")
    await demo.slash("mira", "settings tier", key="gold", name="Gold", commission="15",
                     perks="15% commission and the first look at every drop")  # fmt: skip
    await demo.slash("mira", "tiers rules", tier="gold", min_orders="3", window_days=90)
    await demo.slash("mira", "tiers preview")
    demo.narrate("nobody has moved yet: the rules run every morning at the digest's time")
    await demo.advance_to(_next(demo, 9))
    await demo.bot.outbox.drain()
    demo.scene("The morning's tier rules")
    demo.show_message(_last_dm(demo, "alice", "moved up to Gold"), "alice (DM)")
