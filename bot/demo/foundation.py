"""Demo scene: the bot arrives in the server; members and moderators see what they can do."""

from __future__ import annotations

from bot.demo.stage import Demo


async def play(demo: Demo) -> None:
    demo.scene("Glow Skincare installs Collective")
    demo.narrate(f"the bot connected and registered {len(demo.emu.state.global_commands)} slash commands")
    await demo.slash("alice", "help")
    await demo.slash("mira", "help")
    await demo.slash("mira", "status")
