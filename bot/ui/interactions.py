"""Getting at what an interaction is about, one way everywhere: the server it happened in, and the bot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.errors import NotAllowed

if TYPE_CHECKING:
    from bot.app import CollectiveBot


def guild_id_of(interaction: discord.Interaction[Any]) -> int:
    """The server the interaction happened in; a clear refusal in DMs (commands are guild-only, but a DM'd
    button or form can still reach the bot)."""
    if interaction.guild_id is None:
        raise NotAllowed("This works inside the brand's server, not in DMs.")
    return interaction.guild_id


def bot_of(interaction: discord.Interaction[Any]) -> CollectiveBot:
    client: CollectiveBot = interaction.client
    return client
