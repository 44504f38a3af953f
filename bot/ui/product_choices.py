"""The product option of /gift create and /reward create (a product to ship): picked from a connected store by
autocomplete — its variant, so an order can name it — or typed by hand (then moderators ship it from /fulfilment)."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.shop.errors import ShopError
from bot.ui.embeds import clip
from bot.ui.interactions import bot_of, guild_id_of

log = logging.getLogger(__name__)

STORE = "variant:"  # an autocompleted product's value: "variant:<the store's variant id>|<title>"


def parse_product(value: str) -> tuple[str, str | None]:
    """(title, variant) from the product option: picked from the store, or typed by hand."""
    if value.startswith(STORE) and "|" in value:
        variant, _, title = value[len(STORE) :].partition("|")
        if variant and title.strip():
            return title.strip(), variant
    return value.strip(), None


async def product_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    """The store's active products matching what was typed (with a shop connected); what was typed otherwise."""
    bot = bot_of(interaction)
    typed = current.strip()[:100]
    typed_choice = [app_commands.Choice(name=f"{typed} (typed: shipped by hand)"[:100], value=typed)] if typed else []
    connector = bot.shops.get(guild_id_of(interaction))
    if connector is None:
        return typed_choice
    try:
        found = await connector.search_products(typed, limit=20)
    except ShopError as exc:
        log.info("product search for autocomplete failed: %s", type(exc).__name__)
        return typed_choice
    choices = [
        app_commands.Choice(
            name=clip(product.title + (f" — {product.price}" if product.price is not None else ""), 100),
            value=f"{STORE}{product.variant_ref}|{product.title}"[:100],
        )
        for product in found
        if product.variant_ref is not None
    ]
    return (choices + typed_choice)[:25]
