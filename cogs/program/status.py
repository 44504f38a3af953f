"""/status (moderators): is the bot healthy, and what is it about to do for this server."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import moderator_only
from bot.services.program.guild_settings import get_settings
from bot.services.program.scheduler_status import scheduler_status
from bot.ui.embeds import SUCCESS, WARNING, add_field, embed
from bot.ui.interactions import guild_id_of
from bot.ui.times import when


class Status(commands.Cog, name="Operations"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    @app_commands.command(name="status", description="Bot health and the scheduled work for this server")
    @app_commands.guild_only()
    @moderator_only()
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        settings = await get_settings(self.bot.db, guild_id)
        now = self.bot.clock.now()
        status = await scheduler_status(self.bot.db, guild_id, now)
        healthy = status.failed_last_week == 0 and status.missed_last_week == 0
        card = embed("Collective status", colour=SUCCESS if healthy else WARNING)
        uptime = now - self.bot.started_at
        guild = interaction.guild
        shard = self.bot.get_shard(guild.shard_id) if guild is not None else None
        latency = shard.latency if shard is not None else self.bot.latency
        add_field(card, "Gateway latency", f"{latency * 1000:.0f} ms", inline=True)
        add_field(
            card, "Up for", f"{uptime.days}d {uptime.seconds // 3600}h {uptime.seconds % 3600 // 60}m", inline=True
        )
        add_field(card, "Schema version", str(status.schema_version), inline=True)
        if guild is not None and self.bot.shard_count and self.bot.shard_count > 1:
            # Which process to look at in the logs when several run the bot.
            here = self.bot.claimant.plan.label
            add_field(card, "Shard", f"{guild.shard_id} of {self.bot.shard_count} ({here} here)", inline=True)
        upcoming = "\n".join(f"{when(t.due_at)} — {t.kind} `{t.key}`" for t in status.upcoming)
        add_field(card, f"Scheduled ({status.pending_timers} pending)", upcoming or "Nothing scheduled.")
        runs = "\n".join(f"{r.job} {r.period_key}: {r.status}" for r in status.recent_runs)
        add_field(card, "Recent recurring runs", runs or "None yet.")
        add_field(
            card,
            "Last 7 days",
            f"{status.failed_last_week} failed, {status.missed_last_week} missed (see the bot's log for details)",
        )
        card.set_footer(text=f"Times in {settings.timezone}")
        await interaction.response.send_message(embed=card, ephemeral=True)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Status(bot))
