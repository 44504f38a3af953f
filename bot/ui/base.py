"""Base View, Modal and DynamicItem whose errors go through the one error path."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

import discord

from bot.checks import NotModerator, is_moderator
from bot.cooldowns import admit
from bot.interaction_errors import refuse_nul_input, report_interaction_error
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
    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return await refuse_nul_input(interaction)

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


class RecordItem(SafeDynamicItem, discord.ui.DynamicItem[Any], template=r"(?!)"):
    """A persistent button or select whose custom_id is ``collective:<feature>:<action>:<id>[:<id>…]``: the one
    base for every component that must answer after a restart.

    Declare ``class Approve(RecordItem, feature="application", action="approve", keys=("application_id",
    "seen"))`` and implement ``handle``; ``self.ids`` holds the ids from the custom_id, in ``keys`` order. The
    message renders the component itself (label, style, options); register the class with
    ``bot.add_dynamic_items`` so presses are answered after a restart too. A select overrides ``make_item``.
    """

    feature: ClassVar[str]
    action: ClassVar[str]
    keys: ClassVar[tuple[str, ...]]

    def __init_subclass__(
        cls, *, feature: str, action: str, keys: tuple[str, ...] = ("record_id",), **kwargs: Any
    ) -> None:
        super().__init_subclass__(template=template(feature, action, *keys), **kwargs)
        cls.feature, cls.action, cls.keys = feature, action, keys

    def __init__(self, *ids: int, item: discord.ui.Item[Any] | None = None) -> None:
        super().__init__(item or self.make_item(custom_id(self.feature, self.action, *ids)))
        self.ids = ids

    @classmethod
    def make_item(cls, custom_id: str) -> discord.ui.Item[Any]:
        return discord.ui.Button(custom_id=custom_id)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(*(int(match[key]) for key in cls.keys), item=item)


class RecordButton(RecordItem, feature="record", action="press"):
    """A persistent button keyed by one record id (``self.record_id``)."""

    def __init_subclass__(cls, *, feature: str, action: str, **kwargs: Any) -> None:
        super().__init_subclass__(feature=feature, action=action, keys=("record_id",), **kwargs)

    @property
    def record_id(self) -> int:
        return self.ids[0]


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
