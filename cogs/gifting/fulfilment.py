"""/fulfilment (moderators): the queue of gifts shipped by hand — without a Shopify store, for WooCommerce, for
products typed by hand, and for orders the store refused — with Mark shipped (a tracking link), Mark delivered and
Cancel (one gift, with a reason the member is told; a reward's points come back), ``/fulfilment cancel`` for any gift
not sent yet, and the fulfilment CSV, the one export that carries addresses (audited: who, when, how many rows).
Every reply here is ephemeral."""

from __future__ import annotations

import io
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

import bot.services.gifting.digest  # noqa: F401 — registers the gifting digest sections
from bot.app import CollectiveBot
from bot.checks import ModeratorGroup, require_moderator
from bot.services.gifting import fulfilment
from bot.services.gifting.fulfilment import QueueItem
from bot.text import plural
from bot.ui.base import BaseModal, BaseView, RecordButton
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import add_field, clip, embed
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.times import when

PER_PAGE = 4  # two buttons each, plus paging: within Discord's five rows


def page_embed(items: list[QueueItem], index: int, pages: int, waiting: int) -> discord.Embed:
    card = embed("📦 Fulfilment queue")
    card.description = (
        "Ship these by hand, then press **Shipped** (with the carrier's tracking link) and, once it arrived, "
        "**Delivered** — the member is told each time. Addresses are personal data: they are here only to ship."
    )
    for item in items:
        gift = item.gift
        state = "waiting to ship" if gift.state == "ready" else f"shipped {when(gift.shipped_at or gift.created_at)}"
        lines = [f"for <@{gift.user_id}> · {state} · asked {when(gift.created_at, 'R')}"]
        if gift.error:
            lines.append(f"the shop refused the order: {clip(gift.error, 200)}")
        lines.append(f"```\n{item.address}\n```" if item.address else "(no address on file any more)")
        add_field(card, clip(f"#{gift.id} · {gift.what}", 256), "\n".join(lines))
    footer = f"Page {index + 1} of {pages}" if pages > 1 else ""
    if waiting:
        footer += (" · " if footer else "") + f"{plural(waiting, 'gift')} still waiting for the member's address"
    if footer:
        card.set_footer(text=footer)
    return card


class MarkShippedButton(RecordButton, feature="gift", action="shipped"):
    moderator_only = True

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_modal(TrackingModal(self.record_id))


class MarkDeliveredButton(RecordButton, feature="gift", action="delivered"):
    moderator_only = True

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        gift = await bot.db.perform(fulfilment.mark_delivered, guild_id_of(interaction), self.record_id,
                                    interaction.user.id, bot.clock.now())  # fmt: skip
        await interaction.response.send_message(
            f"✅ Gift #{gift.id} (**{gift.what}**) marked delivered; <@{gift.user_id}> is told.", ephemeral=True
        )


class CancelGiftButton(RecordButton, feature="gift", action="cancel"):
    moderator_only = True

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_modal(CancelGiftModal(self.record_id))


class CancelGiftModal(BaseModal):
    def __init__(self, gift_id: int) -> None:
        super().__init__(title=f"Cancel gift #{gift_id}", timeout=900)
        self.gift_id = gift_id
        self.reason: discord.ui.TextInput[CancelGiftModal] = discord.ui.TextInput(
            custom_id="reason", max_length=fulfilment.REASON_MAX, placeholder="Why — the member is told"
        )
        self.add_item(discord.ui.Label(text="Reason", component=self.reason))

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        guild_id = await require_moderator(interaction)
        await interaction.response.send_message(
            await cancel_one(interaction, guild_id, self.gift_id, self.reason.value), ephemeral=True
        )


async def cancel_one(interaction: discord.Interaction[Any], guild_id: int, gift_id: int, reason: str) -> str:
    bot = bot_of(interaction)
    gift, refunded = await bot.db.perform(fulfilment.cancel_gift, guild_id, gift_id, reason, interaction.user.id,
                                          bot.clock.now())  # fmt: skip
    back = " Their points are back and the reward is back in stock." if refunded else ""
    return f"↩️ Gift #{gift.id} (**{gift.what}**) cancelled; <@{gift.user_id}> is told why.{back}"


async def cancellable_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[int]]:
    found = await fulfilment.cancellable(bot_of(interaction).db, guild_id_of(interaction), current)
    return [app_commands.Choice(name=clip(f"#{g.id} · {g.what} ({g.state.replace('_', ' ')})", 100), value=g.id)
            for g in found]  # fmt: skip


