"""Review: Approve / Request changes / Reject on each submission (moderators), /review for the oldest pending.

A decision is one transaction (status, points, audit); the review post, the showcase, the DM and the
``submission_approved`` event follow the commit.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import moderator_only, require_moderator
from bot.dm import send_dm
from bot.errors import Conflict
from bot.services.content import briefs, submissions
from bot.services.content.submissions import ReviewOutcome, Verdict
from bot.services.program.bindings import get_channel_id
from bot.services.program.guild_settings import get_settings
from bot.text import plural
from bot.ui.base import BaseModal, DisplayView, RecordButton
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import DANGER, SUCCESS, WARNING, add_field, clip, embed
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.markup import message_url
from bot.ui.posted_record import Rendered, refresh_record
from cogs.content.content_ui import (
    Field,
    FormHandler,
    FormModal,
    brief_title_of,
    messageable,
    review_buttons,
    submission_card,
    zone_of,
)

log = logging.getLogger(__name__)
FORMS: dict[str, tuple[Verdict, str, str]] = {
    # action → (decision, modal title, feedback label)
    "approve": ("approved", "Approve submission #{id}", "Feedback for the ambassador (optional)"),
    "changes": ("changes_requested", "Request changes on #{id}", "What should they change?"),
    "reject": ("rejected", "Reject submission #{id}", "Reason (sent to the ambassador)"),
}


async def _open_decision(interaction: discord.Interaction[Any], action: str, submission_id: int) -> None:
    bot, guild_id = bot_of(interaction), guild_id_of(interaction)  # the buttons are moderator_only
    sub = await submissions.get_submission(bot.db, guild_id, submission_id)
    if sub.status != "pending":
        raise Conflict(f"Submission #{sub.id} was already decided: {submissions.STATUS_LABELS[sub.status]}.")
    decision, title, label = FORMS[action]

    async def done(modal_interaction: discord.Interaction[Any], values: dict[str, str]) -> None:
        cog = bot.get_cog("Review")
        assert isinstance(cog, Review)
        await cog.decide(modal_interaction, guild_id, submission_id, decision, values)

    if decision == "approved":
        featured = (await briefs.get_content_settings(bot.db, guild_id)).feature_in_showcase
        await interaction.response.send_modal(ApproveModal(title.format(id=submission_id), label, featured, done))
        return
    fields = [Field("feedback", label, submissions.FEEDBACK_MAX, paragraph=True)]
    await interaction.response.send_modal(FormModal(title.format(id=submission_id), fields, done))


class ApproveModal(BaseModal):
    """Feedback, and whether to feature the piece, picked from a select: a typed "yes"/"no" could be mistyped,
    and refusing the form then threw away the feedback the moderator had written."""

    def __init__(self, title: str, feedback_label: str, featured: bool, handler: FormHandler) -> None:
        super().__init__(title=title[:45], timeout=900)
        self._handler = handler
        self.feedback: discord.ui.TextInput[ApproveModal] = discord.ui.TextInput(
            custom_id="feedback", style=discord.TextStyle.paragraph, required=False, max_length=submissions.FEEDBACK_MAX
        )
        self.feature: discord.ui.Select[ApproveModal] = discord.ui.Select(
            custom_id="feature",
            options=[
                discord.SelectOption(label="Yes — feature it in the showcase", value="yes", default=featured),
                discord.SelectOption(label="No — approve only", value="no", default=not featured),
            ],
        )
        self.add_item(discord.ui.Label(text=feedback_label[:45], component=self.feedback))
        self.add_item(discord.ui.Label(text="Feature it in the showcase?", component=self.feature))

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await self._handler(
            interaction, {"feedback": self.feedback.value or "", "feature": ",".join(self.feature.values)}
        )


class _DecisionButton(RecordButton, feature="submission", action="decide"):
    moderator_only = True

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        await _open_decision(interaction, self.action, self.record_id)


class ApproveSubmissionButton(_DecisionButton, feature="submission", action="approve"):
    pass


class ChangesSubmissionButton(_DecisionButton, feature="submission", action="changes"):
    pass


class RejectSubmissionButton(_DecisionButton, feature="submission", action="reject"):
    pass


DECISION_ITEMS = [ApproveSubmissionButton, ChangesSubmissionButton, RejectSubmissionButton]


class Review(commands.Cog, name="Review"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DECISION_ITEMS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DECISION_ITEMS)

    async def decide(
        self,
        interaction: discord.Interaction[Any],
        guild_id: int,
        submission_id: int,
        decision: Verdict,
        values: dict[str, str],
    ) -> None:
        await require_moderator(interaction)  # a form: no component check covers its submission
        feature = decision == "approved" and values.get("feature") == "yes"
        default_points = (await get_settings(self.bot.db, guild_id)).points_submission_approved
        outcome = await self.bot.db.perform(
            submissions.decide,
            guild_id,
            submission_id,
            interaction.user.id,
            decision,
            values.get("feedback"),
            default_points,
            self.bot.clock.now(),
        )
        # Committed: everything below is Discord side effects, each reported but never undoing the decision.
        await interaction.response.defer(ephemeral=True, thinking=True)
        notes = [await self._update_review_post(outcome)]
        if feature:
            notes.append(await self._feature(outcome))
        notes.append(await self._tell_ambassador(outcome))
        sub = outcome.submission
        summary = {
            "approved": f"✅ Approved #{sub.id}"
            + (
                f": +{plural(outcome.points_awarded, 'point')} for <@{sub.user_id}>." if outcome.points_awarded else "."
            ),
            "changes_requested": f"✏️ Asked <@{sub.user_id}> for changes on #{sub.id}; they can resubmit.",
            "rejected": f"✖️ Rejected #{sub.id}.",
        }[decision]
        await interaction.followup.send("\n".join([summary, *(n for n in notes if n)]), ephemeral=True)

    async def _update_review_post(self, outcome: ReviewOutcome) -> str | None:
        sub = outcome.submission
        if sub.review_channel_id is None or sub.review_message_id is None:
            return None
        zone = await zone_of(self.bot, sub.guild_id)
        card = submission_card(sub, outcome.brief.title if outcome.brief else None, zone)
        decided = Rendered(card, None)  # decided: the buttons go
        if not await refresh_record(self.bot, sub.guild_id, sub.review_channel_id, sub.review_message_id, decided):
            return "(I couldn't update the post in the review channel.)"
        return None

    async def _feature(self, outcome: ReviewOutcome) -> str | None:
        sub = outcome.submission
        channel_id = await get_channel_id(self.bot.db, sub.guild_id, "showcase")
        if channel_id is None:
            return "Not featured: the showcase channel isn't set up yet (run /setup)."
        card = embed(f"🌟 New from the community · {sub.platform}", sub.link, colour=SUCCESS)
        add_field(card, "By", f"<@{sub.user_id}>", inline=True)
        if outcome.brief is not None:
            add_field(card, "Brief", outcome.brief.title, inline=True)
        try:
            message = await messageable(self.bot, sub.guild_id, channel_id).send(
                content=clip(sub.link, 2000), embed=card, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException as exc:
            log.warning("could not feature submission %s: %s", sub.id, exc)
            return f"Not featured: I couldn't post in <#{channel_id}> ({exc.text or exc.status})."
        await self.bot.db.perform(submissions.set_showcase_message, sub.id, message.id)
        return f"Featured in <#{channel_id}>: {message_url(sub.guild_id, channel_id, message.id)}"

    async def _tell_ambassador(self, outcome: ReviewOutcome) -> str | None:
        sub = outcome.submission
        guild = self.bot.get_guild(sub.guild_id)
        brand = guild.name if guild else "the brand"
        about = f" for “{outcome.brief.title}”" if outcome.brief else ""
        view = None
        if sub.status == "approved":
            card = embed(f"🎉 Your {sub.platform} piece{about} was approved!", colour=SUCCESS)
            if outcome.points_awarded:
                add_field(card, "Points", f"+{outcome.points_awarded}", inline=True)
        elif sub.status == "changes_requested":
            card = embed(f"✏️ {brand} asks for a few changes to your {sub.platform} piece{about}", colour=WARNING)
            card.description = "Make the changes, then press **Resubmit** (or use /submit with `resubmit`)."
            view = DisplayView().button(
                "Resubmit", custom_id("submission", "resubmit", sub.id), discord.ButtonStyle.primary
            )
        else:
            card = embed(f"Your {sub.platform} piece{about} wasn't accepted this time", colour=DANGER)
        if sub.feedback:
            add_field(card, "Feedback from the brand team", sub.feedback)
        add_field(card, "Link", clip(sub.link, 1000))
        card.set_footer(text=f"{brand} · submission #{sub.id}")
        result = await send_dm(self.bot, sub.guild_id, sub.user_id, embed=card, **({"view": view} if view else {}))
        if result != "sent":
            return f"(<@{sub.user_id}> doesn't accept DMs, so they'll see this in /submissions.)"
        return None

    @app_commands.command(name="review", description="Open the oldest submission waiting for review")
    @app_commands.guild_only()
    @moderator_only()
    async def review(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        sub = await submissions.oldest_pending(self.bot.db, guild_id)
        if sub is None:
            await interaction.response.send_message("🎉 Nothing waiting for review.", ephemeral=True)
            return
        waiting = await submissions.pending_count(self.bot.db, guild_id)
        zone = await zone_of(self.bot, guild_id)
        card = submission_card(sub, await brief_title_of(self.bot, sub), zone)
        text = f"Oldest of {waiting} waiting for review."
        if sub.review_channel_id and sub.review_message_id:
            text += f" In the queue: {message_url(guild_id, sub.review_channel_id, sub.review_message_id)}"
        await interaction.response.send_message(text, embed=card, view=review_buttons(sub.id), ephemeral=True)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Review(bot))
