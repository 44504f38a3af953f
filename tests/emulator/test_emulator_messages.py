"""Messages, files, DMs, channels, roles and the permission checks the emulator enforces."""

from __future__ import annotations

import io

import aiohttp
import discord
import pytest

from emulator import Emulator, Guild
from emulator import permissions as perm
from emulator.models import Overwrite
from tests.emulator.conftest import EmuBot, running, wait_for


async def test_message_with_file_stores_and_serves_bytes(emu: Emulator, guild: Guild) -> None:
    bot = EmuBot()
    async with running(emu, bot):
        channel = bot.get_channel(guild.system_channel_id or 0)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send(
            "report",
            file=discord.File(io.BytesIO(b"a,b\n1,2\n"), filename="report.csv"),
            embed=discord.Embed(title="Weekly"),
        )
        stored = emu.state.messages_in(channel.id)[-1]
        assert stored.id == sent.id and stored.content == "report"
        assert stored.files == {"report.csv": b"a,b\n1,2\n"}
        assert stored.embeds[0]["title"] == "Weekly"
        assert await sent.attachments[0].read() == b"a,b\n1,2\n"
        edited = await sent.edit(content="report v2")
        assert edited.content == "report v2" and emu.state.message(sent.id).files == {"report.csv": b"a,b\n1,2\n"}
        history = [m.id async for m in channel.history(limit=10)]
        assert history[0] == sent.id
        await sent.delete()
        assert emu.state.messages_in(channel.id) == []
        with pytest.raises(discord.NotFound) as info:
            await channel.fetch_message(sent.id)
        assert info.value.code == 10008


async def test_dm_and_closed_dms(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    bob = emu.add_member(guild.id, "bob")
    emu.faults.close_dms(bob.id)
    bot = EmuBot()
    async with running(emu, bot):
        await (await bot.fetch_user(alice.id)).send("welcome")
        assert [m.content for m in emu.dms_to(alice.id)] == ["welcome"]
        with pytest.raises(discord.Forbidden) as info:
            await (await bot.fetch_user(bob.id)).send("welcome")
        assert info.value.code == 50007
        assert emu.dms_to(bob.id) == []


async def test_missing_send_messages_is_50013(emu: Emulator, guild: Guild) -> None:
    announcements = emu.state.create_channel(guild.id, "announcements")
    bot_role = next(r for r in guild.roles.values() if r.managed)
    announcements.overwrites[bot_role.id] = perm_overwrite(bot_role.id, deny=perm.SEND_MESSAGES)
    bot = EmuBot()
    async with running(emu, bot):
        channel = bot.get_channel(announcements.id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.Forbidden) as info:
            await channel.send("hi")
        assert info.value.code == 50013
        assert emu.state.messages_in(announcements.id) == []


def perm_overwrite(target: int, allow: int = 0, deny: int = 0, type: int = 0) -> Overwrite:
    return Overwrite(id=target, type=type, allow=allow, deny=deny)


async def test_roles_and_hierarchy(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    above = emu.state.create_role(guild.id, "Admins", position=50)
    bot = EmuBot()
    async with running(emu, bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        role = await cached.create_role(name="Ambassador")
        assert emu.state.role_named(guild.id, "Ambassador") is not None
        member = await cached.fetch_member(alice.id)
        await member.add_roles(role)
        assert role.id in emu.state.member(guild.id, alice.id).roles
        await wait_for(lambda: (m := cached.get_member(alice.id)) is not None and m.get_role(role.id) is not None)
        high = cached.get_role(above.id)
        assert high is not None
        with pytest.raises(discord.Forbidden) as info:
            await member.add_roles(high)
        assert info.value.code == 50013
        await member.remove_roles(role)
        assert role.id not in emu.state.member(guild.id, alice.id).roles
        emu.set_bot_permissions(guild.id, perm.MANAGE_CHANNELS)
        await wait_for(lambda: not cached.me.guild_permissions.manage_roles)
        with pytest.raises(discord.Forbidden):
            await cached.create_role(name="Nope")


async def test_channels_categories_and_overwrites(emu: Emulator, guild: Guild) -> None:
    bot = EmuBot()
    async with running(emu, bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        category = await cached.create_category("Ambassadors")
        private = await cached.create_text_channel(
            "review",
            category=category,
            overwrites={
                cached.default_role: discord.PermissionOverwrite(view_channel=False),
                cached.me: discord.PermissionOverwrite(view_channel=True),
            },
        )
        stored = emu.state.channels_named(guild.id, "review")[0]
        assert stored.parent_id == category.id and stored.overwrites[guild.id].deny == perm.VIEW_CHANNEL
        await wait_for(lambda: cached.get_channel(private.id) is not None)
        await private.set_permissions(cached.me, view_channel=True, send_messages=True)
        assert emu.state.channel(private.id).overwrites[emu.bot.id].allow == perm.VIEW_CHANNEL | perm.SEND_MESSAGES
        await private.edit(name="review-queue", topic="decide fast")
        assert emu.state.channel(private.id).name == "review-queue"
        message = await private.send("submission")
        thread = await message.create_thread(name="discussion")
        assert emu.state.channel(thread.id).parent_id == private.id
        await thread.send("in thread")
        assert [m.content for m in emu.state.messages_in(thread.id)] == ["in thread"]
        await private.delete()
        assert emu.state.channels_named(guild.id, "review-queue") == []
        emu.set_bot_permissions(guild.id, 0)
        await wait_for(lambda: not cached.me.guild_permissions.manage_channels)
        with pytest.raises(discord.Forbidden) as info:
            await cached.create_text_channel("nope")
        assert info.value.code == 50013


async def test_request_validation_rejects_bad_bodies(emu: Emulator, guild: Guild) -> None:
    headers = {"Authorization": "Bot test-token"}
    url = f"{emu.api_base_url}/channels/{guild.system_channel_id}/messages"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"content": "x" * 2001}, headers=headers) as response,
    ):
        assert response.status == 400
        assert response.headers["Content-Type"] == "application/json"
        body = await response.json()
        assert body["code"] == 50035 and "content" in body["errors"]