class TrackingModal(BaseModal):
    def __init__(self, gift_id: int) -> None:
        super().__init__(title=f"Gift #{gift_id} shipped", timeout=900)
        self.gift_id = gift_id
        self.link: discord.ui.TextInput[TrackingModal] = discord.ui.TextInput(
            custom_id="tracking", max_length=500, placeholder="https://… the carrier's tracking page"
        )
        self.add_item(discord.ui.Label(text="Tracking link", component=self.link))

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        guild_id = await require_moderator(interaction)
        bot = bot_of(interaction)
        gift = await bot.db.perform(fulfilment.mark_shipped, guild_id, self.gift_id, self.link.value,
                                    interaction.user.id, bot.clock.now())  # fmt: skip
        await interaction.response.send_message(
            f"✅ Gift #{gift.id} (**{gift.what}**) marked shipped; <@{gift.user_id}> has the tracking link.",
            ephemeral=True,
        )


def _button(label: str, action: str, gift_id: int, row: int) -> discord.ui.Button[Any]:
    styles = {"shipped": discord.ButtonStyle.primary, "cancel": discord.ButtonStyle.danger}
    style = styles.get(action, discord.ButtonStyle.success)
    return discord.ui.Button(label=f"{label} #{gift_id}", style=style, custom_id=custom_id("gift", action, gift_id),
                             row=row)  # fmt: skip


class QueueView(BaseView):
    """One page of the queue with each gift's buttons (the persistent ones above), and paging."""

    def __init__(self, owner_id: int, items: list[QueueItem], waiting: int) -> None:
        super().__init__(timeout=900, owner_id=owner_id)
        self.items = items
        self.waiting = waiting
        self.index = 0
        self.pages = max(1, -(-len(items) // PER_PAGE))
        self._draw()

    def current(self) -> discord.Embed:
        shown = self.items[self.index * PER_PAGE : (self.index + 1) * PER_PAGE]
        return page_embed(shown, self.index, self.pages, self.waiting)

    def _draw(self) -> None:
        self.clear_items()
        for row, item in enumerate(self.items[self.index * PER_PAGE : (self.index + 1) * PER_PAGE]):
            gift_id = item.gift.id
            if item.gift.state == "ready":
                self.add_item(MarkShippedButton(gift_id, item=_button("Shipped", "shipped", gift_id, row)))
            self.add_item(MarkDeliveredButton(gift_id, item=_button("Delivered", "delivered", gift_id, row)))
            if item.gift.state == "ready":
                self.add_item(CancelGiftButton(gift_id, item=_button("Cancel", "cancel", gift_id, row)))
        if self.pages > 1:
            self.add_item(self._pager("Previous", -1, self.index == 0))
            self.add_item(self._pager("Next", 1, self.index >= self.pages - 1))

    def _pager(self, label: str, step: int, disabled: bool) -> discord.ui.Button[QueueView]:
        button: discord.ui.Button[QueueView] = discord.ui.Button(label=label, disabled=disabled, row=4)

        async def turn(interaction: discord.Interaction[Any]) -> None:
            self.index = min(max(self.index + step, 0), self.pages - 1)
            self._draw()
            await interaction.response.edit_message(embed=self.current(), view=self)

        button.callback = turn  # type: ignore[method-assign]
        return button


class Fulfilment(commands.Cog, name="Fulfilment"):
    fulfilment_group = ModeratorGroup(
        name="fulfilment", description="Gifts shipped by hand: the queue and its CSV", guild_only=True
    )

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MarkShippedButton, MarkDeliveredButton, CancelGiftButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(MarkShippedButton, MarkDeliveredButton, CancelGiftButton)

    @fulfilment_group.command(name="list", description="Gifts waiting to be shipped or marked delivered")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        items, waiting = await fulfilment.queue(self.bot.db, guild_id_of(interaction))
        if not items:
            text = "Nothing to ship right now."
            if waiting:
                text += f" {plural(waiting, 'gift')} still wait for the member's shipping details."
            await interaction.response.send_message(text, ephemeral=True)
            return
        view = QueueView(interaction.user.id, items, waiting)
        await interaction.response.send_message(embed=view.current(), view=view, ephemeral=True)

    @fulfilment_group.command(name="cancel", description="Cancel one gift not sent yet; the member is told why")
    @app_commands.describe(gift="The gift to call back", reason="Why; the member is told")
    @app_commands.autocomplete(gift=cancellable_choices)
    async def cancel(
        self, interaction: discord.Interaction[Any], gift: int, reason: app_commands.Range[str, 1, 200]
    ) -> None:
        text = await cancel_one(interaction, guild_id_of(interaction), gift, reason)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    @fulfilment_group.command(name="export", description="The gifts to ship with their addresses, as CSV")
    async def export(self, interaction: discord.Interaction[Any]) -> None:
        text, rows = await self.bot.db.perform(fulfilment.export_csv, guild_id_of(interaction), interaction.user.id,
                                               self.bot.clock.now())  # fmt: skip
        file = discord.File(io.BytesIO(text.encode("utf-8")), filename="fulfilment.csv")
        await interaction.response.send_message(
            f"{plural(rows, 'gift')} to ship. This file holds home addresses: keep it only as long as you ship, "
            "and delete it afterwards.",
            file=file,
            ephemeral=True,
        )


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Fulfilment(bot))
