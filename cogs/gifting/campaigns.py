"""/gift (moderators): create, list, close and cancel gifting campaigns; the announcement's "I'd love one" button;
the window closing on its timer."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import ModeratorGroup, require_moderator
from bot.errors import InvalidInput
from bot.scheduler import Timer
from bot.services.content import briefs
from bot.services.gifting import campaigns
from bot.services.gifting.campaigns import CampaignDraft
from bot.services.inputs.local_time import parse_local
from bot.services.program import bindings
from bot.services.program.guild_settings import get_settings
from bot.text import plural
from bot.ui.base import BaseView, RecordButton
from bot.ui.choices import tier_choices
from bot.ui.embeds import clip
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.paginator import Paginator, field_pages
from bot.ui.posted_record import post_record
from bot.ui.product_choices import parse_product, product_choices
from bot.ui.times import when
from cogs.gifting.gift_ui import refresh_announcement, render_announcement

log = logging.getLogger(__name__)


async def open_brief_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    found = await briefs.search(bot_of(interaction).db, guild_id_of(interaction), current, ("open",))
    return [app_commands.Choice(name=clip(f"{b.title} — due {b.due_at:%d %b}", 100), value=str(b.id)) for b in found]


async def _campaign_choices(
    interaction: discord.Interaction[Any], current: str, *, open_only: bool
) -> list[app_commands.Choice[int]]:
    found = await campaigns.search(bot_of(interaction).db, guild_id_of(interaction), current, open_only=open_only)
    return [app_commands.Choice(name=clip(f"#{c.id} {c.product} ({c.status})", 100), value=c.id) for c in found]


async def open_campaign_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[int]]:
    return await _campaign_choices(interaction, current, open_only=True)


class OptInButton(RecordButton, feature="gift", action="optin"):
    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        guild_id = guild_id_of(interaction)
        joined = await bot.db.perform(campaigns.opt_in, guild_id, self.record_id, interaction.user.id, bot.clock.now())
        campaign = joined.campaign
        if not joined.added:
            text = f"You're already in for **{campaign.product}** (#{joined.position} in line)."
        else:
            text = (f"✅ You're in for **{campaign.product}** — #{joined.position} in line for "
                    f"{plural(campaign.quantity, 'gift')}. The window closes {when(campaign.closes_at, 'R')}; "
                    "if you're chosen I'll DM you for your shipping details.")  # fmt: skip
        await interaction.response.send_message(text, ephemeral=True)
        if joined.added:
            await refresh_announcement(bot, campaign)


class OptOutButton(RecordButton, feature="gift", action="optout"):
    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        left = await bot.db.perform(campaigns.opt_out, guild_id_of(interaction), self.record_id,
                                    interaction.user.id, bot.clock.now())  # fmt: skip
        campaign = left.campaign
        if left.removed:
            text = (f"↩️ You're out for **{campaign.product}**: your opt-in is withdrawn. Changed your mind again? "
                    f"Press **I'd love one** before the window closes {when(campaign.closes_at, 'R')}.")  # fmt: skip
        else:
            text = f"You're not opted in for **{campaign.product}**, so there was nothing to withdraw."
        await interaction.response.send_message(text, ephemeral=True)
        if left.removed:
            await refresh_announcement(bot, campaign)


class PickMembersView(BaseView):
    """After /gift create with pick_members: the members who may take part, chosen from a user select."""

    def __init__(self, cog: GiftAdmin, owner_id: int, draft: CampaignDraft) -> None:
        super().__init__(timeout=600, owner_id=owner_id)
        self.cog = cog
        self.draft = draft

    @discord.ui.select(cls=discord.ui.UserSelect, placeholder="Who may take part?", min_values=1,
                       max_values=campaigns.MAX_PICKED)  # fmt: skip
    async def members(self, interaction: discord.Interaction[Any], select: discord.ui.UserSelect[Any]) -> None:
        await require_moderator(interaction)
        invited = tuple(sorted({user.id for user in select.values if not user.bot}))
        if not invited:
            raise InvalidInput("Pick members, not bots.")
        self.stop()
        await self.cog.launch(interaction, replace(self.draft, invitees=invited))


class GiftAdmin(commands.Cog, name="Gifting"):
    gift = ModeratorGroup(name="gift", description="Gifting campaigns: send product to ambassadors", guild_only=True)

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(OptInButton, OptOutButton)
        self.bot.scheduler.register_timer(campaigns.CLOSE, self.on_window_closed)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(OptInButton, OptOutButton)
        self.bot.scheduler.unregister_timer(campaigns.CLOSE)

    @gift.command(name="create", description="Offer a product: members opt in, the first come get one")
    @app_commands.describe(
        product="The product (picked from the shop when one is connected, or typed)",
        quantity="How many to send",
        closes="When opt-ins close, server time: YYYY-MM-DD HH:MM",
        opens="When opt-ins open, server time (default: now)",
        tier="Only this tier may take part (default: every ambassador)",
        pick_members="Only members you pick next may take part",
        brief="A brief chosen members are asked to follow",
    )
    @app_commands.autocomplete(product=product_choices, tier=tier_choices, brief=open_brief_choices)
    async def create(
        self,
        interaction: discord.Interaction[Any],
        product: app_commands.Range[str, 1, 100],
        quantity: app_commands.Range[int, 1, 1000],
        closes: app_commands.Range[str, 1, 30],
        opens: app_commands.Range[str, 1, 30] | None = None,
        tier: app_commands.Range[str, 1, 24] | None = None,
        pick_members: bool = False,
        brief: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        zone = (await get_settings(self.bot.db, guild_id)).zone
        if tier is not None and pick_members:
            raise InvalidInput("Choose either a tier or picked members, not both.")
        title, variant = parse_product(product)
        brief_id = None
        if brief is not None:
            if not (brief.strip().isascii() and brief.strip().isdigit()):  # '²'.isdigit() is True; int('²') fails
                raise InvalidInput("Pick the brief from the list.")
            brief_id = int(brief.strip())
        draft = CampaignDraft(
            product=title, variant_ref=variant, quantity=quantity, tier=tier.strip().lower() if tier else None,
            invitees=None, opens_at=parse_local(opens, zone, what="opening") if opens else now,
            closes_at=parse_local(closes, zone, what="closing"), brief_id=brief_id,
        )  # fmt: skip
        await campaigns.validate_draft(self.bot.db, guild_id, draft, now)
        await self._announcements(guild_id)
        if pick_members:
            view = PickMembersView(self, interaction.user.id, draft)
            await interaction.response.send_message(
                f"Who may take part in **{title}**? Pick up to {campaigns.MAX_PICKED} members.", view=view,
                ephemeral=True,
            )  # fmt: skip
            return
        await self.launch(interaction, draft)

    async def _announcements(self, guild_id: int) -> int:
        channel_id = await bindings.get_channel_id(self.bot.db, guild_id, "announcements")
        if channel_id is None:
            raise InvalidInput("There's no announcements channel yet: run /setup first.")
        return channel_id

    async def launch(self, interaction: discord.Interaction[Any], draft: CampaignDraft) -> None:
        """Create the campaign and announce it; nothing is left behind when Discord refuses the post."""
        guild_id = guild_id_of(interaction)
        channel_id = await self._announcements(guild_id)
        campaign = await self.bot.db.perform(campaigns.create_campaign, guild_id, draft, interaction.user.id,
                                             self.bot.clock.now())  # fmt: skip
        await interaction.response.defer(ephemeral=True, thinking=True)

        async def store(channel: int, message: int) -> None:
            await self.bot.db.perform(campaigns.attach_post, guild_id, campaign.id, channel, message)

        async def undo() -> None:
            await self.bot.db.perform(campaigns.discard_campaign, guild_id, campaign.id, self.bot.clock.now())

        try:
            message = await post_record(self.bot, guild_id, channel_id, await render_announcement(self.bot, campaign),
                                        store=store, undo=undo)  # fmt: skip
        except discord.HTTPException as exc:
            raise InvalidInput(f"I couldn't post in <#{channel_id}> ({exc.status}); nothing was created.") from exc
        await interaction.followup.send(
            f"✅ Gift campaign #{campaign.id} for **{campaign.product}** is up: {message.jump_url}. Opt-ins close "
            f"{when(campaign.closes_at)}; the first {plural(campaign.quantity, 'member')} get one"
            + (" from the shop (a zero-value order each)." if campaign.variant_ref else ", shipped from /fulfilment."),
            ephemeral=True,
        )

    @gift.command(name="list", description="Gifting campaigns: open ones first, with opt-ins and gifts sent")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        lines = await campaigns.list_campaigns(self.bot.db, guild_id_of(interaction))
        if not lines:
            await interaction.response.send_message("No gifting campaigns yet: /gift create starts one.",
                                                    ephemeral=True)  # fmt: skip
            return
        entries = [
            (clip(f"#{line.campaign.id} {line.campaign.product} — {line.campaign.status}", 256),
             f"{line.campaign.quantity} to send · {plural(line.optins, 'opt-in')} · {line.sent} sent · "
             f"closes {when(line.campaign.closes_at)}")
            for line in lines
        ]  # fmt: skip
        await Paginator(field_pages("Gifting campaigns", entries, per_page=8), owner_id=interaction.user.id).send(
            interaction
        )

    @gift.command(name="close", description="Close opt-ins now and choose who gets one")
    @app_commands.autocomplete(campaign=open_campaign_choices)
    async def close(self, interaction: discord.Interaction[Any], campaign: int) -> None:
        guild_id = guild_id_of(interaction)
        closed = await self.bot.db.perform(campaigns.close_campaign, guild_id, campaign, interaction.user.id,
                                           self.bot.clock.now())  # fmt: skip
        assert closed is not None
        await interaction.response.send_message(
            f"Closed **{closed.campaign.product}**: {plural(len(closed.chosen), 'member')} chosen (asked by DM for "
            f"their shipping details), {len(closed.not_chosen)} told it's not their turn.",
            ephemeral=True,
        )
        await refresh_announcement(self.bot, closed.campaign)

    @gift.command(name="cancel", description="Call off an open campaign; everyone who opted in is told")
    @app_commands.autocomplete(campaign=open_campaign_choices)
    async def cancel(self, interaction: discord.Interaction[Any], campaign: int) -> None:
        guild_id = guild_id_of(interaction)
        cancelled = await self.bot.db.perform(campaigns.cancel_campaign, guild_id, campaign, interaction.user.id,
                                              self.bot.clock.now())  # fmt: skip
        await interaction.response.send_message(
            f"Called off **{cancelled.campaign.product}**; told {plural(len(cancelled.not_chosen), 'member')}.",
            ephemeral=True,
        )
        await refresh_announcement(self.bot, cancelled.campaign)

    async def on_window_closed(self, timer: Timer, now: datetime) -> None:
        closed = await self.bot.db.perform(campaigns.close_campaign, timer.guild_id, int(timer.payload["campaign_id"]),
                                           None, now)  # fmt: skip
        if closed is not None:  # None: a moderator closed or cancelled it first
            log.info("gift campaign %s closed: %d chosen", closed.campaign.id, len(closed.chosen))
            await refresh_announcement(self.bot, closed.campaign)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(GiftAdmin(bot))
