"""Shipping details, privately: /shipping in the server, the "Add shipping details" button in a gift's DM, the
optional phone number, and the daily erasure of details no longer needed (bot/services/gifting/shipping.py).

Every answer here is ephemeral or a DM to the member; nothing logs what they typed."""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.errors import NotAllowed, NotFound
from bot.periods import PeriodWindow, daily
from bot.scheduler import RecurringJob, RunContext
from bot.services.gifting import fulfilment, shipping
from bot.services.gifting.addresses import ShippingDetails, get_details
from bot.services.program.guild_settings import GuildSettings
from bot.services.program.members import find_member
from bot.ui.base import BaseView, RecordButton
from bot.ui.interactions import bot_of, guild_id_of
from cogs.gifting.gift_ui import PhoneModal, ShippingModal, saved_text

log = logging.getLogger(__name__)

JOB = "shipping-retention"
ERASE_AT = time(4, 0)  # local time: after the night's backup (03:00 UTC), before anyone ships


def _daily(settings: GuildSettings | None, now: datetime) -> PeriodWindow:
    assert settings is not None
    return daily(now, settings.zone, ERASE_AT)


class PhoneView(BaseView):
    def __init__(self, guild_id: int, owner_id: int) -> None:
        super().__init__(timeout=900, owner_id=owner_id)
        self.guild_id = guild_id

    @discord.ui.button(label="Add a phone number", style=discord.ButtonStyle.secondary)
    async def phone(self, interaction: discord.Interaction[Any], _: discord.ui.Button[PhoneView]) -> None:
        bot = bot_of(interaction)
        details = await get_details(bot.db, self.guild_id, interaction.user.id)
        await interaction.response.send_modal(PhoneModal(self._save, details.phone if details else None))

    async def _save(self, interaction: discord.Interaction[Any], phone: str | None) -> None:
        bot = bot_of(interaction)
        if not await bot.db.perform(shipping.save_phone, self.guild_id, interaction.user.id, phone, bot.clock.now()):
            raise NotFound("Give your shipping details first (/shipping).")
        text = "✅ Phone number saved for the courier." if phone else "✅ Phone number removed."
        await interaction.response.send_message(text, ephemeral=True)


def shipping_form(guild_id: int, current: ShippingDetails | None) -> ShippingModal:
    async def save(interaction: discord.Interaction[Any], details: ShippingDetails) -> None:
        bot = bot_of(interaction)
        ready = await bot.db.perform(shipping.save_details, guild_id, interaction.user.id, details, bot.clock.now())
        await interaction.response.send_message(saved_text(ready), view=PhoneView(guild_id, interaction.user.id),
                                                ephemeral=True)  # fmt: skip

    return ShippingModal(save, ShippingModal.filled(current))


class AddressButton(RecordButton, feature="gift", action="address"):
    """In a gift's DM: opens the form for the server the gift belongs to (a DM carries no server)."""

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        gift = await fulfilment.find_gift(bot.db, self.record_id)
        if gift is None or gift.user_id != interaction.user.id:
            raise NotFound("I can't find that gift.")
        if gift.state not in ("awaiting_address", "ready"):
            raise NotAllowed(f"**{gift.what}** is already on its way: its address can't change any more.")
        current = await get_details(bot.db, gift.guild_id, interaction.user.id)
        await interaction.response.send_modal(shipping_form(gift.guild_id, current))


class Shipping(commands.Cog, name="Shipping details"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(AddressButton)
        self.bot.scheduler.register_job(
            RecurringJob(
                JOB, _daily, self.erase_expired, label="the daily erasure of shipping details no longer needed"
            )
        )

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AddressButton)
        self.bot.scheduler.unregister_job(JOB)

    @app_commands.command(name="shipping", description="Give or update where your gifts are sent (only you see it)")
    @app_commands.guild_only()
    async def shipping_details(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        member = await find_member(self.bot.db, guild_id, interaction.user.id)
        if member is None or member.status in ("applicant", "rejected", "waitlisted"):
            raise NotAllowed("This is for the brand's ambassadors. Use /apply to join the program.")
        current = await get_details(self.bot.db, guild_id, interaction.user.id)
        await interaction.response.send_modal(shipping_form(guild_id, current))

    async def erase_expired(self, ctx: RunContext) -> None:
        erased = await self.bot.db.perform(shipping.purge_expired, ctx.guild_id, ctx.now)
        if erased:
            log.info("erased the shipping details of %d member(s) in server %s (retention over)", erased, ctx.guild_id)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Shipping(bot))
