"""The command tree: every slash-command error goes through the one error path."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.interaction_errors import report_interaction_error


class CollectiveTree(app_commands.CommandTree[commands.Bot]):
    async def on_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        await report_interaction_error(interaction, error)
