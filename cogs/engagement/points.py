"""/points adjust (moderators): a manual award or deduction with a reason, recorded in the audit log."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import ModeratorGroup
from bot.services.engagement import points
from bot.text import plural
from bot.ui.interactions import guild_id_of


class Points(commands.Cog, name="Points"):
    group = ModeratorGroup(name="points", description="Manage the points ledger (moderators)", guild_only=True)

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    @group.command(name="adjust", description="Add or remove points for a member, with a reason (audited)")
    @app_commands.describe(
        member="Whose points to adjust",
        amount="Points to add (negative to remove)",
        reason="Why — kept in the audit log",
    )
    async def adjust(
        self,
        interaction: discord.Interaction[Any],
        member: discord.Member,
        amount: app_commands.Range[int, -points.MAX_ADJUSTMENT, points.MAX_ADJUSTMENT],
        reason: app_commands.Range[str, 1, points.MAX_REASON],
    ) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        async with self.bot.db.transaction() as tx:
            result = await points.adjust(tx, guild_id, member.id, amount, reason, actor_id=interaction.user.id, now=now)
        verb = "Added" if amount > 0 else "Removed"
        await interaction.response.send_message(
            f"{verb} {plural(abs(amount), 'point')} {'to' if amount > 0 else 'from'} {member.mention}"
            f" — their total is now {result.total:,}. Reason recorded in the audit log.",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Points(bot))
