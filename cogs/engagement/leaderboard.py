"""/leaderboard and /profile, and the weekly leaderboard post in the leaderboard channel (exactly once)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import is_moderator
from bot.errors import NotFound
from bot.periods import PeriodWindow, weekly
from bot.posting import post_once
from bot.scheduler import RecurringJob, RunContext
from bot.services.digest.weekly import window_for
from bot.services.engagement.leaderboard import (
    Leaderboard,
    Metric,
    Standing,
    format_minor,
    format_value,
    leaderboard,
    points_between,
)
from bot.services.engagement.points import Period
from bot.services.engagement.profile import Profile, profile
from bot.services.program.bindings import get_channel_id
from bot.services.program.guild_settings import GuildSettings, get_settings
from bot.text import plural
from bot.ui.embeds import add_field, embed
from bot.ui.interactions import guild_id_of
from bot.ui.times import when

log = logging.getLogger(__name__)

PERIOD_LABELS: dict[Period, str] = {"week": "this week", "month": "this month", "all": "all time"}
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


def _weekly(settings: GuildSettings | None, now: datetime) -> PeriodWindow:
    assert settings is not None  # a per-guild job
    return weekly(now, settings.zone, settings.digest_weekday, settings.digest_time)


def _line(standing: Standing, metric: Metric) -> str:
    badge = MEDALS.get(standing.rank, f"`#{standing.rank}`")
    return f"{badge} **{discord.utils.escape_markdown(standing.display_name)}** — {format_value(standing, metric)}"


def board_embed(board: Leaderboard) -> discord.Embed:
    card = embed(f"🏆 Leaderboard — {board.metric}, {PERIOD_LABELS[board.period]}")
    card.description = "\n".join(_line(s, board.metric) for s in board.top) or "Nobody has scored yet — be the first!"
    if board.me is not None:
        add_field(card, "You", f"#{board.me.rank} of {board.ranked} — {format_value(board.me, board.metric)}")
    else:
        add_field(card, "You", f"Not ranked yet for {PERIOD_LABELS[board.period]}.")
    card.set_footer(text="Ties go to whoever got there first. Only active ambassadors are ranked.")
    return card


def profile_embed(data: Profile, name: str, *, full: bool = True) -> discord.Embed:
    """``full=False`` (someone else's profile, seen by a non-moderator) leaves out sales, pending work and the points
    left to spend."""
    card = embed(f"👤 {name}")
    add_field(card, "Tier", data.tier or "—", inline=True)
    add_field(card, "Status", data.status, inline=True)
    add_field(card, "Streak", plural(data.streak_weeks, "active week"), inline=True)
    add_field(card, "Points this week", f"{data.points_week:,}", inline=True)
    add_field(card, "Points overall", f"{data.points_all:,}", inline=True)
    if full:
        add_field(card, "Points to spend", f"{data.points_spendable:,} (/rewards)", inline=True)
    add_field(card, "Rank", f"#{data.rank} of {data.ranked}" if data.rank else "not ranked yet", inline=True)
    submissions = f"{data.approved_submissions} approved" + (f" · {data.pending_submissions} pending" if full else "")
    add_field(card, "Submissions", submissions, inline=True)
    if full:
        currency = f" {data.currency}" if data.currency else ""
        add_field(
            card, "Code sales", f"{plural(data.orders, 'order')} · {format_minor(data.revenue)}{currency}", inline=True
        )
    card.set_footer(text="An active week is one in which points were earned.")
    return card


class Leaderboards(commands.Cog, name="Leaderboard"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        job = RecurringJob("leaderboard", _weekly, self._post_weekly, label="the weekly leaderboard")
        self.bot.scheduler.register_job(job)

    async def cog_unload(self) -> None:
        self.bot.scheduler.unregister_job("leaderboard")

    @app_commands.command(name="leaderboard", description="The top 10 and where you stand")
    @app_commands.guild_only()
    @app_commands.describe(period="Which period (default: this week)", metric="Rank by points or code sales")
    async def leaderboard(
        self,
        interaction: discord.Interaction[Any],
        period: Literal["week", "month", "all"] = "week",
        metric: Literal["points", "sales"] = "points",
    ) -> None:
        guild_id = guild_id_of(interaction)
        settings = await get_settings(self.bot.db, guild_id)
        board = await leaderboard(
            self.bot.db,
            guild_id,
            period=period,
            metric=metric,
            now=self.bot.clock.now(),
            zone=settings.zone,
            caller_id=interaction.user.id,
        )
        await interaction.response.send_message(embed=board_embed(board), ephemeral=True)

    @app_commands.command(name="profile", description="Tier, points (and to spend), rank, submissions, sales, streak")
    @app_commands.guild_only()
    @app_commands.describe(member="Whose profile (default: yours)")
    async def profile(self, interaction: discord.Interaction[Any], member: discord.Member | None = None) -> None:
        guild_id = guild_id_of(interaction)
        target = member or interaction.user
        # Sales and pending work are the member's own business (and moderators'); others see what is public.
        full = target.id == interaction.user.id or await is_moderator(self.bot, interaction.user)
        settings = await get_settings(self.bot.db, guild_id)
        data = await profile(self.bot.db, guild_id, target.id, now=self.bot.clock.now(), zone=settings.zone)
        if not full and data.status != "active":
            raise NotFound("That member isn't an active ambassador.")
        card = profile_embed(data, target.display_name, full=full)
        await interaction.response.send_message(embed=card, ephemeral=True)

    async def _post_weekly(self, ctx: RunContext) -> None:
        assert ctx.settings is not None and self.bot.user is not None
        channel_id = await get_channel_id(self.bot.db, ctx.guild_id, "leaderboard")
        if channel_id is None:
            log.info("guild %s has no leaderboard channel bound; weekly leaderboard not posted", ctx.guild_id)
            return
        window = window_for(ctx.settings, ctx.period.due_at)
        top = await points_between(self.bot.db, ctx.guild_id, window.start, window.end)
        card = embed(f"🏆 This week's top {len(top) or 10}")
        card.description = "\n".join(_line(s, "points") for s in top) or "No points were earned this week."
        card.description += f"\n\nWeek ending {when(window.end)}. Check yours with /leaderboard."
        channel = self.bot.get_partial_messageable(channel_id, guild_id=ctx.guild_id)
        await post_once(channel, author_id=self.bot.user.id, attempt=ctx.attempt, embed=card)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Leaderboards(bot))
