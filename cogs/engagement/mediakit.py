"""/mediakit: an ambassador's own results in the program as an image card, to show other brands.

Private by default (the card carries their sales): the reply is ephemeral, and the member saves and shares the
image where they choose. The numbers are bot/services/engagement/mediakit.py; the card is bot/mediakit_card.py.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import FOR_AMBASSADORS
from bot.mediakit_card import media_kit_card
from bot.services.engagement.mediakit import media_kit
from bot.services.program.guild_settings import get_settings
from bot.services.sales.payloads import format_minor
from bot.text import plural
from bot.ui.embeds import add_field, embed
from bot.ui.interactions import guild_id_of

FILENAME = "media-kit.png"


class MediaKitCog(commands.Cog, name="Media kit"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="mediakit",
        description="Your results in the program as an image, to show other brands",
        extras=FOR_AMBASSADORS,
    )
    @app_commands.guild_only()
    async def mediakit(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        settings = await get_settings(self.bot.db, guild_id)
        kit = await media_kit(self.bot.db, guild_id, interaction.user.id, now=self.bot.clock.now(), zone=settings.zone)
        brand = interaction.guild.name if interaction.guild else "the brand"
        await interaction.response.defer(ephemeral=True, thinking=True)
        image = await asyncio.to_thread(media_kit_card, kit, brand)  # Pillow drawing stays off the event loop
        card = embed("🪪 Your media kit", "Save the image and share it with brands you'd like to work with.")
        sales = "\n".join(
            f"{plural(s.orders, 'order')} · {format_minor(s.net_minor, s.currency)} net" for s in kit.sales
        )
        add_field(card, "Sales through your code", sales or "None yet", inline=True)
        platforms = ", ".join(f"{name} {n}" for name, n in kit.content_by_platform)
        add_field(card, "Approved content", platforms or "None yet", inline=True)
        card.set_image(url=f"attachment://{FILENAME}")
        card.set_footer(text="Only what the program measured · only you see this")
        await interaction.followup.send(
            embed=card, file=discord.File(io.BytesIO(image), filename=FILENAME), ephemeral=True
        )


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(MediaKitCog(bot))
