"""The bot holding exactly README's permissions (no Administrator), against an emulator that refuses what Discord
refuses: the demo's whole journey works; with one permission missing, /setup names it and leaves nothing behind
that a later /setup trips over; a refusal halfway through /setup is explained and picked up on the next run."""

from __future__ import annotations

import asyncio

import pytest

from bot.services.program.bindings import all_bindings
from bot.services.program.setup_plan import BOT_PERMISSIONS, CATEGORY, CHANNELS, INVITE_PERMISSIONS, BotPermission
from emulator import Emulator
from emulator import permissions as perm
from emulator.models import Overwrite
from tests.e2e.conftest import BotRunner, World, play_demo_week

PROGRAM_CHANNELS = [spec.name for spec in CHANNELS]
PROGRAM_ROLES = ["Ambassador", "Program Moderator"]


def bot_role_permissions(emu: Emulator, guild_id: int) -> int:
    role = next(r for r in emu.state.guild(guild_id).roles.values() if r.bot_id == emu.state.bot.id)
    return role.permissions


def without(emu: Emulator, guild_id: int, bit: int) -> None:
    """The bot's role lacks ``bit``, and so does @everyone (a server that locked it down): the bot truly lacks it."""
    emu.set_bot_permissions(guild_id, INVITE_PERMISSIONS & ~bit)
    guild = emu.state.guild(guild_id)
    everyone = guild.roles[guild_id]
    everyone.permissions &= ~bit
    # The brand team keeps what @everyone had, so the moderator can still run /setup from #general.
    team = next(r for r in guild.roles.values() if r.name == "Brand team")
    team.permissions |= perm.DEFAULT_EVERYONE
    for role in (everyone, team):
        emu.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild_id), "role": role.to_payload()})


def grant(emu: Emulator, guild_id: int, bits: int) -> None:
    emu.set_bot_permissions(guild_id, bits)


def assert_program_made_once(emu: Emulator, guild_id: int) -> None:
    guild = emu.state.guild(guild_id)
    for name in PROGRAM_ROLES:
        assert [r.name for r in guild.roles.values()].count(name) == 1, name
    [category] = emu.state.channels_named(guild_id, CATEGORY.name)
    for name in PROGRAM_CHANNELS:
        [channel] = emu.state.channels_named(guild_id, name)
        assert channel.parent_id == category.id
        # Private: @everyone can't see it, the bot can.
        assert channel.overwrites[guild_id].deny & perm.VIEW_CHANNEL
        assert perm.has(emu.state.permissions_in(channel.id, emu.state.bot.id), perm.VIEW_CHANNEL | perm.SEND_MESSAGES)


async def test_the_demos_journey_with_readmes_permissions_only(emu: Emulator, runner: BotRunner) -> None:
    guild = emu.create_guild(name="Glow Skincare", owner_name="founder")
    assert bot_role_permissions(emu, guild.id) == INVITE_PERMISSIONS == perm.README_BOT
    assert not perm.base_permissions(guild, emu.state.member(guild.id, emu.state.bot.id)) & perm.ADMINISTRATOR
    brand_team = emu.create_role(guild.id, "Brand team", permissions=1 << 5)
    people = {"mira": emu.add_member(guild.id, "mira", roles=[brand_team.id]).id}
    for name in ("alice", "bob", "chen"):
        people[name] = emu.add_member(guild.id, name).id
    transcript = await play_demo_week(emu, runner, guild.id, people)
    assert "error id" not in transcript and "Discord refused" not in transcript, transcript
    assert "Still missing" not in transcript and "Not finished" not in transcript
    assert_program_made_once(emu, guild.id)
    ambassador = next(r for r in emu.state.guild(guild.id).roles.values() if r.name == "Ambassador")
    assert ambassador.id in emu.state.member(guild.id, people["alice"]).roles
    briefs = emu.state.channel_named(guild.id, "briefs")
    threads = [c for c in emu.state.guild(guild.id).channels.values() if c.is_thread and c.parent_id == briefs.id]
    assert threads and emu.state.messages_in(threads[0].id)
    assert emu.state.events_in(guild.id), "the demo's event reached the server's Events list"
    for name in ("showcase", "focus-group", "leaderboard", "review", "audit-log", "drops"):
        assert emu.state.messages_in(emu.state.channel_named(guild.id, name).id), name
    assert [r for r in runner.errors.records if r.name.startswith(("collective", "bot", "cogs"))] == []


