"""/ambassador (moderators): the roster — list, info, add, tier, pause, resume, remove, export, forget, sync;
and /applications: pending applications, oldest first."""

from __future__ import annotations

import io
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import ModeratorGroup, moderator_only
from bot.errors import NotAllowed
from bot.services.onboarding import applications as onboarding
from bot.services.onboarding import roster
from bot.services.program import members, tiers
from bot.services.program.guild_settings import get_settings
from bot.text import plural
from bot.ui.embeds import add_field, embed
from bot.ui.interactions import guild_id_of
from bot.ui.markup import timestamp
from bot.ui.paginator import Paginator
from cogs.onboarding import membership as ms

PAGE_SIZE = 15
STATUS_CHOICES = [app_commands.Choice(name=s, value=s) for s in roster.FILTERABLE]


def _pages(title: str, lines: list[str], empty: str) -> list[discord.Embed]:
    if not lines:
        return [embed(title, empty)]
    chunks = [lines[i : i + PAGE_SIZE] for i in range(0, len(lines), PAGE_SIZE)]
    return [embed(title, "\n".join(chunk)) for chunk in chunks]


class AmbassadorGroup(ModeratorGroup, name="ambassador", description="The ambassador roster (moderators)"):
    def __init__(self, bot: CollectiveBot) -> None:
        super().__init__()
        self.bot = bot

    async def _tier_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        guild_id = guild_id_of(interaction)
        found = await tiers.list_tiers(self.bot.db, guild_id)
        return [
            app_commands.Choice(name=f"{t.name} ({t.key})", value=t.key) for t in found if current.lower() in t.key
        ][:25]

    @app_commands.command(name="list", description="List ambassadors; filter by status and tier")
    @app_commands.choices(status=STATUS_CHOICES)
    async def list_(
        self, interaction: discord.Interaction[Any], status: str | None = None, tier: str | None = None
    ) -> None:
        guild_id = guild_id_of(interaction)
        rows = await roster.list_roster(self.bot.db, guild_id, status=status, tier=tier)
        lines = [
            f"<@{r.member.user_id}> — {r.member.status}, {r.member.tier or 'no tier'}, code `{r.code or '—'}`"
            for r in rows
        ]
        title = f"Ambassadors ({len(rows)})" + (f" · {status}" if status else "") + (f" · {tier}" if tier else "")
        await Paginator(_pages(title, lines, "Nobody matches."), owner_id=interaction.user.id).send(interaction)

    list_.autocomplete("tier")(_tier_choices)

    @app_commands.command(name="info", description="One member's status, tier, code, points and application")
    async def info(self, interaction: discord.Interaction[Any], member: discord.User) -> None:
        guild_id = guild_id_of(interaction)
        found = await roster.member_info(self.bot.db, guild_id, member.id)
        m = found.member
        card = embed(
            f"{m.display_name}", f"<@{m.user_id}> · **{m.status}** since {timestamp(m.status_changed_at, 'D')}"
        )
        add_field(card, "Tier", m.tier or "—", inline=True)
        add_field(card, "Code", f"`{found.code.code}` ({found.code.status})" if found.code else "—", inline=True)
        add_field(card, "Points", str(found.points), inline=True)
        if m.approved_at:
            by = f"<@{found.approved_by}>" if found.approved_by else "the bot"
            add_field(card, "Approved", f"{timestamp(m.approved_at, 'D')} by {by}", inline=True)
        add_field(card, "City", m.city or "—", inline=True)
        add_field(card, "DMs", "closed" if m.dm_closed else "open", inline=True)
        app = found.application
        if app is not None:
            add_field(card, f"Application #{app.id} ({app.status})", "\n".join(app.social_links) or "(erased)")
            if app.reason:
                add_field(card, "Reason given", app.reason)
        await interaction.response.send_message(embed=card, ephemeral=True)

    @app_commands.command(name="add", description="Invite a member straight into the program")
    async def add(self, interaction: discord.Interaction[Any], member: discord.Member, tier: str | None = None) -> None:
        guild_id = guild_id_of(interaction)
        if member.bot:
            raise NotAllowed("Bots can't be ambassadors.")
        settings = await get_settings(self.bot.db, guild_id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self.bot.db.transaction() as tx:
            change = await roster.add_member(
                tx, guild_id, member.id, member.display_name, interaction.user.id,
                self.bot.clock.now(), settings, tier=tier,
            )  # fmt: skip
        problems = await ms.sync_roles_or_retry(self.bot, guild_id, member.id)
        welcome = await ms.welcome(self.bot, guild_id, member.id, change.code)
        code = change.code.code if change.code else "—"
        roles = "" if not problems else " ⚠️ Roles not yet given (see the review channel)."
        await interaction.followup.send(
            f"Added {member.mention} with code `{code}` (welcome: {welcome}).{roles}", ephemeral=True
        )

    add.autocomplete("tier")(_tier_choices)

    @app_commands.command(name="tier", description="Move an ambassador to another tier (their roles follow)")
    async def tier(self, interaction: discord.Interaction[Any], member: discord.User, tier: str) -> None:
        guild_id = guild_id_of(interaction)
        async with self.bot.db.transaction() as tx:
            old, new, _entry = await roster.change_tier(
                tx, guild_id, member.id, tier, interaction.user.id, self.bot.clock.now()
            )
        problems = await ms.sync_roles_or_retry(self.bot, guild_id, member.id)
        note = "" if not problems else " ⚠️ Roles not yet updated (see the review channel)."
        await interaction.response.send_message(
            f"{member.mention}: tier {old or '—'} → **{new}**.{note}", ephemeral=True
        )

    tier.autocomplete("tier")(_tier_choices)

    async def _status(
        self, interaction: discord.Interaction[Any], member: discord.User, action: str, note: str | None
    ) -> None:
        guild_id = guild_id_of(interaction)
        if action == "resume" and interaction.guild is not None and interaction.guild.get_member(member.id) is None:
            raise NotAllowed(f"{member.mention} isn't in the server; they can be resumed once they rejoin.")
        settings = await get_settings(self.bot.db, guild_id)
        async with self.bot.db.transaction() as tx:
            change = await roster.change_status(
                tx, guild_id, member.id, action, interaction.user.id, self.bot.clock.now(), settings,
                note=note,
            )  # fmt: skip
        problems = await ms.sync_roles_or_retry(self.bot, guild_id, member.id)
        code = f"code `{change.code.code}` {change.code.status}" if change.code else "code retired"
        note_text = "" if not problems else " ⚠️ Roles not yet updated (see the review channel)."
        await interaction.response.send_message(
            f"{member.mention}: {change.old_status} → **{change.new_status}**; {code}.{note_text}", ephemeral=True
        )

    @app_commands.command(name="pause", description="Pause an ambassador: role removed, code paused")
    async def pause(self, interaction: discord.Interaction[Any], member: discord.User, note: str | None = None) -> None:
        await self._status(interaction, member, "pause", note)

    @app_commands.command(name="resume", description="Resume a paused (or returned) ambassador")
    async def resume(
        self, interaction: discord.Interaction[Any], member: discord.User, note: str | None = None
    ) -> None:
        await self._status(interaction, member, "resume", note)

    @app_commands.command(
        name="remove", description="Remove from the program: role removed, code retired, kept as alumni"
    )
    async def remove(
        self, interaction: discord.Interaction[Any], member: discord.User, note: str | None = None
    ) -> None:
        await self._status(interaction, member, "remove", note)

    @app_commands.command(name="sync", description="Re-apply a member's program roles now")
    async def sync(self, interaction: discord.Interaction[Any], member: discord.User) -> None:
        guild_id = guild_id_of(interaction)
        await members.get_member(self.bot.db, guild_id, member.id)
        problems = await ms.sync_roles(self.bot, guild_id, member.id)
        text = "Roles are in step." if not problems else "Still failing:\n" + "\n".join(f"• {p}" for p in problems)
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="export", description="The roster as a CSV file, with each member's numbers")
    async def export(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        text = await roster.export_csv(self.bot.db, guild_id)
        day = self.bot.clock.now().strftime("%Y-%m-%d")
        file = discord.File(io.BytesIO(text.encode("utf-8")), filename=f"ambassadors-{day}.csv")
        rows = text.count("\n") - 1
        await interaction.response.send_message(f"The roster: {plural(rows, 'member')}.", file=file, ephemeral=True)

    @app_commands.command(name="forget", description="Erase a former member's personal data; totals stay anonymous")
    async def forget(self, interaction: discord.Interaction[Any], member: discord.User) -> None:
        guild_id = guild_id_of(interaction)
        async with self.bot.db.transaction() as tx:
            await roster.forget(tx, guild_id, member.id, interaction.user.id, self.bot.clock.now())
        await interaction.response.send_message(
            f"Erased {member.mention}'s application answers, email, city and order references. "
            "Their points and code history remain, without personal details.",
            ephemeral=True,
        )


class Ambassadors(commands.Cog, name="Ambassadors"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot
        self.group = AmbassadorGroup(bot)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.group)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.group.name)

    @app_commands.command(name="applications", description="Pending applications, oldest first (moderators)")
    @app_commands.guild_only()
    @moderator_only()
    async def applications(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        pending = await onboarding.pending_applications(self.bot.db, guild_id)
        line = await onboarding.waitlist(self.bot.db, guild_id)

        def link(app: onboarding.Application) -> str:
            if app.review_channel_id and app.review_message_id:
                url = f"https://discord.com/channels/{app.guild_id}/{app.review_channel_id}/{app.review_message_id}"
                return f"[#{app.id}]({url})"
            return f"#{app.id}"

        lines = [f"{link(a)} <@{a.user_id}> — applied {timestamp(a.created_at, 'R')}" for a in pending]
        pages = _pages(f"Pending applications ({len(pending)})", lines, "No applications waiting. 🎉")
        if line:
            add_field(
                pages[-1],
                f"Waitlist ({len(line)})",
                "\n".join(f"{i}. <@{a.user_id}>" for i, a in enumerate(line[:20], 1)),
            )
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Ambassadors(bot))
