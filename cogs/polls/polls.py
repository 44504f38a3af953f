"""Focus-group polls: /poll create | close | results, voting buttons or a select, and the automatic close.

Every poll (ours and the events capability's) is published by the ``poll.created`` outbox subscriber after the
commit that created it (with its close timer): posted to the focus-group channel, or — when it is restricted
to named voters (e.g. an event's attendees) — sent to each of them by DM. Closing (by the timer, or a
moderator, who moves the timer to now) runs the close timer, which disables the controls and posts the results.
Up to 5 single-choice options get one button each; more options, or multiple choice, get a select.
When a comment is invited, choosing opens a short form for it. Votes can be changed until the close.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.charts import poll_chart
from bot.checks import ModeratorGroup
from bot.dm import send_dm
from bot.errors import Conflict, InvalidInput
from bot.outbox import OutboxItem
from bot.posting import post_once
from bot.scheduler import Timer
from bot.services.polls import polls
from bot.services.program.bindings import get_channel_id
from bot.services.program.guild_settings import get_settings
from bot.text import plural
from bot.ui.base import BaseModal, DisplayView, RecordItem
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import BRAND, SUCCESS, add_field, clip, embed
from bot.ui.interactions import guild_id_of
from bot.ui.posted_record import Rendered, post_record, refresh_record
from bot.ui.times import when

log = logging.getLogger(__name__)

CHART_NAME = "poll-results.png"


def uses_buttons(poll: polls.Poll) -> bool:
    return len(poll.options) <= 5 and not poll.multiple


def components(poll: polls.Poll, *, disabled: bool = False) -> discord.ui.View:
    """The voting controls; clicks are handled by the registered dynamic items, even after a restart."""
    view = DisplayView()
    if uses_buttons(poll):
        for index, label in enumerate(poll.options):
            view.add_item(
                discord.ui.Button(
                    label=clip(label, 80),
                    custom_id=custom_id("poll", "vote", poll.id, index),
                    style=discord.ButtonStyle.primary,
                    disabled=disabled,
                )
            )
    else:
        view.add_item(
            discord.ui.Select(
                custom_id=custom_id("poll", "pick", poll.id),
                placeholder="Choose your answers" if poll.multiple else "Choose your answer",
                min_values=1,
                max_values=len(poll.options) if poll.multiple else 1,
                options=[discord.SelectOption(label=clip(o, 100), value=str(i)) for i, o in enumerate(poll.options)],
                disabled=disabled,
            )
        )
    return view


def poll_embed(poll: polls.Poll, zone: Any) -> discord.Embed:
    card = embed(f"🗳️ {poll.question}", colour=BRAND)
    if not uses_buttons(poll):
        card.description = "\n".join(f"**{i + 1}.** {o}" for i, o in enumerate(poll.options))
    who = f"ambassadors of the {poll.tier} tier" if poll.tier else "ambassadors"
    if poll.restricted:
        who = "the members it was sent to"
    add_field(card, "Closes", when(poll.closes_at))
    add_field(card, "Who votes", who, inline=True)
    add_field(card, "Anonymous", "yes" if poll.anonymous else "no — moderators see names", inline=True)
    if poll.multiple:
        add_field(card, "Choices", "pick as many as you like", inline=True)
    if poll.comment_prompt:
        add_field(card, "Comment", f"You'll be asked: “{poll.comment_prompt}”", inline=True)
    card.set_footer(text=f"Poll #{poll.id} · you can change your vote until it closes")
    return card


def results_embed(outcome: polls.PollResults) -> discord.Embed:
    poll = outcome.poll
    card = embed(f"📊 Results: {poll.question}", colour=SUCCESS)
    top = max((o.votes for o in outcome.options), default=0)
    lines = [
        f"{'🏆 ' if o.votes == top and top else ''}**{o.label}** — {plural(o.votes, 'vote')} ({o.percent}%)"
        for o in outcome.options
    ]
    card.description = clip("\n".join(lines), 4000)
    add_field(card, "Voters", f"{outcome.voters} · {plural(outcome.comments, 'comment')}")
    tiers = [
        f"**{tier}**: " + " · ".join(f"{label} {n}" for label, n in zip(poll.options, counts, strict=True) if n)
        for tier, counts in outcome.by_tier.items()
    ]
    add_field(card, "By tier", "\n".join(tiers) or "No votes.")
    card.set_image(url=f"attachment://{CHART_NAME}")
    card.set_footer(text=f"Poll #{poll.id} · closed")
    return card


def _polls_cog(interaction: discord.Interaction[Any]) -> PollsCog:
    cog = interaction.client.get_cog("Polls")
    assert isinstance(cog, PollsCog)
    return cog


class VoteButton(RecordItem, feature="poll", action="vote", keys=("poll_id", "option")):
    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        poll_id, option = self.ids
        await _polls_cog(interaction).choose(interaction, poll_id, [option])


class VoteSelect(RecordItem, feature="poll", action="pick", keys=("poll_id",)):
    @classmethod
    def make_item(cls, custom_id: str) -> discord.ui.Item[Any]:
        return discord.ui.Select(custom_id=custom_id, options=[discord.SelectOption(label="…")])

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        # The poll's select came with the interaction: its values are what the member picked.
        values: list[str] = list(getattr(self.item, "values", []))
        try:
            choices = [int(value) for value in values]
        except ValueError:
            raise InvalidInput("Pick one of the poll's options.") from None
        await _polls_cog(interaction).choose(interaction, self.ids[0], choices)


class CommentModal(BaseModal):
    def __init__(self, cog: PollsCog, poll: polls.Poll, choices: list[int], previous: str | None) -> None:
        super().__init__(title=clip(f"Poll #{poll.id}: your comment", 45), timeout=900)
        self.cog, self.poll, self.choices = cog, poll, choices
        self.comment: discord.ui.TextInput[CommentModal] = discord.ui.TextInput(
            label=clip(poll.comment_prompt or "Comment", 45),
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=polls.MAX_COMMENT,
            default=previous,
            custom_id="comment",
        )
        self.add_item(self.comment)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await self.cog.record(interaction, self.poll, self.choices, self.comment.value)


class PollsCog(commands.Cog, name="Polls"):
    group = ModeratorGroup(name="poll", description="Focus-group polls (moderators)", guild_only=True)

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(VoteButton, VoteSelect)
        self.bot.scheduler.register_timer(polls.CLOSE, self._on_close_timer)
        self.bot.outbox.subscribe(polls.CREATED, "polls.publish", self.publish)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(VoteButton, VoteSelect)
        self.bot.scheduler.unregister_timer(polls.CLOSE)
        self.bot.outbox.unsubscribe(polls.CREATED, "polls.publish")

    # -- voting --------------------------------------------------------------------------------------

    async def choose(self, interaction: discord.Interaction[Any], poll_id: int, choices: list[int]) -> None:
        poll = await polls.get_poll(self.bot.db, poll_id, interaction.guild_id)
        if poll.comment_prompt:  # refuse before the form; without one, recording the vote checks everything
            await polls.check_can_vote(self.bot.db, poll, interaction.user.id, self.bot.clock.now())
            previous = await polls.current_vote(self.bot.db, poll.id, interaction.user.id)
            await interaction.response.send_modal(CommentModal(self, poll, choices, previous[1] if previous else None))
            return
        await self.record(interaction, poll, choices, None)

    async def record(
        self, interaction: discord.Interaction[Any], poll: polls.Poll, choices: list[int], comment: str | None
    ) -> None:
        settings = await get_settings(self.bot.db, poll.guild_id)
        now = self.bot.clock.now()
        outcome = await polls.vote(
            self.bot.db,
            poll.id,
            interaction.user.id,
            choices,
            now=now,
            points_per_vote=settings.points_poll_vote,
            comment=comment,
        )
        picked = ", ".join(f"**{label}**" for label in outcome.choices)
        text = f"{'Changed your vote to' if outcome.changed else 'Thanks! You voted'} {picked}."
        if outcome.points_awarded:
            text += f" +{plural(outcome.points_awarded, 'point')}."
        text += f" You can change it until {when(poll.closes_at)}."
        await interaction.response.send_message(text, ephemeral=True)

    # -- publishing ----------------------------------------------------------------------------------

    async def publish(self, item: OutboxItem) -> None:
        guild_id = item.guild_id
        poll = await polls.get_poll(self.bot.db, int(item.payload["poll_id"]), guild_id)
        if poll.message_id is not None or poll.status != "open":
            return  # posted by an earlier attempt, or closed before it could be
        settings = await get_settings(self.bot.db, guild_id)
        if poll.restricted:
            sent = 0
            for user_id in await polls.voter_ids(self.bot.db, poll.id):
                delivery = await send_dm(
                    self.bot, guild_id, user_id, embed=poll_embed(poll, settings.zone), view=components(poll)
                )
                sent += delivery == "sent"
            log.info("poll %s sent by DM to %d invited voter(s)", poll.id, sent)
            return
        channel_id = await get_channel_id(self.bot.db, guild_id, "focus_group")
        if channel_id is None:
            log.warning("poll %s not posted: guild %s has no focus-group channel bound", poll.id, guild_id)
            return

        async def store(channel_id: int, message_id: int) -> None:
            await self.bot.db.perform(polls.set_posted, poll.id, channel_id, message_id)

        rendered = Rendered(poll_embed(poll, settings.zone), components(poll))
        await post_record(self.bot, guild_id, channel_id, rendered, store=store, attempt=item.attempt)

    # -- closing -------------------------------------------------------------------------------------

    async def _on_close_timer(self, timer: Timer, now: datetime) -> None:
        poll_id = int(timer.payload["poll_id"])
        async with self.bot.db.transaction() as tx:
            await polls.close_poll(tx, poll_id, now=now, closed_by=None)
        await self.announce_results(poll_id, timer.attempt)

    async def announce_results(self, poll_id: int, attempt: int) -> discord.Message | None:
        """Disable the voting controls and post the results with their chart (once, across retries)."""
        assert self.bot.user is not None
        outcome = await polls.results(self.bot.db, poll_id)
        poll = outcome.poll
        disabled = Rendered(None, components(poll, disabled=True))
        await refresh_record(self.bot, poll.guild_id, poll.channel_id, poll.message_id, disabled)
        channel_id = await get_channel_id(self.bot.db, poll.guild_id, "focus_group") or poll.channel_id
        if channel_id is None:
            log.warning("results of poll %s not posted: no focus-group channel bound", poll.id)
            return None
        png = poll_chart(poll.question, poll.options, [o.votes for o in outcome.options], outcome.voters)
        posted = await post_once(
            self.bot.get_partial_messageable(channel_id, guild_id=poll.guild_id),
            author_id=self.bot.user.id,
            attempt=attempt,
            embed=results_embed(outcome),
            file=discord.File(io.BytesIO(png), filename=CHART_NAME),
        )
        await self.bot.db.perform(polls.set_results_url, poll.id, posted.jump_url)
        return posted

    # -- moderator commands --------------------------------------------------------------------------

    @group.command(name="create", description="Ask the focus group a question")
    @app_commands.describe(
        question="The question",
        options="2–10 options separated by | (e.g. Rose | Vanilla | Citrus)",
        duration="How long it stays open: 30m, 2h, 3d, 1w or 1d12h",
        anonymous="Hide voters' names in the results CSV (default: yes)",
        multiple="Let voters pick several options (default: no)",
        comment="Invite a written comment with this prompt (voters get a short form)",
        tier="Only this tier may vote",
    )
    async def create(
        self,
        interaction: discord.Interaction[Any],
        question: app_commands.Range[str, 1, polls.MAX_QUESTION],
        options: app_commands.Range[str, 3, 1000],
        duration: app_commands.Range[str, 2, 20],
        anonymous: bool = True,
        multiple: bool = False,
        comment: app_commands.Range[str, 1, polls.MAX_PROMPT] | None = None,
        tier: app_commands.Range[str, 1, 24] | None = None,
    ) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        closes_at = now + polls.parse_duration(duration)
        if await get_channel_id(self.bot.db, guild_id, "focus_group") is None:
            raise InvalidInput("There's no focus-group channel yet; run /setup first.")
        async with self.bot.db.transaction() as tx:
            poll_id = await polls.create_poll(
                tx,
                guild_id,
                question=question,
                options=options.split("|"),
                closes_at=closes_at,
                anonymous=anonymous,
                multiple=multiple,
                comment_prompt=comment,
                tier=tier,
                created_by=interaction.user.id,
                now=now,
            )
        await interaction.response.send_message(
            f"Poll #{poll_id} is going up in the focus-group channel; it closes {when(closes_at)}.",
            ephemeral=True,
        )

    @group.command(name="close", description="Close a poll now and post its results")
    @app_commands.describe(poll="The poll to close")
    async def close(self, interaction: discord.Interaction[Any], poll: int) -> None:
        guild_id = guild_id_of(interaction)
        async with self.bot.db.transaction() as tx:
            closed = await polls.close_poll(
                tx, poll, now=self.bot.clock.now(), closed_by=interaction.user.id, guild_id=guild_id
            )
        if not closed:
            raise Conflict("That poll is already closed.")
        channel_id = await get_channel_id(self.bot.db, guild_id, "focus_group")
        where = f"the results are being posted in <#{channel_id}>" if channel_id else "no focus-group channel is bound"
        await interaction.response.send_message(f"Poll #{poll} is closed; {where}.", ephemeral=True)

    @group.command(name="results", description="Every vote and comment of a poll, as a CSV file")
    @app_commands.describe(poll="The poll")
    async def results(self, interaction: discord.Interaction[Any], poll: int) -> None:
        guild_id = guild_id_of(interaction)
        outcome = await polls.results(self.bot.db, poll, guild_id)
        data = await polls.votes_csv(self.bot.db, poll, guild_id)
        summary = " · ".join(f"{o.label}: {o.votes} ({o.percent}%)" for o in outcome.options)
        state = "open" if outcome.poll.is_open else "closed"
        note = " Names are withheld: the poll is anonymous." if outcome.poll.anonymous else ""
        await interaction.response.send_message(
            clip(f"Poll #{poll} ({state}), {outcome.voters} voters — {summary}.{note}", 2000),
            file=discord.File(io.BytesIO(data.encode("utf-8")), filename=f"poll-{poll}-votes.csv"),
            ephemeral=True,
        )

    @close.autocomplete("poll")
    async def _open_polls(self, interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[int]]:
        return await self._choices(interaction, current, "open")

    @results.autocomplete("poll")
    async def _any_polls(self, interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[int]]:
        return await self._choices(interaction, current, None)

    async def _choices(
        self, interaction: discord.Interaction[Any], current: str, status: str | None
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        found = await polls.list_polls(self.bot.db, interaction.guild_id, status=status, limit=100)
        needle = current.casefold().lstrip("#")
        return [
            app_commands.Choice(name=clip(f"#{p.id} {p.question}", 100), value=p.id)
            for p in found
            if needle in f"{p.id} {p.question}".casefold()
        ][:25]


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(PollsCog(bot))
