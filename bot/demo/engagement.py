"""Demo scene: a focus-group poll (vote, change of mind, automatic close) and where alice stands."""

from __future__ import annotations

from datetime import timedelta

from bot.demo.stage import Demo
from bot.services.program import bindings
from emulator.models import Message

CHANNELS = ("focus_group", "leaderboard")


def _bot_posts(demo: Demo, channel_id: int) -> list[Message]:
    return [
        m
        for m in demo.emu.state.messages_in(channel_id, include_ephemeral=False)
        if m.author_id == demo.emu.bot.id and m.embeds
    ]


async def _press(demo: Demo, who: str, message: Message, poll_id: int, option: int, label: str) -> None:
    demo.print(f"\n » {who} presses “{label}”")
    reply = await demo.emu.actor(demo.guild_id, demo.people[who]).click(
        message, f"collective:poll:vote:{poll_id}:{option}"
    )
    demo.show_reply(reply, who)


async def play(demo: Demo) -> None:
    db, guild_id = demo.bot.db, demo.guild_id
    focus = await bindings.get_channel_id(db, guild_id, "focus_group")
    assert focus is not None

    demo.scene("Focus group: mira asks what to make next")
    before = len(_bot_posts(demo, focus))
    created = await demo.slash(
        "mira", "poll create", question="Which scent should we make next?", options="Rose | Vanilla oat | Citrus",
        duration="1d",
    )  # fmt: skip
    poll_id = int(created.content.split("#")[1].split()[0])
    await demo.advance_to(demo.clock.now())  # let the poll reach the channel
    poll_message = _bot_posts(demo, focus)[before]
    demo.show_message(poll_message, "#focus-group")

    await _press(demo, "alice", poll_message, poll_id, 1, "Vanilla oat")
    await _press(demo, "chen", poll_message, poll_id, 0, "Rose")
    demo.narrate("chen smells the samples again and changes her mind")
    await _press(demo, "chen", poll_message, poll_id, 1, "Vanilla oat")

    closes = demo.clock.now() + timedelta(days=1)
    await demo.advance_to(closes)
    demo.scene("A day later the poll closes by itself")
    demo.show_message(_bot_posts(demo, focus)[-1], "#focus-group")

    demo.scene("alice checks where she stands")
    await demo.slash("alice", "leaderboard")
    await demo.slash("alice", "profile")
