"""The weekly digest: posted by itself at the server's digest time, exactly once per week; /digest preview | post.

Exactly once: the scheduler claims the week's period in ``job_runs`` before the run, and a retry after a crash
recognises a post it already made by what it says (title and week; ``bot.posting.post_once``) instead of posting
again — nothing internal is shown to members. A digest
missed while the bot was down posts on startup inside the grace window; outside it the scheduler logs the
skip. ``/digest post`` claims this week's period itself, so the automatic run doesn't post it again.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import datetime, timedelta
from typing import Any

import discord
from discord.ext import commands

from bot.app import CollectiveBot
from bot.charts import weekly_chart
from bot.checks import ModeratorGroup
from bot.periods import PeriodWindow, weekly
from bot.posting import post_once
from bot.scheduler import RecurringJob, RunContext
from bot.services.digest.sections import DigestWindow
from bot.services.digest.weekly import (
    Digest,
    EmbedText,
    build_digest,
    claim_week,
    finish_claim,
    moderator_text,
    public_text,
    window_for,
)
from bot.services.program import audit
from bot.services.program.bindings import get_channel_id
from bot.services.program.guild_settings import GuildSettings, get_settings
from bot.ui.embeds import BRAND, WARNING
from bot.ui.interactions import guild_id_of
from bot.ui.markup import render

log = logging.getLogger(__name__)

CHART_NAME = "digest-8-weeks.png"
PUBLIC_FOOTER = "The weekly digest · /leaderboard and /profile for where you stand"
MODERATORS_FOOTER = "For moderators · /digest preview shows the week so far"


def _weekly(settings: GuildSettings | None, now: datetime) -> PeriodWindow:
    assert settings is not None  # a per-guild job
    return weekly(now, settings.zone, settings.digest_weekday, settings.digest_time)


def to_embed(text: EmbedText, colour: discord.Colour = BRAND) -> discord.Embed:
    card = discord.Embed(title=render(text.title), description=render(text.description), colour=colour)
    for name, value in text.fields:
        card.add_field(name=render(name), value=render(value), inline=False)
    card.set_footer(text=text.footer)
    return card


async def _chart(digest: Digest) -> discord.File:
    png = await asyncio.to_thread(weekly_chart, "The last 8 weeks", digest.weeks, digest.metrics)
    return discord.File(io.BytesIO(png), filename=CHART_NAME)


class DigestCog(commands.Cog, name="Digest"):
    group = ModeratorGroup(name="digest", description="The weekly digest (moderators)", guild_only=True)

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.scheduler.register_job(RecurringJob("digest", _weekly, self._run, label="the weekly digest"))

    async def cog_unload(self) -> None:
        self.bot.scheduler.unregister_job("digest")

    async def _run(self, ctx: RunContext) -> None:
        assert ctx.settings is not None
        window = window_for(ctx.settings, ctx.period.due_at)
        posted = await self.post(ctx.guild_id, window, ctx.attempt)
        if not posted:
            log.warning("guild %s has no announcements channel bound; digest %s not posted", ctx.guild_id, ctx.marker)

    async def post(self, guild_id: int, window: DigestWindow, attempt: int) -> discord.Message | None:
        """Post the public digest (with its chart) and the moderators' part. None when no channel is bound."""
        assert self.bot.user is not None
        announcements = await get_channel_id(self.bot.db, guild_id, "announcements")
        if announcements is None:
            return None
        digest = await build_digest(self.bot.db, guild_id, window)
        card = to_embed(public_text(digest, PUBLIC_FOOTER))
        card.set_image(url=f"attachment://{CHART_NAME}")
        channel = self.bot.get_partial_messageable(announcements, guild_id=guild_id)
        message = await post_once(
            channel, author_id=self.bot.user.id, attempt=attempt, embed=card, file=await _chart(digest)
        )
        review = await get_channel_id(self.bot.db, guild_id, "review")
        if digest.moderators and review is not None:
            moderators = to_embed(moderator_text(digest, MODERATORS_FOOTER), WARNING)
            await post_once(
                self.bot.get_partial_messageable(review, guild_id=guild_id),
                author_id=self.bot.user.id,
                attempt=attempt,
                embed=moderators,
            )
        return message

    @group.command(name="preview", description="See this week's digest so far (only you see it)")
    async def preview(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await get_settings(self.bot.db, guild_id)
        now = self.bot.clock.now()
        digest = await build_digest(self.bot.db, guild_id, DigestWindow(now - timedelta(days=7), now, settings.zone))
        card = to_embed(public_text(digest, "Preview — the last 7 days; not posted"))
        card.set_image(url=f"attachment://{CHART_NAME}")
        embeds = [card]
        if digest.moderators:
            embeds.append(to_embed(moderator_text(digest, "Moderators' part — goes to the review channel"), WARNING))
        if sum(len(e) for e in embeds) > 6000:  # one message carries at most 6000 characters of embeds
            embeds = embeds[:1]
        await interaction.followup.send(embeds=embeds, file=await _chart(digest), ephemeral=True)

    @group.command(name="post", description="Post the digest now; it counts as this week's")
    async def post_now(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await get_settings(self.bot.db, guild_id)
        now = self.bot.clock.now()
        key, claimed = await self.bot.db.perform(claim_week, guild_id, settings, now)
        window = DigestWindow(now - timedelta(days=7), now, settings.zone)
        try:
            message = await self.post(guild_id, window, attempt=1)
        except BaseException:
            if claimed:
                await self.bot.db.perform(finish_claim, guild_id, key, now, ok=False)
            raise
        if claimed:
            await self.bot.db.perform(finish_claim, guild_id, key, now, ok=message is not None)
        if message is not None:
            async with self.bot.db.transaction() as tx:
                await audit.record(
                    tx, guild_id, interaction.user.id, "digest.post", None, now, week=key, extra=not claimed
                )
        if message is None:
            await interaction.followup.send(
                "⚠️ No announcements channel is bound yet; run /setup first.", ephemeral=True
            )
            return
        note = (
            "It counts as this week's digest."
            if claimed
            else "This week's digest had already gone out; this is an extra."
        )
        await interaction.followup.send(f"Posted the digest: {message.jump_url}\n{note}", ephemeral=True)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(DigestCog(bot))
