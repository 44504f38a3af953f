"""Demo scene: mira sets the program up; alice, bob and chen apply; alice and chen are approved, bob is not (yet)."""

from __future__ import annotations

from datetime import timedelta

from bot.demo.stage import Demo
from emulator.models import Message

ANSWERS = {
    "alice": {
        "social": "https://instagram.com/alice.glows\nhttps://tiktok.com/@aliceglows",
        "niche": "morning skincare routines",
        "why": "The vitamin C serum fixed my dull skin; I recommend it to everyone.",
        "contact": "#1042",
        "city": "Lisbon",
    },
    "bob": {
        "social": "https://youtube.com/@bobreviews",
        "niche": "tech and gadget reviews",
        "why": "I bought a gift set for my sister and she loved it.",
        "contact": "",
        "city": "",
    },
    "chen": {
        "social": "https://instagram.com/chen.skin",
        "niche": "sensitive-skin care",
        "why": "Finally a brand that lists every ingredient; my skin never reacts.",
        "contact": "chen@example.com",
        "city": "Porto",
    },
}


def _review_post(demo: Demo, channel_id: int, user_id: int) -> Message:
    return next(
        m
        for m in reversed(demo.emu.state.messages_in(channel_id))
        if m.components and f"<@{user_id}>" in str(m.embeds[0].get("description", ""))
    )


def _button(message: Message, action: str) -> str:
    return next(c for c in message.custom_ids() if c.startswith(f"collective:application:{action}:"))


async def play(demo: Demo) -> None:
    demo.scene("The brand team sets up the program")
    await demo.slash("mira", "setup")
    review_id = demo.emu.state.channel_named(demo.guild_id, "review").id
    demo.narrate("running /setup again adopts what exists and creates nothing twice")
    await demo.slash("mira", "setup")

    await demo.advance_to(demo.clock.now() + timedelta(hours=1))
    demo.scene("Three customers apply")
    for name in ("alice", "bob", "chen"):
        opened = await demo.slash(name, "apply")
        actor = demo.emu.actor(demo.guild_id, demo.people[name])
        demo.print(f"   ({name} fills in the form and sends it)")
        sent = await actor.submit_modal(opened.modal, ANSWERS[name])
        demo.show_reply(sent, name)
    demo.show_message(_review_post(demo, review_id, demo.people["alice"]), "#review (moderators only)")

    await demo.advance_to(demo.clock.now() + timedelta(hours=2))
    demo.scene("mira reviews the queue")
    await demo.slash("mira", "applications")
    mira = demo.emu.actor(demo.guild_id, demo.people["mira"])
    for name in ("alice", "chen"):
        post = _review_post(demo, review_id, demo.people[name])
        demo.print(f"\n » mira presses Approve on {name}'s application")
        demo.show_reply(await mira.click(post, _button(post, "approve")), "mira")
        dm = demo.emu.dms_to(demo.people[name])[-1]
        demo.show_message(dm, f"{name} (DM)")
    post = _review_post(demo, review_id, demo.people["bob"])
    demo.print("\n » mira presses Reject on bob's application")
    asked = await mira.click(post, _button(post, "reject"))
    demo.show_reply(asked, "mira")
    reason = "We're looking for skincare creators right now; your gadget channel isn't a fit yet. Thank you!"
    demo.show_reply(await mira.submit_modal(asked.modal, {"reason": reason}), "mira")
    demo.show_message(demo.emu.dms_to(demo.people["bob"])[-1], "bob (DM)")
    demo.narrate("bob tries again the same day")
    await demo.slash("bob", "apply")
    await demo.slash("mira", "ambassador list")
