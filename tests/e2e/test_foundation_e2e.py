"""The bot's core through the emulator: connect and sync, /help, /status, the error path, restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import discord
import pytest

from emulator import Emulator
from tests.e2e.conftest import BotRunner, World
from tests.e2e.probe_ext import PROBE_POST
from tests.e2e.test_codes_e2e import make_ambassador


def _text(reply_embeds: list[dict[str, object]]) -> str:
    parts: list[str] = []
    for embed in reply_embeds:
        parts += [str(embed.get("title", "")), str(embed.get("description", ""))]
        for field in embed.get("fields", []):  # type: ignore[attr-defined]
            parts += [field["name"], field["value"]]
    return "\n".join(parts)


async def test_connects_syncs_and_creates_program_settings(emu: Emulator, world: World, runner: BotRunner) -> None:
    bot = await runner.start()
    names = {command.name for command in emu.state.global_commands}
    assert {"help", "status"} <= names
    assert bot.get_guild(world.guild.id) is not None
    settings = await bot.db.fetchone("SELECT timezone FROM guild_settings WHERE guild_id = ?", (world.guild.id,))
    assert settings is not None and settings["timezone"] == "UTC"


async def test_help_is_role_aware(emu: Emulator, world: World, runner: BotRunner) -> None:
    bot = await runner.start()
    # A customer who hasn't applied: what they can use now, nothing for moderators or ambassadors, no 🛡️.
    member_reply = await emu.actor(world.guild.id, world.alice.id).slash("help")
    assert member_reply.ephemeral
    member_text = _text(member_reply.embeds)
    assert "/help" in member_text and "/apply" in member_text
    for hidden in ("/status", "/setup", "/code", "/submit", "/checkin"):
        assert f"`{hidden}`" not in member_text, hidden
    assert "🛡️" not in member_text

    await make_ambassador(bot, world.guild.id, world.alice.id, "alice")
    ambassador_text = _text((await emu.actor(world.guild.id, world.alice.id).slash("help")).embeds)
    assert "`/code`" in ambassador_text and "`/submit`" in ambassador_text and "`/setup`" not in ambassador_text

    # Moderators see everything, and every moderator command — /setup included — carries the mark.
    mod_text = _text((await emu.actor(world.guild.id, world.moderator.id).slash("help")).embeds)
    lines = [line for line in mod_text.splitlines() if line.startswith(("🛡️ `/", "`/"))]
    for command in ("/status", "/setup", "/digest post", "/codes report"):
        assert f"🛡️ `{command}`" in lines_starting(lines, command), command
    for command in ("/help", "/apply", "/code", "/leaderboard"):
        assert lines_starting(lines, command).startswith(f"`{command}`"), command


def lines_starting(lines: list[str], command: str) -> str:
    return next(line for line in lines if line.removeprefix("🛡️ ").startswith(f"`{command}`"))


async def test_status_is_for_moderators_only(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    refused = await emu.actor(world.guild.id, world.alice.id).slash("status")
    assert refused.ephemeral and "program moderators" in refused.content

    shown = await emu.actor(world.guild.id, world.moderator.id).slash("status")
    assert shown.ephemeral
    assert "Schema version" in _text(shown.embeds) and "Scheduled (0 pending)" in _text(shown.embeds)


async def test_errors_reach_the_member_politely(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.extra_extensions = ["tests.e2e.probe_ext"]
    await runner.start()
    alice = emu.actor(world.guild.id, world.alice.id)

    domain = await alice.slash("probe-domain")
    assert domain.ephemeral and domain.content == "⚠️ That link is not an http(s) URL."

    crash = await alice.slash("probe-crash")
    assert crash.ephemeral and "error id `" in crash.content and "Traceback" not in crash.content
    error_id = crash.content.split("`")[1]
    logged = [r for r in runner.errors.records if error_id in r.getMessage()]
    assert logged and "probe-crash" in logged[0].getMessage()
    runner.expected_errors = 1


async def test_answering_an_interaction_twice_fails(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.extra_extensions = ["tests.e2e.probe_ext"]
    await runner.start()
    reply = await emu.actor(world.guild.id, world.alice.id).slash("probe-twice")
    assert reply.content == "first"
    await asyncio.sleep(0.2)
    failures = [r for r in runner.errors.records if "probe-twice" in r.getMessage()]
    assert failures, "the second answer should have failed and been logged"
    assert isinstance(failures[0].exc_info[1], discord.InteractionResponded)  # type: ignore[index]
    runner.expected_errors = 1


async def test_commands_are_not_resynced_when_unchanged(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    syncs = emu.state.command_syncs
    await runner.restart()
    assert emu.state.command_syncs == syncs
    reply = await emu.actor(world.guild.id, world.alice.id).slash("help")
    assert reply.embeds


async def test_an_invalid_command_definition_fails_sync(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.extra_extensions = ["tests.e2e.bad_command_ext"]
    with pytest.raises(discord.HTTPException) as failure:
        await runner.start()
    assert failure.value.status == 400 and failure.value.code == 50035
    assert "too-wordy" not in {command.name for command in emu.state.global_commands}
    runner._task = None  # the bot stopped as it should; nothing left to check


async def test_survives_a_gateway_disconnect(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    await emu.gateway_disconnect(resume=True)
    await emu.wait_until_connected(timeout=10)
    reply = await emu.actor(world.guild.id, world.alice.id).slash("help")
    assert reply.embeds


async def test_a_durable_timer_posts_once_through_apscheduler(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.extra_extensions = ["tests.e2e.probe_ext"]
    bot = await runner.start()
    due = bot.clock.now() + timedelta(milliseconds=300)
    async with bot.db.transaction() as tx:
        payload = {"channel_id": world.general_id, "text": "it is time"}
        await tx.schedule(world.guild.id, PROBE_POST, "hello", due, bot.clock.now(), payload)
    for _ in range(200):
        if any(m.content == "it is time" for m in emu.state.messages_in(world.general_id)):
            break
        await asyncio.sleep(0.05)
    posted = [m for m in emu.state.messages_in(world.general_id) if m.content == "it is time"]
    assert len(posted) == 1
    # A restart finds the timer done and posts nothing more.
    await runner.restart()
    assert len([m for m in emu.state.messages_in(world.general_id) if m.content == "it is time"]) == 1


async def test_a_rate_limited_post_is_retried_and_lands_once(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.extra_extensions = ["tests.e2e.probe_ext"]
    bot = await runner.start()
    rule = emu.faults.rate_limit("POST", rf"/channels/{world.general_id}/messages", retry_after=0.1)
    async with bot.db.transaction() as tx:
        payload = {"channel_id": world.general_id, "text": "after 429"}
        await tx.schedule(world.guild.id, PROBE_POST, "limited", bot.clock.now(), bot.clock.now(), payload)
    await bot.scheduler.run_due(bot.clock.now())
    assert rule.hits == 1
    assert len([m for m in emu.state.messages_in(world.general_id) if m.content == "after 429"]) == 1
    status = await bot.db.fetchval("SELECT status FROM timers WHERE key = 'limited'")
    assert status == "done"


async def test_an_invalid_session_leads_to_a_fresh_identify(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    identified = emu.gateway.identify_count
    await emu.invalidate_session()
    for _ in range(300):  # discord.py waits ~5 s before identifying again
        if emu.gateway.identify_count > identified:
            break
        await asyncio.sleep(0.05)
    assert emu.gateway.identify_count == identified + 1
    await emu.wait_until_connected(timeout=10)
    reply = await emu.actor(world.guild.id, world.alice.id).slash("help")
    assert reply.embeds
