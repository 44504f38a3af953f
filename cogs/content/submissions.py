"""Submissions in: /submit, a brief's Submit button, Resubmit after changes, reshare consent, /submissions.

Each submission is posted to the review channel (decisions: cogs/content/submission_review.py) and flagged to moderators
when it waits more than 48 hours.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import FOR_AMBASSADORS
from bot.errors import Conflict, NotFound
from bot.posting import post_once
from bot.scheduler import Timer
from bot.services.content import briefs, submissions
from bot.services.content.submissions import STATUS_LABELS, Draft, Submission, Upload
from bot.services.inputs.links import CONTENT_TYPES, check_upload
from bot.services.inputs.record_ids import record_id
from bot.services.program.bindings import ROLE_MODERATOR, get_binding
from bot.services.program.members import require_ambassador
from bot.text import plural
from bot.ui.base import BaseView, RecordButton
from bot.ui.embeds import BRAND, add_field, clip, embed
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.markup import message_url
from bot.ui.paginator import Paginator, field_pages
from bot.ui.posted_record import Rendered, post_record
from bot.ui.times import local_time
from cogs.content.content_ui import (
    Field,
    FormModal,
    brief_title_of,
    channel_id_or_setup,
    messageable,
    review_buttons,
    submission_card,
    zone_of,
)

log = logging.getLogger(__name__)
PER_PAGE = 5
CONSENT = (
    "By submitting you confirm this is your own content and that the brand may reshare it "
    "(with credit to you) on its channels."
)


def _cog(interaction: discord.Interaction[Any]) -> Submissions:
    cog = bot_of(interaction).get_cog("Submissions")
    assert isinstance(cog, Submissions)
    return cog


def submission_form(link: str | None = None) -> list[Field]:
    return [
        Field("link", "Link to your content", 2048, placeholder="https://www.tiktok.com/@you/video/…", default=link),
        Field("note", "Note for the brand team (optional)", submissions.NOTE_MAX, paragraph=True, required=False),
    ]


class ConsentView(BaseView):
    """The last step before anything is stored: the member agrees the brand may reshare the content."""

    def __init__(self, guild_id: int, draft: Draft) -> None:
        super().__init__(timeout=600, owner_id=draft.user_id)
        self.guild_id = guild_id
        self.draft = draft

    @discord.ui.button(label="Submit — the brand may reshare it", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: discord.Interaction[Any], _: discord.ui.Button[ConsentView]) -> None:
        self.stop()
        await _cog(interaction).store(interaction, self.guild_id, self.draft)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction[Any], _: discord.ui.Button[ConsentView]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Cancelled; nothing was submitted.", embed=None, view=None)


class BriefSubmitButton(RecordButton, feature="brief", action="submit"):
    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot, guild_id = bot_of(interaction), guild_id_of(interaction)
        member = await require_ambassador(bot.db, guild_id, interaction.user.id)
        brief = await briefs.get_brief(bot.db, guild_id, self.record_id)
        briefs.check_eligible(brief, member)
        await channel_id_or_setup(bot, guild_id, "review")

        async def done(modal_interaction: discord.Interaction[Any], values: dict[str, str]) -> None:
            await _cog(modal_interaction).consent(
                modal_interaction, guild_id, link=values["link"], note=values["note"], brief_id=brief.id
            )

        await interaction.response.send_modal(FormModal(clip(f"Submit: {brief.title}", 45), submission_form(), done))


class ResubmitButton(RecordButton, feature="submission", action="resubmit"):
    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        # Pressed in a DM: the submission tells us which server it belongs to.
        bot = bot_of(interaction)
        guild_id = await submissions.guild_of(bot.db, self.record_id)
        original = await submissions.get_submission(bot.db, guild_id, self.record_id)
        if original.user_id != interaction.user.id:
            raise NotFound("I can't find that submission.")
        if original.status != "changes_requested":
            raise Conflict("That submission isn't waiting for changes any more.")

        async def done(modal_interaction: discord.Interaction[Any], values: dict[str, str]) -> None:
            await _cog(modal_interaction).consent(
                modal_interaction, guild_id, link=values["link"], note=values["note"], resubmission_of=original.id
            )

        form = submission_form(original.link)
        await interaction.response.send_modal(FormModal(f"Resubmit #{original.id}", form, done))


class Submissions(commands.Cog, name="Submissions"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(BriefSubmitButton, ResubmitButton)
        self.bot.scheduler.register_timer(submissions.STALE, self._flag_stale)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(BriefSubmitButton, ResubmitButton)
        self.bot.scheduler.unregister_timer(submissions.STALE)

    # -- intake ----------------------------------------------------------------------------------------

    @app_commands.command(name="submit", description="Hand in a piece of content for review", extras=FOR_AMBASSADORS)
    @app_commands.guild_only()
    @app_commands.describe(
        link="Link to your post or video (http/https)",
        brief="The brief it answers (leave empty for free-form content)",
        file="A file to go with it (image, video or PDF)",
        note="Anything the brand team should know (up to 500 characters)",
        resubmit="A submission you were asked to change: this replaces it",
    )
    async def submit(
        self,
        interaction: discord.Interaction[Any],
        link: str,
        brief: str | None = None,
        file: discord.Attachment | None = None,
        note: str | None = None,
        resubmit: int | None = None,
    ) -> None:
        guild_id = guild_id_of(interaction)
        brief_id = _brief_id(brief)
        upload = None
        if file is not None:
            check_upload(file.filename, file.content_type, file.size, interaction.filesize_limit, CONTENT_TYPES)
            upload = Upload(file.filename, file.url)
        await self.consent(
            interaction, guild_id, link=link, note=note, brief_id=brief_id, upload=upload, resubmission_of=resubmit
        )

    @submit.autocomplete("brief")
    async def _brief_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        guild_id = guild_id_of(interaction)
        zone = await zone_of(self.bot, guild_id)
        found = await briefs.search(self.bot.db, guild_id, current, ("open",))
        choices = [app_commands.Choice(name="No brief — free-form content", value="none")]
        choices += [
            app_commands.Choice(name=clip(f"{b.title} — due {b.due_at.astimezone(zone):%d %b}", 100), value=str(b.id))
            for b in found
        ]
        return choices[:25]

    @submit.autocomplete("resubmit")
    async def _resubmit_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        found = await submissions.resubmittable(self.bot.db, guild_id_of(interaction), interaction.user.id)
        return [app_commands.Choice(name=clip(f"#{s.id} · {s.platform} · {s.link}", 100), value=s.id) for s in found][
            :25
        ]

    async def consent(
        self,
        interaction: discord.Interaction[Any],
        guild_id: int,
        *,
        link: str,
        note: str | None,
        brief_id: int | None = None,
        upload: Upload | None = None,
        resubmission_of: int | None = None,
    ) -> None:
        """Check everything, then ask for the reshare consent. Nothing is stored until they confirm."""
        await channel_id_or_setup(self.bot, guild_id, "review")
        draft = await submissions.prepare(
            self.bot.db,
            guild_id,
            interaction.user.id,
            link=link,
            brief_id=brief_id,
            note=note,
            upload=upload,
            resubmission_of=resubmission_of,
            now=self.bot.clock.now(),
        )
        card = embed("Ready to submit", draft.link.url, colour=BRAND)
        add_field(card, "Platform", draft.link.platform, inline=True)
        if draft.brief_id is not None:
            add_field(card, "Brief", (await briefs.get_brief(self.bot.db, guild_id, draft.brief_id)).title, inline=True)
        if draft.note:
            add_field(card, "Note", draft.note)
        if draft.upload:
            add_field(card, "File", draft.upload.name, inline=True)
        if draft.resubmission_of:
            add_field(card, "Replaces", f"#{draft.resubmission_of}", inline=True)
        await interaction.response.send_message(CONSENT, embed=card, view=ConsentView(guild_id, draft), ephemeral=True)

    async def store(self, interaction: discord.Interaction[Any], guild_id: int, draft: Draft) -> None:
        sub = await self.bot.db.perform(submissions.submit, guild_id, draft, self.bot.clock.now())
        # Stored: post it to the review queue, then answer (a deferred update keeps the 3-second rule).
        await interaction.response.defer()
        try:
            await self._post_for_review(sub)
        except discord.HTTPException as exc:  # it is stored and /review still finds it
            log.warning("could not post submission %s to the review channel: %s", sub.id, exc)
        await interaction.edit_original_response(
            content=f"✅ Submitted as #{sub.id}. The brand team will review it; I'll DM you the feedback. "
            "/submissions shows where it stands.",
            embed=None,
            view=None,
        )

    async def _post_for_review(self, sub: Submission) -> None:
        channel_id = await channel_id_or_setup(self.bot, sub.guild_id, "review")
        zone = await zone_of(self.bot, sub.guild_id)
        card = submission_card(sub, await brief_title_of(self.bot, sub), zone)

        async def store(channel_id: int, message_id: int) -> None:
            await self.bot.db.perform(submissions.set_review_message, sub.id, channel_id, message_id)

        await post_record(self.bot, sub.guild_id, channel_id, Rendered(card, review_buttons(sub.id)), store=store)

    async def _flag_stale(self, timer: Timer, now: datetime) -> None:
        guild_id = timer.guild_id
        sub = await submissions.get_submission(self.bot.db, guild_id, int(timer.payload["submission_id"]))
        if sub.status != "pending":
            return
        channel_id = await channel_id_or_setup(self.bot, guild_id, "review")
        role_id = await get_binding(self.bot.db, guild_id, ROLE_MODERATOR)
        where = (
            f" {message_url(guild_id, sub.review_channel_id, sub.review_message_id)}"
            if sub.review_channel_id and sub.review_message_id
            else ""
        )
        mention = f"<@&{role_id}> " if role_id else ""
        notice = embed("⏰ Waiting more than 48 hours", colour=BRAND)
        await post_once(
            messageable(self.bot, guild_id, channel_id),
            author_id=self.bot.user.id if self.bot.user else 0,
            attempt=timer.attempt,
            content=f"{mention}Submission #{sub.id} by <@{sub.user_id}> is still waiting for a decision.{where} "
            "/review opens the oldest one.",
            embed=notice,
            allowed_mentions=discord.AllowedMentions(roles=True, users=False),
        )
        await self.bot.db.perform(submissions.mark_flagged, sub.id, now)

    # -- mine ------------------------------------------------------------------------------------------

    @app_commands.command(
        name="submissions", description="Your submissions, their status and feedback", extras=FOR_AMBASSADORS
    )
    @app_commands.guild_only()
    async def mine(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        await require_ambassador(self.bot.db, guild_id, interaction.user.id)
        found = await submissions.mine(self.bot.db, guild_id, interaction.user.id)
        if not found:
            await interaction.response.send_message(
                "You haven't submitted anything yet — /submit when you do!", ephemeral=True
            )
            return
        zone = await zone_of(self.bot, guild_id)
        entries = []
        for sub in found:
            title = await brief_title_of(self.bot, sub)
            lines = [
                STATUS_LABELS[sub.status] + (f" · +{plural(sub.points_awarded, 'point')}" if sub.points_awarded else "")
            ]
            lines.append(clip(sub.link, 300))
            if sub.feedback:
                lines.append(f"Feedback: {clip(sub.feedback, 500)}")
            if sub.status == "changes_requested":
                lines.append(f"Resubmit with /submit resubmit:{sub.id}")
            heading = f"#{sub.id} · {sub.platform} · {title or 'free-form'} · {local_time(sub.created_at, zone)}"
            entries.append((heading, "\n".join(lines)))
        pages = field_pages("Your submissions", entries, per_page=PER_PAGE)
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)


def _brief_id(value: str | None) -> int | None:
    if value is None or value.strip().lower() in ("", "none"):
        return None
    brief_id = record_id(value)
    if brief_id is None:
        raise NotFound(f"I can't find a brief called “{clip(value, 60)}”. Pick one from the list, or leave it empty.")
    return brief_id


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Submissions(bot))
