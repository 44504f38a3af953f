"""Base View, Modal and DynamicItem whose errors go through the one error path."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

import discord

from bot.checks import NotModerator, is_moderator
from bot.cooldowns import admit
from bot.interaction_errors import report_interaction_error
from bot.ui.custom_ids import custom_id, template


class BaseView(discord.ui.View):
    """A view that reports errors like slash commands do. ``owner_id`` restricts who may press it."""

    def __init__(self, *, timeout: float | None = 180.0, owner_id: int | None = None) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if not await admit(interaction):  # the member's rate limit, as for commands
            return False
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
    with "This interaction failed"; list this mixin first so its ``callback`` wins. Every press first takes
    from the member's rate limit; set ``moderator_only = True`` on a moderator's button so non-moderators are
    refused here, before ``handle`` reads or writes anything (the permission matrix test covers such items).
    """

    moderator_only: ClassVar[bool] = False

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            if not await admit(interaction):
                return
            if self.moderator_only and not await is_moderator(interaction.client, interaction.user):
                raise NotModerator()
            await self.handle(interaction)
        except Exception as exc:
            custom_id = getattr(getattr(self, "item", None), "custom_id", type(self).__name__)
            await report_interaction_error(interaction, exc, where=f"dynamic item {custom_id}")


class RecordButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """Answers presses of a persistent button whose custom_id is ``collective:<feature>:<action>:<id>``.

    Declare ``class Publish(RecordButton, feature="brief", action="publish")`` and implement ``handle``;
    ``self.record_id`` is the id from the custom_id. The message renders the button itself; register the
    class with ``bot.add_dynamic_items`` so presses are answered after a restart too.
    """

    feature: str
    action: str

    def __init_subclass__(cls, *, feature: str, action: str, **kwargs: Any) -> None:
        super().__init_subclass__(template=template(feature, action, "record_id"), **kwargs)
        cls.feature, cls.action = feature, action

    def __init__(self, record_id: int, item: discord.ui.Button[Any] | None = None) -> None:
        super().__init__(item or discord.ui.Button(custom_id=custom_id(self.feature, self.action, record_id)))
        self.record_id = record_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["record_id"]), item if isinstance(item, discord.ui.Button) else None)


class DisplayView(discord.ui.View):
    """Buttons to show on a message; clicks are handled by registered ``DynamicItem`` classes.

    discord.py keeps a dispatchable view in memory per message; this one holds no callbacks, so it opts out.
    """

    def __init__(self) -> None:
        super().__init__(timeout=None)

    def is_dispatchable(self) -> bool:
        return False

    def button(
        self,
        label: str,
        custom_id: str,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        *,
        disabled: bool = False,
    ) -> DisplayView:
        self.add_item(discord.ui.Button(label=label, custom_id=custom_id, style=style, disabled=disabled))
        return self

    def link(self, label: str, url: str) -> DisplayView:
        self.add_item(discord.ui.Button(label=label, url=url, style=discord.ButtonStyle.link))
        return self
