"""A test-only extension with a definition Discord rejects: a 101-character description."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands


class Bad(commands.Cog):
    @app_commands.command(name="too-wordy", description="x" * 101)
    async def wordy(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("never", ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Bad())
