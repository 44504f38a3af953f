"""Demo scene: a brief is published, alice takes part and is rewarded; an insider drop goes out on time."""

from __future__ import annotations

from datetime import timedelta

from bot.demo.stage import Demo
from bot.services.engagement import points
from bot.services.program import bindings
from bot.services.program.guild_settings import get_settings
from emulator.models import Message

CHANNELS = ("briefs", "drops", "showcase", "review")


def _button(message: Message, label: str) -> str:
    for row in message.components:
        for component in row.get("components", []):
            if str(component.get("label", "")).startswith(label):
                return str(component["custom_id"])
    raise RuntimeError(f"no {label!r} button on the message")


async def play(demo: Demo) -> None:
    guild_id, emu = demo.guild_id, demo.emu
    zone = (await get_settings(demo.bot.db, guild_id)).zone
    mira = emu.actor(guild_id, demo.people["mira"])
    alice = emu.actor(guild_id, demo.people["alice"])
    briefs_channel = await bindings.get_channel_id(demo.bot.db, guild_id, "briefs")
    review_channel = await bindings.get_channel_id(demo.bot.db, guild_id, "review")
    drops_channel = await bindings.get_channel_id(demo.bot.db, guild_id, "drops")
    assert briefs_channel and review_channel and drops_channel

    demo.scene("Mira briefs the ambassadors")
    form = await demo.slash("mira", "brief create")
    due = (demo.clock.now() + timedelta(days=10)).astimezone(zone).strftime("%Y-%m-%d")
    demo.narrate(f"mira fills in the form: a winter routine video, due {due}, 40 points")
    preview = await mira.submit_modal(
        form.modal,
        {
            "title": "Winter glow routine",
            "what": "Show us your 20-second morning routine with the Dew serum, in natural light.",
            "deliverables": "1 TikTok or Reel · 15–30 s · #GlowRoutine #DewSerum · tag @glowskincare",
            "due": due,
            "points": "40",
        },
    )
    demo.show_reply(preview, "mira")
    assert preview.message is not None
    await mira.click(preview.message, _button(preview.message, "Publish"))
    brief_message = emu.state.messages_in(briefs_channel, include_ephemeral=False)[-1]
    demo.show_message(brief_message, "#briefs (with a thread for questions)")

    demo.scene("Alice takes part")
    joined = await alice.click(brief_message, _button(brief_message, "I'm in"))
    demo.print("\n » alice presses “I'm in”")
    demo.show_reply(joined, "alice")
    demo.print(" » alice presses “Submit” and pastes her TikTok link")
    form = await alice.click(brief_message, _button(brief_message, "Submit"))
    consent = await alice.submit_modal(
        form.modal, {"link": "https://www.tiktok.com/@alice/video/7301", "note": "Filmed at sunrise!"}
    )
    demo.show_reply(consent, "alice")
    assert consent.message is not None
    done = await alice.click(consent.message, _button(consent.message, "Submit"))
    demo.show_reply(done, "alice")
    review = emu.state.messages_in(review_channel, include_ephemeral=False)[-1]
    demo.show_message(review, "#review")

    demo.scene("Mira reviews it")
    demo.print("\n » mira presses “Approve” and writes her feedback")
    form = await mira.click(review, _button(review, "Approve"))
    decided = await mira.submit_modal(
        form.modal, {"feedback": "Love the morning light — featuring it in the showcase!", "feature": ["yes"]}
    )
    for followup in decided.followups:
        demo.show_message(followup, "mira (only she sees this)")
    demo.show_message(emu.dms_to(demo.people["alice"])[-1], "alice's DMs")
    balance = await points.balance(demo.bot.db, guild_id, demo.people["alice"])
    demo.narrate(f"alice now has {balance} points")

    demo.scene("An insider drop, scheduled")
    publish_at = (demo.clock.now() + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    embargo = publish_at + timedelta(days=3)
    await demo.slash(
        "mira",
        "drop create",
        title="Sneak peek: the Dew serum refill pouch",
        body="Our first refill pouch, 70% less plastic. Launching soon — you're seeing it first.",
        publish_at=publish_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        embargo=embargo.astimezone(zone).strftime("%Y-%m-%d"),
    )
    await demo.advance_to(publish_at)
    demo.scene("The drop goes out on time")
    drop_message = emu.state.messages_in(drops_channel, include_ephemeral=False)[-1]
    demo.show_message(drop_message, "#drops")
    ack = await alice.click(drop_message, _button(drop_message, "I won't share"))
    demo.print("\n » alice presses the acknowledgement button")
    demo.show_reply(ack, "alice")
