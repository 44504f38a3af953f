"""House style for embeds and Discord's size limits, so long content is clipped rather than rejected."""

from __future__ import annotations

import discord

BRAND = discord.Colour(0x5B5BD6)
SUCCESS = discord.Colour(0x2E9E5B)
WARNING = discord.Colour(0xE0A100)
DANGER = discord.Colour(0xD64545)

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELDS_LIMIT = 25
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def embed(title: str, description: str | None = None, *, colour: discord.Colour = BRAND) -> discord.Embed:
    return discord.Embed(
        title=clip(title, TITLE_LIMIT),
        description=None if description is None else clip(description, DESCRIPTION_LIMIT),
        colour=colour,
    )


def add_field(target: discord.Embed, name: str, value: str, *, inline: bool = False) -> bool:
    """Add a field if it fits in the embed's limits; returns False (and adds nothing) when it does not."""
    name, value = clip(name, FIELD_NAME_LIMIT), clip(value or "—", FIELD_VALUE_LIMIT)
    if len(target.fields) >= FIELDS_LIMIT or len(target) + len(name) + len(value) > EMBED_TOTAL_LIMIT:
        return False
    target.add_field(name=name, value=value, inline=inline)
    return True
