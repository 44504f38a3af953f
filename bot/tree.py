"""The command tree: every slash-command error goes through the one error path."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cooldowns import Cooldowns, admit
from bot.interaction_errors import refuse_nul_input, report_interaction_error


class CollectiveTree(app_commands.CommandTree[commands.Bot]):
    def __init__(self, client: commands.Bot, *args: Any, **kwargs: Any) -> None:
        super().__init__(client, *args, **kwargs)
        self.cooldowns = Cooldowns()  # shared with BaseView and SafeDynamicItem through the client

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        # Before any command check or option parsing: a member spamming gets one short answer, nothing runs.
        if not await admit(interaction):
            return False
        return await refuse_nul_input(interaction)

    async def on_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        await report_interaction_error(interaction, error)
