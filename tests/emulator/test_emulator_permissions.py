"""Discord's rules for a bot without Administrator, as the emulator enforces them, seen by a plain discord.py client.

The bot starts with what README's invite grants (``perm.README_BOT``); each test shows one rule refusing with
403 / 50013 and the same call passing once the rule is met — so the emulator cannot pass a bot Discord refuses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest

from emulator import Emulator, Guild
from emulator import permissions as perm
from emulator.models import Overwrite
from tests.emulator.conftest import EmuBot, running, wait_for


async def _refused(call: object) -> None:
    with pytest.raises(discord.Forbidden) as info:
        await call  # type: ignore[misc]
    assert info.value.code == 50013 and info.value.text == "Missing Permissions"


def test_default_bot_role_is_readmes_invite_without_administrator(emu: Emulator, guild: Guild) -> None:
    role = next(r for r in guild.roles.values() if r.bot_id == emu.state.bot.id)
    assert role.permissions == perm.README_BOT and not role.permissions & perm.ADMINISTRATOR


async def test_overwrites_may_only_set_what_the_bot_holds(emu: Emulator, guild: Guild) -> None:
    bot = EmuBot()
    async with running(emu, bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        hidden = discord.PermissionOverwrite(view_channel=False)
        # Manage Messages is not in the bot's role: allowing it (or denying it) to anyone is refused.
        await _refused(
            cached.create_category(
                "Program",
                overwrites={cached.default_role: hidden, cached.me: discord.PermissionOverwrite(manage_messages=True)},
            )
        )
        await _refused(
            cached.create_category(
                "Program", overwrites={cached.default_role: discord.PermissionOverwrite(manage_messages=False)}
            )
        )
        assert emu.state.channels_named(guild.id, "Program") == []
        # Manage Roles is held, but in a channel overwrite ("Manage Permissions") only administrators may set it.
        await _refused(
            cached.create_category("Program", overwrites={cached.me: discord.PermissionOverwrite(manage_roles=True)})
        )
        own = discord.PermissionOverwrite(view_channel=True, send_messages=True, embed_links=True)
        category = await cached.create_category("Program", overwrites={cached.default_role: hidden, cached.me: own})
        channel = await cached.create_text_channel("review", category=category, overwrites={cached.me: own})
        await wait_for(lambda: cached.get_channel(channel.id) is not None)
        await _refused(channel.set_permissions(cached.default_role, manage_messages=True))
        await channel.set_permissions(cached.default_role, view_channel=False)

        # An overwrite a server admin set with bits the bot lacks: re-sending it unchanged in a full edit is fine,
        # changing it is not.
        admin = emu.create_role(guild.id, "Brand team")
        stored = emu.state.channel(channel.id)
        stored.overwrites[admin.id] = Overwrite(id=admin.id, type=perm.OVERWRITE_ROLE, allow=perm.MANAGE_MESSAGES)
        emu.dispatch("CHANNEL_UPDATE", emu.state.channel_payload(stored))
        await wait_for(lambda: any(t.id == admin.id for t in (cached.get_channel(channel.id) or channel).overwrites))
        current = cached.get_channel(channel.id)
        assert isinstance(current, discord.TextChannel)
        await current.edit(overwrites={**current.overwrites, cached.default_role: hidden})
        target = cached.get_role(admin.id)
        assert target is not None
        await _refused(current.set_permissions(target, manage_messages=True, view_channel=True))

        # With Administrator nothing is limited.
        emu.set_bot_permissions(guild.id, perm.README_BOT | perm.ADMINISTRATOR)
        await wait_for(lambda: cached.me.guild_permissions.administrator)
        await current.set_permissions(target, manage_messages=True, view_channel=True)


async def test_role_hierarchy_and_role_permissions(emu: Emulator, guild: Guild) -> None:
    bot = EmuBot()
    async with running(emu, bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        above = emu.create_role(guild.id, "Staff", position=5)
        alice = emu.add_member(guild.id, "alice")
        await wait_for(lambda: cached.get_role(above.id) is not None and cached.get_member(alice.id) is not None)
        member = cached.get_member(alice.id)
        staff = cached.get_role(above.id)
        assert member is not None and staff is not None
        await _refused(member.add_roles(staff))
        await _refused(staff.edit(name="Staff!"))
        # A new role may not carry a permission the bot lacks.
        await _refused(cached.create_role(name="Mods", permissions=discord.Permissions(manage_messages=True)))
        below = await cached.create_role(name="Ambassador", permissions=discord.Permissions.none())
        await member.add_roles(below)
        assert below.id in emu.state.member(guild.id, alice.id).roles


async def test_scheduled_events_need_create_events_and_the_channels_permissions(emu: Emulator, guild: Guild) -> None:
    bot = EmuBot()
    async with running(emu, bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        start = datetime.now(UTC) + timedelta(days=2)
        external: dict[str, Any] = {
            "name": "Meetup",
            "start_time": start,
            "end_time": start + timedelta(hours=2),
            "entity_type": discord.EntityType.external,
            "location": "HQ",
            "privacy_level": discord.PrivacyLevel.guild_only,
        }
        event = await cached.create_scheduled_event(**external)  # Create Events, no Manage Events
        await event.edit(name="Meetup (moved)")
        stage = emu.create_channel(guild.id, "Town hall", 13)
        voice = emu.create_channel(guild.id, "Lounge", 2)
        await wait_for(lambda: cached.get_channel(stage.id) is not None and cached.get_channel(voice.id) is not None)
        stage_channel = cached.get_channel(stage.id)
        voice_channel = cached.get_channel(voice.id)
        assert isinstance(stage_channel, discord.StageChannel) and isinstance(voice_channel, discord.VoiceChannel)
        common: dict[str, Any] = {"name": "Live", "start_time": start, "privacy_level": discord.PrivacyLevel.guild_only}
        # A stage event also needs Mute Members and Move Members in the stage channel.
        await _refused(cached.create_scheduled_event(channel=stage_channel, **common))
        await cached.create_scheduled_event(channel=voice_channel, **common)
        emu.set_bot_permissions(guild.id, perm.README_BOT & ~perm.CREATE_EVENTS)
        await wait_for(lambda: not cached.me.guild_permissions.create_events)
        await _refused(cached.create_scheduled_event(**external))
        await _refused(event.edit(name="again"))


async def test_embeds_need_embed_links(emu: Emulator, guild: Guild) -> None:
    bot = EmuBot()
    async with running(emu, bot):
        cached = bot.get_guild(guild.id)
        assert cached is not None
        general = cached.get_channel(emu.state.channel_named(guild.id, "general").id)
        assert isinstance(general, discord.TextChannel)
        await general.send(embed=discord.Embed(title="card"))
        await general.set_permissions(cached.me, embed_links=False)
        await wait_for(lambda: not general.permissions_for(cached.me).embed_links)
        await _refused(general.send(embed=discord.Embed(title="card")))
        await general.send("plain text still works")
