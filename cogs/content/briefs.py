"""Briefs: /brief create|list|close|edit|settings (moderators), /briefs (ambassadors), "I'm in", reminders."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import FOR_AMBASSADORS, ModeratorGroup
from bot.dm import send_dm
from bot.errors import NotFound
from bot.interaction_errors import explain_refusal
from bot.scheduler import Timer
from bot.services.content import briefs
from bot.services.content import digest as _content_digest  # noqa: F401 — registers the digest providers
from bot.services.content.briefs import Brief
from bot.services.inputs.record_ids import record_id
from bot.services.program import tiers
from bot.services.program.guild_settings import get_settings
from bot.services.program.members import require_ambassador
from bot.text import plural
from bot.ui.base import DisplayView
from bot.ui.choices import tier_choices
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import BRAND, SUCCESS, clip, embed
from bot.ui.interactions import guild_id_of
from bot.ui.markup import message_url
from bot.ui.paginator import Paginator, field_pages
from bot.ui.posted_record import Rendered, post_record, refresh_record
from bot.ui.times import when
from cogs.content.brief_ui import (
    CancelDraftButton,
    OptInButton,
    PublishButton,
    brief_embed,
    brief_form,
    brief_view,
)
from cogs.content.content_ui import (
    FormModal,
    channel_id_or_setup,
    zone_of,
)
from cogs.onboarding.membership import tell_moderators

log = logging.getLogger(__name__)
PER_PAGE = 6


class Briefs(commands.Cog, name="Briefs"):
    brief = ModeratorGroup(name="brief", description="Create and manage content briefs")

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PublishButton, CancelDraftButton, OptInButton)
        self.bot.scheduler.register_timer(briefs.REMINDER, self._remind)
        self.bot.scheduler.register_timer(briefs.CLOSE, self._close_due)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PublishButton, CancelDraftButton, OptInButton)
        self.bot.scheduler.unregister_timer(briefs.REMINDER)
        self.bot.scheduler.unregister_timer(briefs.CLOSE)

    # -- create, preview, publish ----------------------------------------------------------------------

    @brief.command(name="create", description="Write a brief; you get a preview before it's posted")
    @app_commands.describe(tier="Only for ambassadors of this tier (leave empty for everyone)")
    @app_commands.autocomplete(tier=tier_choices)
    async def create(self, interaction: discord.Interaction[Any], tier: str | None = None) -> None:
        guild_id = guild_id_of(interaction)
        await channel_id_or_setup(self.bot, guild_id, "briefs")
        if tier is not None:
            tier = (await tiers.get_tier(self.bot.db, guild_id, tier)).key
        zone = await zone_of(self.bot, guild_id)
        default_points = await self._default_points(guild_id)

        async def done(modal_interaction: discord.Interaction[Any], values: dict[str, str]) -> None:
            now = self.bot.clock.now()
            fields = briefs.check_fields(
                values["title"], values["what"], values["deliverables"], values["due"], values["points"], zone, now
            )
            draft = await self.bot.db.perform(
                briefs.create_draft, guild_id, modal_interaction.user.id, fields, tier, now
            )
            view = DisplayView()
            view.button("Publish", custom_id("brief", "publish", draft.id), discord.ButtonStyle.success)
            view.button("Cancel", custom_id("brief", "discard", draft.id), discord.ButtonStyle.secondary)
            await modal_interaction.response.send_message(
                "Preview — this is how the brief will look in the briefs channel:",
                embed=brief_embed(draft, zone),
                view=view,
                ephemeral=True,
            )

        await interaction.response.send_modal(FormModal("New brief", brief_form(None, zone, default_points), done))

    async def publish(self, interaction: discord.Interaction[Any], brief_id: int) -> None:
        guild_id = guild_id_of(interaction)  # PublishButton is moderator_only: the base checked who clicked
        channel_id = await channel_id_or_setup(self.bot, guild_id, "briefs")
        await interaction.response.defer()
        brief = await self.bot.db.perform(briefs.publish, guild_id, brief_id, interaction.user.id, self.bot.clock.now())
        posted_now = brief.message_id is None
        if posted_now:
            brief = await self._post(brief, channel_id)
        link = message_url(guild_id, channel_id, brief.message_id or 0)
        await interaction.edit_original_response(
            content=f"✅ Published in <#{channel_id}>: {link}", embed=None, view=None
        )

    async def _post(self, brief: Brief, channel_id: int) -> Brief:
        zone = await zone_of(self.bot, brief.guild_id)

        async def store(channel_id: int, message_id: int) -> None:
            await self.bot.db.perform(briefs.set_posted, brief.id, channel_id, message_id, None)

        rendered = Rendered(brief_embed(brief, zone), brief_view(brief))
        message = await post_record(self.bot, brief.guild_id, channel_id, rendered, store=store)
        thread_id = None
        try:
            thread = await message.create_thread(
                name=clip(f"Questions: {brief.title}", 100), auto_archive_duration=10080
            )
            await thread.send("Questions about this brief? Ask here — the brand team will answer.")
            thread_id = thread.id
        except discord.HTTPException as exc:  # the brief still works without its thread; moderators can fix it
            log.warning("could not open the questions thread for brief %s: %s", brief.id, exc)
            await tell_moderators(
                self.bot, brief.guild_id, f"⚠️ Brief “{brief.title}” has no questions thread. {explain_refusal(exc)}"
            )
        if thread_id is not None:
            await self.bot.db.perform(briefs.set_posted, brief.id, channel_id, message.id, thread_id)
        return await briefs.get_brief(self.bot.db, brief.guild_id, brief.id)

    async def _refresh_post(self, brief: Brief) -> None:
        zone = await zone_of(self.bot, brief.guild_id)
        rendered = Rendered(brief_embed(brief, zone), brief_view(brief))
        await refresh_record(self.bot, brief.guild_id, brief.channel_id, brief.message_id, rendered)

    async def _default_points(self, guild_id: int) -> int:
        return (await get_settings(self.bot.db, guild_id)).points_submission_approved

    # -- timers ----------------------------------------------------------------------------------------

    async def _remind(self, timer: Timer, now: datetime) -> None:
        brief = await briefs.get_brief(self.bot.db, timer.guild_id, int(timer.payload["brief_id"]))
        if not brief.is_open:
            return
        # A title shows no timestamp markup: the due time goes in the description, in the reader's zone.
        card = embed(f"⏰ “{brief.title}” is due soon", colour=BRAND)
        card.description = (
            f"It's due {when(brief.due_at)} ({when(brief.due_at, 'R')}). "
            "You opted in to this brief and I haven't seen your submission yet. "
            "Press **Submit** on the brief or use /submit when your piece is live."
        )
        view = DisplayView()
        if brief.channel_id and brief.message_id:
            view.link("Open the brief", message_url(brief.guild_id, brief.channel_id, brief.message_id))
        # Each member is marked as reminded right after their DM, so a retried timer never repeats one.
        for user_id in await briefs.reminder_targets(self.bot.db, brief.id):
            result = await send_dm(self.bot, brief.guild_id, user_id, embed=card, view=view)
            if result == "failed":
                log.warning("reminder for brief %s could not reach %s", brief.id, user_id)
            await self.bot.db.perform(briefs.mark_reminded, brief.id, user_id, now)

    async def _close_due(self, timer: Timer, now: datetime) -> None:
        try:
            brief, _ = await self.bot.db.perform(
                briefs.close, timer.guild_id, int(timer.payload["brief_id"]), None, now
            )
        except NotFound:
            return
        await self._refresh_post(brief)

    # -- list, close, edit, settings -------------------------------------------------------------------

    @brief.command(name="list", description="Every brief with its status, due date, opt-ins and submissions")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        found = await briefs.list_briefs(self.bot.db, guild_id)
        if not found:
            await interaction.response.send_message("No briefs yet. Start one with /brief create.", ephemeral=True)
            return
        entries = []
        for brief in found:
            optins = await briefs.optin_count(self.bot.db, brief.id)
            count = await briefs.submission_count(self.bot.db, brief.id)
            entries.append(
                (
                    f"#{brief.id} · {brief.title} — {brief.status}",
                    f"due {when(brief.due_at)} · {brief.points} pts · {optins} in · {count} submitted",
                )
            )
        pages = field_pages("Briefs", entries, per_page=PER_PAGE)
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)

    @brief.command(name="close", description="Close an open brief now (buttons off, marked closed)")
    @app_commands.describe(brief="The brief to close")
    async def close(self, interaction: discord.Interaction[Any], brief: str) -> None:
        guild_id = guild_id_of(interaction)
        found, changed = await self.bot.db.perform(
            briefs.close, guild_id, _brief_id(brief), interaction.user.id, self.bot.clock.now()
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._refresh_post(found)
        text = f"🔒 Closed “{found.title}”." if changed else f"“{found.title}” was already closed."
        await interaction.followup.send(text, ephemeral=True)

    @brief.command(name="edit", description="Change a brief's text, due date or points")
    @app_commands.describe(brief="The brief to edit")
    async def edit(self, interaction: discord.Interaction[Any], brief: str) -> None:
        guild_id = guild_id_of(interaction)
        current = await briefs.get_brief(self.bot.db, guild_id, _brief_id(brief))
        zone = await zone_of(self.bot, guild_id)

        async def done(modal_interaction: discord.Interaction[Any], values: dict[str, str]) -> None:
            now = self.bot.clock.now()
            fields = briefs.check_fields(
                values["title"], values["what"], values["deliverables"], values["due"], values["points"], zone, now
            )
            updated = await self.bot.db.perform(
                briefs.edit, guild_id, current.id, modal_interaction.user.id, fields, now
            )
            await modal_interaction.response.defer(ephemeral=True, thinking=True)
            if updated.is_open:
                await self._refresh_post(updated)
            await modal_interaction.followup.send("✏️ Brief updated.", embed=brief_embed(updated, zone), ephemeral=True)

        await interaction.response.send_modal(
            FormModal(f"Edit brief #{current.id}", brief_form(current, zone, current.points), done)
        )

    @close.autocomplete("brief")
    async def _open_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, current, ("open",))

    @edit.autocomplete("brief")
    async def _editable_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._choices(interaction, current, ("draft", "open"))

    async def _choices(
        self, interaction: discord.Interaction[Any], current: str, statuses: tuple[briefs.BriefStatus, ...]
    ) -> list[app_commands.Choice[str]]:
        guild_id = guild_id_of(interaction)
        zone = await zone_of(self.bot, guild_id)
        found = await briefs.search(self.bot.db, guild_id, current, statuses)
        return [
            app_commands.Choice(name=clip(f"{b.title} — due {b.due_at.astimezone(zone):%d %b}", 100), value=str(b.id))
            for b in found
        ]

    @brief.command(name="settings", description="Reminder timing and whether approved pieces are featured")
    @app_commands.describe(
        reminder_days="Remind opted-in ambassadors this many days before the due date (0–30)",
        feature_in_showcase="Suggest featuring approved pieces in the showcase channel",
    )
    async def settings(
        self,
        interaction: discord.Interaction[Any],
        reminder_days: app_commands.Range[int, 0, 30] | None = None,
        feature_in_showcase: bool | None = None,
    ) -> None:
        values = await self.bot.db.perform(
            briefs.update_content_settings,
            guild_id_of(interaction),
            self.bot.clock.now(),
            actor_id=interaction.user.id,
            reminder_days=reminder_days,
            feature=feature_in_showcase,
        )
        await interaction.response.send_message(
            f"Reminders go out **{plural(values.reminder_days_before, 'day')}** before a brief is due "
            "(for briefs published from now on). Featuring approved pieces in the showcase is "
            f"**{'on' if values.feature_in_showcase else 'off'}** by default.",
            ephemeral=True,
        )

    # -- ambassadors -----------------------------------------------------------------------------------

    @app_commands.command(
        name="briefs", description="The open briefs you can take part in, with due dates", extras=FOR_AMBASSADORS
    )
    @app_commands.guild_only()
    async def open_briefs(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        member = await require_ambassador(self.bot.db, guild_id, interaction.user.id)
        found = await briefs.open_briefs_for(self.bot.db, guild_id, member)
        if not found:
            await interaction.response.send_message(
                "No open briefs right now — I'll post new ones in the briefs channel.", ephemeral=True
            )
            return
        entries = []
        for brief in found:
            where = (
                f"\n{message_url(guild_id, brief.channel_id, brief.message_id)}"
                if brief.channel_id and brief.message_id
                else ""
            )
            entries.append((brief.title, f"due {when(brief.due_at)} · {brief.points} pts{where}"))
        intro = "Press **I'm in** on a brief for a reminder, and **Submit** when your piece is live."
        pages = field_pages("Open briefs", entries, per_page=PER_PAGE, description=intro, colour=SUCCESS)
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)


def _brief_id(value: str) -> int:
    brief_id = record_id(value)
    if brief_id is None:
        raise NotFound("I can't find that brief. Pick one from the list.")
    return brief_id


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Briefs(bot))
