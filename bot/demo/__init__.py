"""``python -m bot demo``: a scripted week of a small program, played against the local Discord emulator.

No Discord account is needed: the emulator stands in for Discord over loopback, and the unmodified bot
connects to it exactly as it would to Discord. The transcript shows what members and moderators saw.
Each capability adds a scene module here; ``SCENES`` plays them in order.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import FixedClock
from bot.demo import (
    affiliates,
    codes,
    content,
    digest,
    engagement,
    events,
    exchange,
    foundation,
    money,
    onboarding,
    store,
)
from bot.demo.stage import TOKEN, Demo, running_bot
from emulator import Emulator

# A Monday, half a minute after the digest's default time (09:00 UTC): the scripted week ends exactly seven days
# later with the next Monday's digest. Half a minute, because the scheduler skips a period due before it first
# saw the server — at 09:00 sharp it would owe this Monday's digest before /setup made a channel for it.
WEEK_START = datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC)
MANAGE_GUILD = 1 << 5

Scene = Callable[[Demo], Awaitable[None]]
SCENES: list[Scene] = [
    foundation.play,
    onboarding.play,
    codes.play,
    content.play,
    engagement.play,
    money.play,
    events.play,
    digest.play,  # the week ends with it, and it shows the event created before it
    store.play,  # after the week: what the store saw,
    exchange.play_rewards,  # points spent,
    exchange.play_gifting,  # a gifting campaign,
    affiliates.play_statement,  # November's statement, paid in store credit the next night,
    affiliates.play_promotion,  # a tier promotion the next morning,
    store.play_leaving,  # and a member leaving
]


async def run_demo(*, quiet: bool = False) -> int:
    logging.basicConfig(level=logging.CRITICAL if quiet else logging.WARNING, format="   [log] %(message)s")
    logging.getLogger("discord.client").setLevel(logging.ERROR)  # "PyNaCl is not installed": no voice here
    started = time.perf_counter()
    clock = FixedClock(WEEK_START)
    async with Emulator(token=TOKEN) as emu:
        guild = emu.create_guild(name="Glow Skincare", owner_name="founder")
        brand_team = emu.create_role(guild.id, "Brand team", permissions=MANAGE_GUILD)
        people = {"mira": emu.add_member(guild.id, "mira", roles=[brand_team.id])}
        for name in ("alice", "bob", "chen"):
            people[name] = emu.add_member(guild.id, name)
        with tempfile.TemporaryDirectory(prefix="collective-demo-") as folder:
            async with store.brand_store(clock) as brand_store:
                shop, hooks = store.connection_for(brand_store)
                async with running_bot(emu, Path(folder), clock, shops={guild.id: shop}, webhooks=hooks) as bot:
                    demo = Demo(emu, bot, clock)
                    demo.store = brand_store
                    demo.guild_id = guild.id
                    demo.people = {name: user.id for name, user in people.items()}
                    demo.print("Collective demo: a week in a small ambassador program, on a local Discord emulator.")
                    demo.print(
                        "Cast: mira (brand team, moderator); alice, bob and chen (customers who love the brand)."
                    )
                    for scene in SCENES:
                        await scene(demo)
    print(f"\nDemo finished in {time.perf_counter() - started:.1f}s.")
    return 0
