"""Base View, Modal and DynamicItem whose errors go through the one error path."""

from __future__ import annotations

from typing import Any

import discord

from bot.interaction_errors import report_interaction_error


class BaseView(discord.ui.View):
    """A view that reports errors like slash commands do. ``owner_id`` restricts who may press it."""

    def __init__(self, *, timeout: float | None = 180.0, owner_id: int | None = None) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if self.owner_id is not None and interaction.user.id != self.owner_id:
            await interaction.response.send_message("⚠️ These buttons belong to someone else.", ephemeral=True)
            return False
        return True

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        custom_id = getattr(item, "custom_id", None) or type(item).__name__
        await report_interaction_error(interaction, error, where=f"view item {custom_id}")


class BaseModal(discord.ui.Modal):
    # discord.py's Modal narrows View.on_error's signature (no item); mirror it.
    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        await report_interaction_error(interaction, error, where=f"modal {self.custom_id}")


class SafeDynamicItem:
    """Mixin for ``DynamicItem`` subclasses: implement ``handle``; errors get the friendly reply.

    discord.py only logs exceptions raised in a dynamic item's callback, which would leave the member
    with "This interaction failed"; list this mixin first so its ``callback`` wins.
    """

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await self.handle(interaction)
        except Exception as exc:
            custom_id = getattr(getattr(self, "item", None), "custom_id", type(self).__name__)
            await report_interaction_error(interaction, exc, where=f"dynamic item {custom_id}")
