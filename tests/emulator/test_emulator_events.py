"""Guild scheduled events, voice states and the state queries tests rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord

from emulator import Emulator, Guild
from emulator.models import VOICE
from tests.emulator.conftest import EmuBot, running, wait_for


async def test_scheduled_event_lifecycle(emu: Emulator, guild: Guild) -> None:
    bot = EmuBot()
    bot.intents.guild_scheduled_events = True
    async with running(emu, bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        start = datetime.now(UTC) + timedelta(days=1)
        event = await cached.create_scheduled_event(
            name="Focus group",
            start_time=start,
            end_time=start + timedelta(hours=1),
            entity_type=discord.EntityType.external,
            location="Online",
            privacy_level=discord.PrivacyLevel.guild_only,
        )
        stored = emu.state.events_in(guild.id)
        assert [e.name for e in stored] == ["Focus group"] and stored[0].location == "Online"
        await wait_for(lambda: cached.get_scheduled_event(event.id) is not None)
        edited = await event.edit(name="Focus group #2")
        assert edited.name == "Focus group #2" == emu.state.scheduled_events[event.id].name
        fetched = await cached.fetch_scheduled_events()
        assert [e.id for e in fetched] == [event.id]
        await event.delete()
        assert emu.state.events_in(guild.id) == []


async def test_voice_join_and_leave(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    lounge = emu.state.create_channel(guild.id, "Lounge", VOICE)
    bot = EmuBot()
    async with running(emu, bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        emu.join_voice(guild.id, alice.id, lounge.id)
        await wait_for(lambda: (m := cached.get_member(alice.id)) is not None and m.voice is not None)
        member = cached.get_member(alice.id)
        assert member is not None and member.voice is not None and member.voice.channel is not None
        assert member.voice.channel.id == lounge.id
        emu.leave_voice(guild.id, alice.id)
        await wait_for(lambda: (m := cached.get_member(alice.id)) is not None and m.voice is None)
        assert emu.state.voice_channel_of(guild.id, alice.id) is None


async def test_user_messages_reach_the_bot(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    seen: list[str] = []
    bot = EmuBot()

    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    bot.add_listener(on_message)
    async with running(emu, bot):
        emu.post_message(guild.system_channel_id or 0, alice.id, "hi bot")
        await wait_for(lambda: seen == ["hi bot"])
        found = emu.state.find_message(guild.system_channel_id or 0, lambda m: m.author_id == alice.id)
        assert found is not None and found.content == "hi bot"


async def test_world_building_reaches_a_connected_bot(emu: Emulator, guild: Guild) -> None:
    bot = EmuBot()
    async with running(emu, bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        role = emu.create_role(guild.id, "Ambassador")
        channel = emu.create_channel(guild.id, "briefs")
        await wait_for(lambda: cached.get_role(role.id) is not None and cached.get_channel(channel.id) is not None)
        second = emu.create_guild(name="Second")
        await wait_for(lambda: bot.get_guild(second.id) is not None)
