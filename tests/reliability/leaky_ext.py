"""A test-only extension: a command whose bug puts credentials into an exception, as careless libraries do."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot


class Leaky(commands.Cog, name="Leaky"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    @app_commands.command(name="leak-crash", description="Fails with the secrets in the exception message")
    async def leak(self, interaction: discord.Interaction[Any]) -> None:
        raise RuntimeError(f"request failed: Authorization: Bot {' / '.join(self.bot.settings.secrets())}")


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Leaky(bot))
