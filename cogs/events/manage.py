"""/event (moderators): create, edit and cancel events; show the check-in code; export attendees."""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import ModeratorGroup
from bot.errors import CollectiveError, InvalidInput
from bot.interaction_errors import explain_refusal
from bot.services.events.attendance import attendees_csv, checkin_code, unused_code
from bot.services.events.events import (
    Event,
    EventDraft,
    attach_discord,
    cancel_event,
    counts,
    create_event,
    discard_event,
    edit_event,
    get_event,
    recent_events,
    validate_draft,
)
from bot.services.events.followup import create_followup_poll
from bot.services.events.rsvps import members_with_status
from bot.services.inputs.local_time import parse_local
from bot.services.program import bindings
from bot.services.program.guild_settings import get_settings
from bot.text import plural
from bot.ui.choices import tier_choices
from bot.ui.interactions import guild_id_of
from bot.ui.posted_record import Rendered, post_record
from bot.ui.times import when
from cogs.events.event_ui import (
    announcement_card,
    refresh_announcement,
    rsvp_view,
    tell,
    tell_promoted,
    when_text,
    where_text,
)

log = logging.getLogger(__name__)

VoiceOrStage = discord.VoiceChannel | discord.StageChannel


async def _quietly(coro: Any) -> None:
    try:
        await coro
    except (discord.HTTPException, CollectiveError) as exc:
        log.warning("clean-up after a failed event creation also failed: %s", exc)


def _reason(exc: discord.HTTPException) -> str:
    if isinstance(exc, discord.Forbidden):
        return explain_refusal(exc)  # which permission, and who can turn it on
    return " ".join((exc.text or str(exc.status)).split())[:200]


async def event_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[int]]:
    bot: CollectiveBot = interaction.client
    if interaction.guild_id is None:
        return []
    zone = (await get_settings(bot.db, interaction.guild_id)).zone
    needle = current.strip().lower().lstrip("#")
    choices = []
    for event in await recent_events(bot.db, interaction.guild_id, limit=50):
        label = f"#{event.id} {event.title} — {event.starts_at.astimezone(zone):%d %b %H:%M}"
        if event.status == "cancelled":
            label += " (cancelled)"
        if needle in label.lower():
            choices.append(app_commands.Choice(name=label[:100], value=event.id))
    return choices[:25]