def _ids(permission: BotPermission) -> str:
    return permission.attribute


@pytest.mark.parametrize("missing", BOT_PERMISSIONS, ids=_ids)
async def test_setup_names_a_missing_permission_and_finishes_once_granted(
    emu: Emulator, world: World, runner: BotRunner, missing: BotPermission
) -> None:
    guild_id = world.guild.id
    without(emu, guild_id, missing.bit)
    await runner.start()
    mira = emu.actor(guild_id, world.moderator.id)
    first = await mira.slash("setup")
    assert f"**{missing.label}**" in first.text and "error id" not in first.text, first.text
    if missing.for_setup:
        # Refused before anything was made: no half-built program.
        assert "Nothing was changed" in first.text
        assert emu.state.channels_named(guild_id, CATEGORY.name) == []
        assert not {r.name for r in world.guild.roles.values()} & set(PROGRAM_ROLES)
    else:
        # Not needed by /setup itself: the program is set up, and the reply says what is still missing.
        assert "Still missing" in first.text
        assert_program_made_once(emu, guild_id)

    grant(emu, guild_id, INVITE_PERMISSIONS)
    await asyncio.sleep(0.1)
    second = await mira.slash("setup")
    assert "error id" not in second.text and "Still missing" not in second.text, second.text
    assert "Not finished" not in second.text and "⚠️" not in second.text
    assert_program_made_once(emu, guild_id)
    bound = await all_bindings(runner.bot.db, guild_id) if runner.bot else {}
    assert {f"channel:{spec.key}" for spec in [CATEGORY, *CHANNELS]} <= set(bound)


async def test_a_refusal_halfway_is_explained_and_the_next_setup_picks_up(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    """A server admin made #review by hand and denied @everyone Manage Messages there. /setup adopts it and must
    add "hide from @everyone" to that overwrite, but re-sending a Manage Messages deny it doesn't hold is refused."""
    guild_id = world.guild.id
    category = emu.create_channel(guild_id, CATEGORY.name, 4)
    review = emu.create_channel(
        guild_id,
        "review",
        parent_id=category.id,
        overwrites={guild_id: Overwrite(id=guild_id, type=perm.OVERWRITE_ROLE, deny=perm.MANAGE_MESSAGES)},
    )
    await runner.start()
    mira = emu.actor(guild_id, world.moderator.id)
    first = await mira.slash("setup")
    assert "error id" not in first.text
    assert "Not finished" in first.text and "**Manage Messages**" in first.text, first.text
    assert f"<#{review.id}>" in first.text
    # What was made before the refusal is bound, so the next run adopts it rather than making a second one.
    assert len(emu.state.channels_named(guild_id, "announcements")) == 1

    grant(emu, guild_id, INVITE_PERMISSIONS | perm.MANAGE_MESSAGES)
    await asyncio.sleep(0.1)
    second = await mira.slash("setup")
    assert "Not finished" not in second.text and "Repaired who can see **review**" in second.text, second.text
    assert_program_made_once(emu, guild_id)
    assert emu.state.channel(review.id).overwrites[guild_id].deny & perm.VIEW_CHANNEL


async def test_a_refused_post_from_a_command_is_explained_not_an_error_id(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    """After /setup a server admin turns the bot's Send Messages off in #announcements: /event create says which
    permission, where, and what to do."""
    guild_id = world.guild.id
    await runner.start()
    mira = emu.actor(guild_id, world.moderator.id)
    await mira.slash("setup")
    news = emu.state.channel_named(guild_id, "announcements")
    me = emu.state.bot.id
    mine = news.overwrites[me]
    news.overwrites[me] = Overwrite(
        id=me, type=perm.OVERWRITE_MEMBER, allow=mine.allow & ~perm.SEND_MESSAGES, deny=perm.SEND_MESSAGES
    )
    emu.dispatch("CHANNEL_UPDATE", emu.state.channel_payload(news))
    await asyncio.sleep(0.1)
    refused = await mira.slash(
        "event create", title="Meetup", start="2030-12-05 18:00", end="2030-12-05 20:00", capacity=3, location="HQ"
    )
    assert "error id" not in refused.text
    assert "**Send Messages**" in refused.text and f"<#{news.id}>" in refused.text, refused.text
    assert "Nothing was created" in refused.text
