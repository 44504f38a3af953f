"""Scripted REST faults: rate limits that discord.py retries, server errors, forced 403/404."""

from __future__ import annotations

import discord
import pytest

from emulator import Emulator, Guild
from tests.emulator.conftest import EmuBot, running


async def test_429_with_retry_after_is_retried(emu: Emulator, guild: Guild) -> None:
    rule = emu.faults.rate_limit("POST", r"/channels/\d+/messages$", retry_after=0.05)
    bot = EmuBot()
    async with running(emu, bot):
        channel = bot.get_channel(guild.system_channel_id or 0)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("after the limit")
        assert rule.hits == 1 and rule.exhausted
        assert [m.content for m in emu.state.messages_in(channel.id)] == ["after the limit"]
        statuses = [r.status for r in emu.requests if r.method == "POST" and r.path.endswith("/messages")]
        assert statuses == [429, 200]


async def test_global_rate_limit_is_retried(emu: Emulator, guild: Guild) -> None:
    emu.faults.rate_limit("GET", r"/guilds/\d+/roles", retry_after=0.05, is_global=True)
    bot = EmuBot()
    async with running(emu, bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        roles = await cached.fetch_roles()
        assert len(roles) == len(guild.roles)


async def test_forced_403_and_404(emu: Emulator, guild: Guild) -> None:
    emu.faults.forbidden("POST", r"/channels/\d+/messages")
    emu.faults.not_found("GET", r"/channels/\d+$", code=10003, message="Unknown Channel")
    bot = EmuBot()
    async with running(emu, bot):
        channel = bot.get_channel(guild.system_channel_id or 0)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.Forbidden) as forbidden:
            await channel.send("x")
        assert forbidden.value.code == 50013
        with pytest.raises(discord.NotFound) as missing:
            await bot.fetch_channel(channel.id)
        assert missing.value.code == 10003
        await channel.send("works again")  # one-shot rules are spent


async def test_server_error_surfaces_after_retries(emu: Emulator, guild: Guild) -> None:
    emu.faults.server_error("DELETE", r"/messages/", status=503, times=None)
    bot = EmuBot()
    async with running(emu, bot):
        channel = bot.get_channel(guild.system_channel_id or 0)
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send("keep me")
        with pytest.raises(discord.DiscordServerError):
            await message.delete()  # 503 is not retried by discord.py
        emu.faults.clear()
        await message.delete()
        assert emu.state.messages_in(channel.id) == []
