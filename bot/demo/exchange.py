"""Demo scenes after the week: the ambassador's side of the exchange — points spent on a reward whose code the
store makes, and a gifting campaign from opt-in to a delivered parcel, through the brand's store (bot/demo/store.py).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.demo.stage import Demo
from emulator import Reply
from emulator.driver import Actor
from emulator.models import Message

COOLDOWN = 1.1  # seconds: a member's presses are rate-limited in real time, as a person's would be spaced


def _button(message: Message, label: str) -> str:
    for row in message.components:
        for component in row.get("components", []):
            if str(component.get("label", "")).startswith(label):
                return str(component["custom_id"])
    raise LookupError(f"no {label!r} button")


async def _press(actor: Actor, message: Message, custom_id: str) -> Reply:
    """A member's press, spaced as a person's presses are (the rate limit counts real seconds)."""
    await asyncio.sleep(COOLDOWN)
    return await actor.click(message, custom_id)


def _last_dm(demo: Demo, name: str, contains: str) -> Message:
    return next(m for m in reversed(demo.emu.dms_to(demo.people[name])) if contains in m.content + str(m.embeds))


async def play_rewards(demo: Demo) -> None:
    store = demo.store
    assert store is not None
    demo.scene("Points buy things")
    made = await demo.slash(
        "mira", "reward create", title="€10 off your next order", cost=100, kind="code", amount="10.00",
        currency="EUR", stock=20, description="Thanks for everything you share",
    )  # fmt: skip
    reward_id = int(made.content.split("#")[1].split()[0])
    alice = demo.emu.actor(demo.guild_id, demo.people["alice"])
    shown = await demo.slash("alice", "rewards")
    message = shown.message
    assert message is not None
    redeem = f"collective:reward:redeem:{reward_id}"
    while redeem not in message.custom_ids():
        turned = await _press(alice, message, _button(message, "Next"))
        assert turned.message is not None
        message = turned.message
    demo.print("\n » alice presses Redeem")
    offer = await _press(alice, message, redeem)
    demo.show_reply(offer, "alice")
    assert offer.message is not None
    confirm = next(c for c in offer.message.custom_ids() if c.startswith("collective:reward:confirm:"))
    demo.print("\n » alice presses Confirm")
    demo.show_reply(await _press(alice, offer.message, confirm), "alice")
    await demo.bot.outbox.drain()
    code = await demo.bot.db.fetchval(
        "SELECT code FROM redemptions WHERE guild_id = ? AND user_id = ?", (demo.guild_id, demo.people["alice"])
    )
    held = store.state.discount_by_code(str(code))
    if held is not None:
        demo.narrate(f"the store now holds {held.code}: €{held.amount} off, usable once, until {held.ends_at:%d %b}")
    demo.show_message(_last_dm(demo, "alice", str(code)), "alice (DM)")


async def play_gifting(demo: Demo) -> None:
    store = demo.store
    assert store is not None
    demo.scene("A gifting campaign: a new serum, three to give")
    serum = store.add_product("Vitamin C Serum", price="32.00", variants=["30 ml"])
    mira = demo.emu.actor(demo.guild_id, demo.people["mira"])
    offered = await mira.autocomplete("gift create", "product", "serum")
    picked = next(c["value"] for c in offered if str(c["name"]).startswith(serum.title))
    closes = demo.clock.now() + timedelta(hours=3)
    await demo.slash("mira", "gift create", product=picked, quantity=3, closes=f"{closes:%Y-%m-%d %H:%M}")
    channel = demo.emu.state.channel_named(demo.guild_id, "announcements").id
    post = next(m for m in reversed(demo.emu.state.messages_in(channel)) if m.embeds and "🎁" in str(m.embeds[0]))
    demo.show_message(post, "#announcements")
    for name in ("alice", "chen"):
        demo.print(f"\n » {name} presses “I'd love one”")
        actor = demo.emu.actor(demo.guild_id, demo.people[name])
        demo.show_reply(await _press(actor, post, _button(post, "I'd love one")), name)

    await demo.advance_to(closes + timedelta(minutes=1))
    await demo.bot.outbox.drain()
    demo.narrate("the window closed: both are chosen, and asked where to send it")
    invite = _last_dm(demo, "alice", "chosen")
    demo.show_message(invite, "alice (DM)")
    alice = demo.emu.actor(demo.guild_id, demo.people["alice"])
    form = await _press(alice, invite, _button(invite, "Add shipping details"))
    assert form.modal is not None
    demo.print("   (alice fills in the private form: only she and the moderators who ship ever see it)")
    address = {"name": "Alice Silva", "address": "Rua Augusta 12", "city": "Lisboa", "postal_code": "1100-053",
               "country": "PT"}  # fmt: skip
    demo.show_reply(await alice.submit_modal(form.modal, address), "alice")
    await demo.bot.outbox.drain()
    orders = [o for o in store.orders if o.shipping_address is not None]
    for order in orders:
        demo.narrate(f"the store has order {order.name} for {order.shipping_address['city']}: €0.00, 100 % off "  # type: ignore[index]
                     "— the brand's usual fulfilment ships it")  # fmt: skip
    if orders:
        store.fulfil(orders[0], tracking_url="https://track.example/CTT123")
        await demo.advance_to(demo.clock.now() + timedelta(hours=1))
        await demo.bot.outbox.drain()
        demo.show_message(_last_dm(demo, "alice", "CTT123"), "alice (DM)")
        store.fulfil(orders[0], delivered=True)
        await demo.advance_to(demo.clock.now() + timedelta(hours=1))
        await demo.bot.outbox.drain()
        demo.show_message(_last_dm(demo, "alice", "delivered"), "alice (DM)")
