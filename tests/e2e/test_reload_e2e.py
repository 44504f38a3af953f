"""Every extension can be reloaded in a running bot (what a cog registers on load it removes on unload: timer
kinds, recurring jobs, outbox subscriptions, persistent components), and the bot keeps serving afterwards."""

from __future__ import annotations

import asyncio

from bot.app import discover_extensions
from bot.services.program import bindings
from emulator import Emulator
from tests.e2e.conftest import BotRunner, World


async def test_every_extension_reloads_and_keeps_serving(emu: Emulator, world: World, runner: BotRunner) -> None:
    bot = await runner.start()
    names = sorted(bot.extensions)
    assert names == discover_extensions() and len(bot.cogs) >= 15  # every feature, not a vacuous empty list
    timers, jobs = set(bot.scheduler._timer_handlers), set(bot.scheduler._jobs)
    topics, items = bot.outbox.topics(), set(bot._connection._view_store._dynamic_items)
    for name in names:
        await bot.reload_extension(name)
    assert sorted(bot.extensions) == names
    # Registered exactly as before: nothing lost, nothing registered twice (that would have raised).
    assert set(bot.scheduler._timer_handlers) == timers and set(bot.scheduler._jobs) == jobs
    assert bot.outbox.topics() == topics
    assert set(bot._connection._view_store._dynamic_items) == items

    # Still serving: a command answers, and a poll goes up through the reloaded outbox subscriber and
    # closes through the reloaded timer handler.
    reply = await emu.actor(world.guild.id, world.alice.id).slash("help")
    assert reply.embeds
    focus = emu.create_channel(world.guild.id, "focus-group").id
    async with bot.db.transaction() as tx:
        await bindings.bind(tx, world.guild.id, bindings.channel_purpose("focus_group"), focus, bot.clock.now())
    await asyncio.sleep(0.1)  # CHANNEL_CREATE reaches the bot
    mira = emu.actor(world.guild.id, world.moderator.id)
    await mira.slash("poll create", question="Still here?", options="Yes|No", duration="1h")
    await bot.outbox.drain()
    assert any("Still here?" in str(m.embeds) for m in emu.state.messages_in(focus))
    closed = await mira.slash("poll close", poll=1)
    assert "is closed" in closed.content
    await bot.scheduler.run_due(bot.clock.now())
    assert any("Results: Still here?" in str(m.embeds) for m in emu.state.messages_in(focus))
