"""/tiers: the rules that move members between tiers by themselves, the demotion grace, pins and a preview; the
daily job that applies them. The rules live in ``bot/services/program/tier_rules.py``.

A move owes the member one DM and a role sync (outbox ``tiers.moved``): roles follow through the same
``sync_roles_or_retry`` as ``/ambassador tier``; the DM goes through ``dm_once`` so a retry never sends it twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import moderator_only
from bot.errors import InvalidInput
from bot.outbox import OutboxItem
from bot.periods import PeriodWindow, daily
from bot.posting import dm_once
from bot.scheduler import RecurringJob, RunContext
from bot.services.program import tier_rules, tiers
from bot.services.program.guild_settings import GuildSettings
from bot.text import plural
from bot.ui.choices import tier_choices
from bot.ui.embeds import SUCCESS, WARNING, add_field, clip, embed
from bot.ui.interactions import guild_id_of
from bot.ui.markup import mention
from bot.ui.paginator import Paginator, line_pages
from cogs.onboarding import membership as ms

JOB = "tier-rules"
PREVIEW_PER_PAGE = 20


def tier_move_dm(direction: str, name: str, perks: str, where: str) -> discord.Embed:
    """The member's DM when the rules move their tier, a card like the bot's other DMs."""
    if direction == "promoted":
        card = embed(f"🎉 You've moved up to {name}", f"Your results moved you up to the **{name}** tier in {where}!",
                     colour=SUCCESS)  # fmt: skip
    else:
        card = embed(f"Your tier is now {name}", f"Your tier in {where} is now **{name}**: your activity stayed "
                     "below the previous tier's rule.", colour=WARNING)  # fmt: skip
    if perks:
        add_field(card, "Perks", clip(perks, 1000))
    return card


def _daily(settings: GuildSettings | None, now: datetime) -> PeriodWindow:
    assert settings is not None  # a per-guild job
    return daily(now, settings.zone, settings.digest_time)


def _count(text: str | None, what: str) -> int | None:
    if text is None or text.strip().lower() in ("", "none", "-"):
        return None
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 7:  # '²'.isdigit() is True, int('²') fails
        raise InvalidInput(f"The minimum {what} is a whole number up to 1,000,000, or 'none'.")
    return int(digits)


class TierRules(commands.Cog, name="Tier rules"):
    group = app_commands.Group(name="tiers", description="Tiers that move by themselves", guild_only=True)

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.scheduler.register_job(RecurringJob(JOB, _daily, self._run, label="the daily tier rules"))
        self.bot.outbox.subscribe(tier_rules.MOVED, "roles", self.on_moved_roles)
        self.bot.outbox.subscribe(tier_rules.MOVED, "member", self.on_moved_member)

    async def cog_unload(self) -> None:
        self.bot.scheduler.unregister_job(JOB)
        self.bot.outbox.unsubscribe(tier_rules.MOVED, "roles")
        self.bot.outbox.unsubscribe(tier_rules.MOVED, "member")

    async def _run(self, ctx: RunContext) -> None:
        async with self.bot.db.transaction() as tx:
            await tier_rules.evaluate(tx, ctx.guild_id, ctx.now)

    async def on_moved_roles(self, item: OutboxItem) -> None:
        await ms.sync_roles_or_retry(self.bot, item.guild_id, int(item.payload["user_id"]))

    async def on_moved_member(self, item: OutboxItem) -> None:
        key = str(item.payload["new"])
        found = {t.key: t for t in await tiers.list_tiers(self.bot.db, item.guild_id)}.get(key)
        name, perks = (found.name, found.perks) if found is not None else (key, "")  # removed since: its key
        guild = self.bot.get_guild(item.guild_id)
        where = guild.name if guild is not None else "the ambassador program"
        card = tier_move_dm(str(item.payload["direction"]), name, perks, where)
        await dm_once(self.bot, item.guild_id, int(item.payload["user_id"]), attempt=item.attempt, embed=card)

    # -- moderators -------------------------------------------------------------------------------------------

    @group.command(name="rules", description="A tier's rule: at least N orders or P points in a window of days")
    @app_commands.describe(
        tier="The tier",
        min_orders="Orders needed ('none': orders don't count)",
        min_points="Points needed ('none': points don't count); both none removes the rule",
        window_days="The window in days (default 90)",
    )
    @app_commands.autocomplete(tier=tier_choices)
    @moderator_only()
    async def rules(
        self,
        interaction: discord.Interaction[Any],
        tier: str,
        min_orders: str | None = None,
        min_points: str | None = None,
        window_days: app_commands.Range[int, 1, 365] = tier_rules.DEFAULT_WINDOW_DAYS,
    ) -> None:
        orders, points = _count(min_orders, "orders"), _count(min_points, "points")
        async with self.bot.db.transaction() as tx:
            rule = await tier_rules.set_rule(
                tx, guild_id_of(interaction), tier, orders, points, window_days, interaction.user.id,
                self.bot.clock.now(),
            )  # fmt: skip
        said = f"now {rule.text}" if rule else "removed (only given by hand)"
        await interaction.response.send_message(f"Rule of `{tier}`: {said}.", ephemeral=True)

    @group.command(name="grace", description="Extra days below a tier's rule before a member is moved down")
    @moderator_only()
    async def grace(self, interaction: discord.Interaction[Any], days: app_commands.Range[int, 0, 365]) -> None:
        async with self.bot.db.transaction() as tx:
            await tier_rules.set_grace(tx, guild_id_of(interaction), days, interaction.user.id, self.bot.clock.now())
        await interaction.response.send_message(
            f"Demotion grace: {plural(days, 'day')} after a whole window below.", ephemeral=True
        )

    async def _pin(self, interaction: discord.Interaction[Any], member: discord.User, pinned: bool) -> None:
        async with self.bot.db.transaction() as tx:
            await tier_rules.set_pin(
                tx, guild_id_of(interaction), member.id, pinned, interaction.user.id, self.bot.clock.now()
            )
        said = "pinned: the rules leave it alone" if pinned else "unpinned: the rules apply again"
        await interaction.response.send_message(f"{member.mention}'s tier is {said}.", ephemeral=True)

    @group.command(name="pin", description="Pin an ambassador's tier so the rules leave it alone")
    @moderator_only()
    async def pin(self, interaction: discord.Interaction[Any], member: discord.User) -> None:
        await self._pin(interaction, member, True)

    @group.command(name="unpin", description="Let the rules move an ambassador's tier again")
    @moderator_only()
    async def unpin(self, interaction: discord.Interaction[Any], member: discord.User) -> None:
        await self._pin(interaction, member, False)

    @group.command(name="preview", description="Who the rules would move today, without moving anyone")
    @moderator_only()
    async def preview(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        moves, waiting, _ = await tier_rules.plan(self.bot.db, guild_id, self.bot.clock.now())
        rules = await tier_rules.list_rules(self.bot.db, guild_id)
        head = "\n".join(f"**{key}**: {rule.text}" for key, rule in sorted(rules.items())) or "No tier has a rule yet."
        if waiting:
            head += f"\n{plural(len(waiting), 'member')} below their tier's rule, within the window and grace."
        lines = [f"{'⬆️' if m.direction == 'promoted' else '⬇️'} {mention(m.user_id)}: {m.old} → {m.new}" for m in moves]
        pages = line_pages("Who the tier rules would move today", lines, per_page=PREVIEW_PER_PAGE,
                           empty="Nobody would move today.")  # fmt: skip
        for page in pages:
            add_field(page, "Rules", clip(head, 1000))
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(TierRules(bot))
