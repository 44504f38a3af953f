"""Drops: /drop create|list|cancel (moderators). Published to the drops channel at their time by a durable timer."""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import ModeratorGroup
from bot.scheduler import Timer
from bot.services.content import drops
from bot.services.content.drops import Drop, DropImage
from bot.services.inputs.links import IMAGE_TYPES, check_upload
from bot.services.inputs.record_ids import record_id
from bot.ui.base import DisplayView, RecordButton
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import BRAND, add_field, clip, embed
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.paginator import Paginator, field_pages
from bot.ui.posted_record import Rendered, post_record
from bot.ui.times import when
from cogs.content.content_ui import channel_id_or_setup, zone_of

log = logging.getLogger(__name__)
PER_PAGE = 6
IMAGE_SIZE_LIMIT = 8 * 1024 * 1024  # kept in the database until publish time, so keep it modest


def drop_embed(drop: Drop, zone: ZoneInfo) -> discord.Embed:
    card = embed(f"🔒 Insider drop: {drop.title}", drop.body, colour=BRAND)
    if drop.embargo_until is not None:
        add_field(card, "Embargo", f"Please don't share this before {when(drop.embargo_until)}.")
    if drop.image_url:
        card.set_image(url=drop.image_url)
    elif drop.image_name:
        card.set_image(url=f"attachment://{drop.image_name}")
    card.set_footer(text=f"Drop #{drop.id} · for ambassadors' eyes first")
    return card


def ack_label(drop: Drop, zone: ZoneInfo) -> str:
    assert drop.embargo_until is not None
    return f"I won't share before {drop.embargo_until.astimezone(zone):%d %b %Y}"


class AckButton(RecordButton, feature="drop", action="ack"):
    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot, guild_id = bot_of(interaction), guild_id_of(interaction)
        drop, new = await bot.db.perform(
            drops.acknowledge, guild_id, self.record_id, interaction.user.id, bot.clock.now()
        )
        assert drop.embargo_until is not None
        moment = when(drop.embargo_until)
        text = (
            f"Thank you! Noted: you'll keep “{drop.title}” to yourself until {moment}."
            if new
            else "You already acknowledged this one — thank you!"
        )
        await interaction.response.send_message(text, ephemeral=True)


class Drops(commands.Cog, name="Drops"):
    drop = ModeratorGroup(name="drop", description="Behind-the-scenes drops for ambassadors")

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(AckButton)
        self.bot.scheduler.register_timer(drops.PUBLISH, self._publish)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AckButton)
        self.bot.scheduler.unregister_timer(drops.PUBLISH)

    @drop.command(name="create", description="Schedule a drop for the drops channel")
    @app_commands.describe(
        title="Headline (up to 100 characters)",
        body="The drop itself; write \\n for a line break",
        publish_at="When to post it, server time: 2026-12-05 or 2026-12-05 18:00",
        embargo="Ambassadors shouldn't share before this date (server time)",
        image_link="An image link (https://…)",
        image="Or an image file (PNG, JPEG, GIF, WebP)",
        acknowledgement="Show an “I won't share before …” button (default: on when there is an embargo)",
    )
    async def create(
        self,
        interaction: discord.Interaction[Any],
        title: str,
        body: str,
        publish_at: str,
        embargo: str | None = None,
        image_link: str | None = None,
        image: discord.Attachment | None = None,
        acknowledgement: bool | None = None,
    ) -> None:
        guild_id = guild_id_of(interaction)
        await channel_id_or_setup(self.bot, guild_id, "drops")
        zone = await zone_of(self.bot, guild_id)
        now = self.bot.clock.now()
        fields = drops.check_fields(title, body, publish_at, embargo, image_link, acknowledgement, zone, now)
        kind = None
        if image is not None:
            limit = min(interaction.filesize_limit, IMAGE_SIZE_LIMIT)
            kind = check_upload(image.filename, image.content_type, image.size, limit, IMAGE_TYPES)
        await interaction.response.defer(ephemeral=True, thinking=True)
        upload = None
        if image is not None and kind is not None:
            name = re.sub(r"[^A-Za-z0-9._-]", "_", image.filename)[:80] or "image"
            upload = DropImage(name, kind, await image.read())
        created = await self.bot.db.perform(drops.create, guild_id, interaction.user.id, fields, upload, now)
        await interaction.followup.send(
            f"🗓️ Drop #{created.id} will be posted {when(created.publish_at)}. Preview:",
            embed=drop_embed(created, zone),
            ephemeral=True,
        )

    async def _publish(self, timer: Timer, now: datetime) -> None:
        drop = await drops.get_drop(self.bot.db, timer.guild_id, int(timer.payload["drop_id"]))
        if drop.status != "scheduled":
            return
        channel_id = await channel_id_or_setup(self.bot, drop.guild_id, "drops")
        zone = await zone_of(self.bot, drop.guild_id)
        rendered = Rendered(drop_embed(drop, zone))
        image = await drops.image_of(self.bot.db, drop.id)
        if image is not None:
            rendered.file = discord.File(io.BytesIO(image.data), filename=image.name)
        if drop.ask_ack and drop.embargo_until is not None:
            rendered.view = DisplayView().button(
                ack_label(drop, zone), custom_id("drop", "ack", drop.id), discord.ButtonStyle.primary
            )

        async def store(channel_id: int, message_id: int) -> None:
            await self.bot.db.perform(drops.mark_published, drop.id, channel_id, message_id, now)

        await post_record(self.bot, drop.guild_id, channel_id, rendered, store=store, attempt=timer.attempt)

    @drop.command(name="list", description="Scheduled and published drops, with who acknowledged")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        found = await drops.list_drops(self.bot.db, guild_id)
        if not found:
            await interaction.response.send_message("No drops yet. Schedule one with /drop create.", ephemeral=True)
            return
        entries = []
        for drop in found:
            moment = when(drop.publish_at)
            line = f"{'posts' if drop.status == 'scheduled' else 'posted'} {moment}"
            if drop.embargo_until is not None:
                acks = await drops.acknowledged_by(self.bot.db, drop.id)
                names = " ".join(f"<@{user_id}>" for user_id in acks[:20]) + (" …" if len(acks) > 20 else "")
                line += f"\nembargo until {when(drop.embargo_until)} · {len(acks)} acknowledged {names}"
            entries.append((f"#{drop.id} · {drop.title} — {drop.status}", line))
        pages = field_pages("Drops", entries, per_page=PER_PAGE)
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)

    @drop.command(name="cancel", description="Cancel a scheduled drop before it is posted")
    @app_commands.describe(drop="The scheduled drop to cancel")
    async def cancel(self, interaction: discord.Interaction[Any], drop: str) -> None:
        guild_id = guild_id_of(interaction)
        drop_id = record_id(drop) or 0  # no such drop: the service says it can't find it
        cancelled = await self.bot.db.perform(
            drops.cancel, guild_id, drop_id, interaction.user.id, self.bot.clock.now()
        )
        await interaction.response.send_message(
            f"Cancelled drop #{cancelled.id} “{cancelled.title}”; it won't be posted.", ephemeral=True
        )

    @cancel.autocomplete("drop")
    async def _drop_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        guild_id = guild_id_of(interaction)
        zone = await zone_of(self.bot, guild_id)
        found = await drops.search(self.bot.db, guild_id, current, ("scheduled",))
        return [
            app_commands.Choice(
                name=clip(f"{d.title} — {d.publish_at.astimezone(zone):%d %b %H:%M}", 100), value=str(d.id)
            )
            for d in found
        ]


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Drops(bot))
