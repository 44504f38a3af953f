"""Autocomplete sources shared by several commands."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.services.program.tiers import list_tiers
from bot.ui.interactions import bot_of, guild_id_of


async def tier_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    """The server's tiers, by name, filtered by what was typed."""
    typed = current.lower()
    found = await list_tiers(bot_of(interaction).db, guild_id_of(interaction))
    return [
        app_commands.Choice(name=tier.name[:100], value=tier.key)
        for tier in found
        if typed in tier.name.lower() or typed in tier.key
    ][:25]