class EventAdmin(commands.Cog, name="Events (hosting)"):
    event = ModeratorGroup(name="event", description="Host events: meetups and focus-group sessions", guild_only=True)

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    @event.command(name="create", description="Create an event: Discord event, announcement and RSVP buttons")
    @app_commands.describe(
        title="What it's called",
        start="Start, server time: YYYY-MM-DD HH:MM",
        end="End, server time: YYYY-MM-DD HH:MM",
        capacity="How many can come (more go on the waitlist)",
        description="What to expect",
        location="Where, for an in-person event",
        channel="The voice or stage channel, for an online event",
        tier="Only this tier may come (default: all ambassadors)",
        points="Points for attending (default: the server's setting)",
    )
    @app_commands.autocomplete(tier=tier_choices)
    async def create(
        self,
        interaction: discord.Interaction[Any],
        title: app_commands.Range[str, 1, 100],
        start: app_commands.Range[str, 1, 30],
        end: app_commands.Range[str, 1, 30],
        capacity: app_commands.Range[int, 1, 10000],
        description: app_commands.Range[str, 1, 1000] | None = None,
        location: app_commands.Range[str, 1, 100] | None = None,
        channel: VoiceOrStage | None = None,
        tier: app_commands.Range[str, 1, 24] | None = None,
        points: app_commands.Range[int, 0, 10000] | None = None,
    ) -> None:
        assert interaction.guild is not None
        guild, db, now = interaction.guild, self.bot.db, self.bot.clock.now()
        settings = await get_settings(db, guild.id)
        draft = EventDraft(
            title=title,
            description=description or "",
            starts_at=parse_local(start, settings.zone, what="start"),
            ends_at=parse_local(end, settings.zone, what="end"),
            location=location,
            channel_id=channel.id if channel is not None else None,
            capacity=capacity,
            tier=tier,
            points=settings.points_event_attendance if points is None else points,
        )
        draft = await validate_draft(db, guild.id, draft, now)
        target_id = await bindings.get_channel_id(db, guild.id, "announcements")
        announcements = guild.get_channel(target_id) if target_id is not None else None
        if not isinstance(announcements, discord.TextChannel):
            raise InvalidInput("There's no announcements channel yet: run /setup first.")
        await interaction.response.defer(ephemeral=True, thinking=True)

        event = await db.perform(
            create_event,
            guild.id,
            draft,
            created_by=interaction.user.id,
            now=now,
            checkin_code=await unused_code(db, guild.id),
        )
        try:
            scheduled = await self._create_scheduled_event(guild, event, channel)
        except discord.HTTPException as exc:
            await db.perform(discard_event, guild.id, event.id)
            raise InvalidInput(f"Discord refused the scheduled event ({_reason(exc)}). Nothing was created.") from exc
        event = replace(event, discord_event_id=scheduled.id)

        async def store(channel_id: int, message_id: int) -> None:
            await db.perform(
                attach_discord,
                guild.id,
                event.id,
                discord_event_id=scheduled.id,
                channel_id=channel_id,
                message_id=message_id,
            )

        async def undo() -> None:  # nobody has seen the event yet: void it, and Discord's copy with it
            await db.perform(discard_event, guild.id, event.id)
            await _quietly(scheduled.delete())

        rendered = Rendered(announcement_card(event, await counts(db, event.id), settings.zone), rsvp_view(event))
        try:
            message = await post_record(self.bot, guild.id, announcements.id, rendered, store=store, undo=undo)
        except discord.HTTPException as exc:
            raise InvalidInput(
                f"I couldn't post in {announcements.mention} ({_reason(exc)}). Nothing was created."
            ) from exc
        event = await get_event(db, guild.id, event.id)
        await interaction.followup.send(
            f"✅ Created **{event.title}** (event #{event.id}), {when_text(event, settings.zone)}, "
            f"{where_text(event)}. Announced in {message.jump_url} — show the check-in code with `/event code`.",
            ephemeral=True,
        )

    async def _create_scheduled_event(
        self, guild: discord.Guild, event: Event, channel: VoiceOrStage | None
    ) -> discord.ScheduledEvent:
        common: dict[str, Any] = {
            "name": event.title,
            "start_time": event.starts_at,
            "end_time": event.ends_at,
            "privacy_level": discord.PrivacyLevel.guild_only,
        }
        if event.description:
            common["description"] = event.description
        if channel is None:
            return await guild.create_scheduled_event(
                entity_type=discord.EntityType.external, location=str(event.location), **common
            )
        # discord.py sets the entity type (voice or stage) from the channel's type.
        return await guild.create_scheduled_event(channel=channel, **common)

    @event.command(name="edit", description="Change an event; Discord, the announcement and reminders follow")
    @app_commands.describe(
        event="The event",
        start="New start, server time: YYYY-MM-DD HH:MM",
        end="New end, server time: YYYY-MM-DD HH:MM",
        capacity="New capacity (a larger one moves people up from the waitlist)",
    )
    @app_commands.autocomplete(event=event_choices)
    async def edit(
        self,
        interaction: discord.Interaction[Any],
        event: int,
        title: app_commands.Range[str, 1, 100] | None = None,
        description: app_commands.Range[str, 1, 1000] | None = None,
        start: app_commands.Range[str, 1, 30] | None = None,
        end: app_commands.Range[str, 1, 30] | None = None,
        location: app_commands.Range[str, 1, 100] | None = None,
        channel: VoiceOrStage | None = None,
        capacity: app_commands.Range[int, 1, 10000] | None = None,
        points: app_commands.Range[int, 0, 10000] | None = None,
    ) -> None:
        assert interaction.guild is not None
        guild, db = interaction.guild, self.bot.db
        zone = (await get_settings(db, guild.id)).zone
        changes: dict[str, object] = {}
        for name, value in (("title", title), ("description", description), ("location", location)):
            if value is not None:
                changes[name] = value
        if start is not None:
            changes["starts_at"] = parse_local(start, zone, what="start")
        if end is not None:
            changes["ends_at"] = parse_local(end, zone, what="end")
        if channel is not None:
            changes["channel_id"] = channel.id
        if capacity is not None:
            changes["capacity"] = capacity
        if points is not None:
            changes["points"] = points
        if not changes:
            raise InvalidInput("Tell me what to change (title, description, start, end, place, capacity, points).")
        outcome = await db.perform(
            edit_event, guild.id, event, changes, actor_id=interaction.user.id, now=self.bot.clock.now()
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        after = outcome.after
        problems = await self._mirror_edit(guild, outcome.before, after, channel)
        await refresh_announcement(self.bot, after, zone)
        if outcome.moved or "location" in changes or "channel_id" in changes:
            people = await members_with_status(db, after.id, "going", "waitlisted")
            text = f"📅 **{after.title}** changed: now {when_text(after, zone)}, {where_text(after)}."
            await tell(self.bot, guild.id, people, text, after)
        await tell_promoted(self.bot, after, outcome.promoted, zone)
        note = f" Moved up from the waitlist: {len(outcome.promoted)}." if outcome.promoted else ""
        await interaction.followup.send(f"✅ Updated **{after.title}**.{note}{problems}", ephemeral=True)

    async def _mirror_edit(
        self, guild: discord.Guild, before: Event, after: Event, channel: VoiceOrStage | None
    ) -> str:
        if after.discord_event_id is None:
            return ""
        fields: dict[str, Any] = {"name": after.title, "description": after.description, "end_time": after.ends_at}
        if after.starts_at != before.starts_at:
            fields["start_time"] = after.starts_at
        if channel is not None:
            fields["channel"] = channel
        elif not after.online:
            fields["location"] = after.location
        try:
            scheduled = await guild.fetch_scheduled_event(after.discord_event_id, with_counts=False)
            await scheduled.edit(**fields)
        except discord.HTTPException as exc:
            log.warning("could not update scheduled event %s: %s", after.discord_event_id, exc)
            return f"\n⚠️ Saved, but Discord's event page didn't update ({_reason(exc)})."
        return ""

    @event.command(name="cancel", description="Cancel an event and tell everyone who said they'd come")
    @app_commands.describe(event="The event", reason="Shown to members (optional)")
    @app_commands.autocomplete(event=event_choices)
    async def cancel(
        self, interaction: discord.Interaction[Any], event: int, reason: app_commands.Range[str, 1, 300] | None = None
    ) -> None:
        assert interaction.guild is not None
        guild, db = interaction.guild, self.bot.db
        zone = (await get_settings(db, guild.id)).zone
        cancelled = await db.perform(
            cancel_event, guild.id, event, actor_id=interaction.user.id, now=self.bot.clock.now()
        )
        await interaction.response.defer(ephemeral=True, thinking=True)
        problems = ""
        if cancelled.discord_event_id is not None:
            try:
                scheduled = await guild.fetch_scheduled_event(cancelled.discord_event_id, with_counts=False)
                if scheduled.status is discord.EventStatus.scheduled:
                    await scheduled.cancel()
                else:
                    await scheduled.delete()
            except discord.NotFound:
                pass  # someone already removed it on Discord
            except discord.HTTPException as exc:
                log.warning("could not cancel scheduled event %s: %s", cancelled.discord_event_id, exc)
                problems = f"\n⚠️ Discord's event page didn't update ({_reason(exc)}); remove it by hand."
        await refresh_announcement(self.bot, cancelled, zone)
        people = await members_with_status(db, cancelled.id, "going", "waitlisted")
        text = f"❌ **{cancelled.title}** ({when_text(cancelled, zone)}) was cancelled."
        if reason:
            text += f"\nReason: {reason}"
        await tell(self.bot, guild.id, people, text, cancelled)
        await interaction.followup.send(
            f"Cancelled **{cancelled.title}**; told {plural(len(people), 'member')}.{problems}", ephemeral=True
        )

    @event.command(name="code", description="Show the event's check-in code (for the door or the screen)")
    @app_commands.autocomplete(event=event_choices)
    async def code(self, interaction: discord.Interaction[Any], event: int) -> None:
        guild_id = guild_id_of(interaction)
        zone = (await get_settings(self.bot.db, guild_id)).zone
        found = await get_event(self.bot.db, guild_id, event)
        code = await checkin_code(self.bot.db, guild_id, found.id)
        text = (
            f"Check-in code for **{found.title}**: **`{code}`**\n"
            f"Valid {when_text(found, zone)}. Attendees enter it with `/checkin code:{code}`."
        )
        if found.online:
            text += f"\nOnline: whoever joins <#{found.channel_id}> during the event is counted automatically."
        await interaction.response.send_message(text, ephemeral=True)

    @event.command(name="followup", description="Ask the people who came a follow-up poll")
    @app_commands.describe(
        event="The event",
        question="What to ask",
        options="2–10 options separated by | (e.g. Loved it | It was fine | Not for me)",
        duration="How long it stays open: 30m, 2h, 3d, 1w (default 3d)",
    )
    @app_commands.autocomplete(event=event_choices)
    async def followup(
        self,
        interaction: discord.Interaction[Any],
        event: int,
        question: app_commands.Range[str, 1, 300],
        options: app_commands.Range[str, 3, 1000],
        duration: app_commands.Range[str, 2, 20] = "3d",
    ) -> None:
        guild_id = guild_id_of(interaction)
        poll_id, voters = await self.bot.db.perform(
            create_followup_poll,
            guild_id,
            event,
            question=question,
            options=options.split("|"),
            duration=duration,
            created_by=interaction.user.id,
            now=self.bot.clock.now(),
        )
        await interaction.response.send_message(
            f"Poll #{poll_id} is going up for the {plural(voters, 'member')} who came.", ephemeral=True
        )

    @event.command(name="attendees", description="RSVPs and attendance for an event, as CSV")
    @app_commands.autocomplete(event=event_choices)
    async def attendees(self, interaction: discord.Interaction[Any], event: int) -> None:
        guild_id = guild_id_of(interaction)
        zone = (await get_settings(self.bot.db, guild_id)).zone
        found, text = await attendees_csv(self.bot.db, guild_id, event, zone)
        rows = text.count("\n") - 1
        file = discord.File(io.BytesIO(text.encode("utf-8")), filename=f"event-{found.id}-attendees.csv")
        await interaction.response.send_message(
            f"**{found.title}** ({when(found.starts_at)}): {plural(rows, 'member')}.",
            file=file,
            ephemeral=True,
        )


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(EventAdmin(bot))
