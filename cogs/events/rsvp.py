"""Events for members: RSVP buttons, /events, /checkin, reminder DMs and voice attendance."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

import bot.services.events.digest  # noqa: F401 — registers the events digest sections
from bot.app import CollectiveBot
from bot.checks import FOR_AMBASSADORS
from bot.dm import send_dm
from bot.scheduler import Timer
from bot.services.events import events
from bot.services.events.attendance import check_in, online_event_running, record_voice
from bot.services.events.events import counts, find_event, is_current_timer, upcoming_events
from bot.services.events.rsvps import (
    claim_reminder,
    members_with_status,
    my_rsvps,
)
from bot.services.program import tiers
from bot.services.program.guild_settings import get_settings
from bot.services.program.members import require_ambassador
from bot.text import plural
from bot.ui.embeds import SUCCESS, embed
from bot.ui.interactions import guild_id_of
from bot.ui.paginator import Paginator, field_pages
from cogs.events.event_ui import (
    DeclineButton,
    GoingButton,
    announcement_url,
    when_text,
    where_text,
)

log = logging.getLogger(__name__)

PER_PAGE = 5
STATUS_TEXT = {"going": "✅ going", "waitlisted": "⏳ waitlist", "declined": "❌ can't go"}


class EventRsvp(commands.Cog, name="Events"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(GoingButton, DeclineButton)
        self.bot.scheduler.register_timer(events.REMINDER, self.remind)
        self.bot.scheduler.register_timer(events.START, self.on_event_start)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(GoingButton, DeclineButton)
        self.bot.scheduler.unregister_timer(events.REMINDER)
        self.bot.scheduler.unregister_timer(events.START)

    # -- commands ------------------------------------------------------------------------------------

    @app_commands.command(name="events", description="Upcoming events and your RSVPs", extras=FOR_AMBASSADORS)
    @app_commands.guild_only()
    async def events(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        member = await require_ambassador(self.bot.db, guild_id, interaction.user.id)
        zone = (await get_settings(self.bot.db, guild_id)).zone
        now = self.bot.clock.now()
        mine = await my_rsvps(self.bot.db, guild_id, member.user_id)
        shown = [e for e in await upcoming_events(self.bot.db, guild_id, now) if tiers.admits(e.tier, member.tier)]
        if not shown:
            await interaction.response.send_message("No upcoming events right now.", ephemeral=True)
            return
        entries = []
        for event in shown:
            taken = await counts(self.bot.db, event.id)
            status, position = mine.get(event.id, (None, None))
            yours = STATUS_TEXT.get(status or "", "no answer yet")
            if position is not None:
                yours += f" #{position}"
            lines = [when_text(event, zone), where_text(event), f"{taken.going}/{event.capacity} going · you: {yours}"]
            url = announcement_url(event)
            if url:
                lines.append(f"[Announcement]({url})")
            entries.append((f"#{event.id} {event.title}", "\n".join(lines)))
        intro = f"Times in {zone.key}. RSVP with the buttons on each announcement."
        pages = field_pages("Upcoming events", entries, per_page=PER_PAGE, description=intro)
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)

    @app_commands.command(
        name="checkin", description="Check in at an event with the code the host shows", extras=FOR_AMBASSADORS
    )
    @app_commands.describe(code="The event's check-in code")
    @app_commands.guild_only()
    async def checkin(self, interaction: discord.Interaction[Any], code: app_commands.Range[str, 1, 20]) -> None:
        guild_id = guild_id_of(interaction)
        zone = (await get_settings(self.bot.db, guild_id)).zone
        attended = await self.bot.db.perform(
            check_in, guild_id, interaction.user.id, code, now=self.bot.clock.now(), zone=zone
        )
        card = embed(f"✅ Checked in: {attended.event.title}", colour=SUCCESS)
        card.description = (
            f"Thanks for coming! +{plural(attended.points, 'point')}." if attended.points else "Thanks for coming!"
        )
        await interaction.response.send_message(embed=card, ephemeral=True)

    # -- voice attendance ----------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        if (
            member.bot
            or after.channel is None
            or (before.channel is not None and before.channel.id == after.channel.id)
        ):
            return
        await self._count_voice(member.guild.id, after.channel.id, member.id)

    async def _count_voice(self, guild_id: int, channel_id: int, user_id: int) -> None:
        now = self.bot.clock.now()
        if not await online_event_running(self.bot.db, guild_id, channel_id, now):
            return
        for attended in await self.bot.db.perform(record_voice, guild_id, channel_id, user_id, now):
            log.info("member %s attended event %s (voice)", user_id, attended.event.id)

    async def on_event_start(self, timer: Timer, now: datetime) -> None:
        """At the start: mark Discord's event as started, and count whoever already waits in the channel
        (they won't 'join' again, so the voice listener would miss them)."""
        event = await find_event(self.bot.db, timer.guild_id, int(timer.payload["event_id"]))
        if event is None or not is_current_timer(event, timer.key):
            return
        guild = self.bot.get_guild(event.guild_id)
        if guild is not None and event.discord_event_id is not None:
            try:
                scheduled = await guild.fetch_scheduled_event(event.discord_event_id, with_counts=False)
                if scheduled.status is discord.EventStatus.scheduled:
                    await scheduled.start()
            except discord.HTTPException as exc:
                log.warning("could not start scheduled event %s: %s", event.discord_event_id, exc)
        channel = self.bot.get_channel(event.channel_id) if event.channel_id is not None else None
        if isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            for member in channel.members:
                if not member.bot:
                    await self._count_voice(timer.guild_id, channel.id, member.id)

    # -- reminders -----------------------------------------------------------------------------------

    async def remind(self, timer: Timer, now: datetime) -> None:
        event = await find_event(self.bot.db, timer.guild_id, int(timer.payload["event_id"]))
        if event is None or not is_current_timer(event, timer.key) or now >= event.starts_at:
            return  # cancelled, moved (a fresh timer exists) or already started
        zone = (await get_settings(self.bot.db, event.guild_id)).zone
        soon = "tomorrow" if timer.payload.get("label") == "day" else "in an hour"
        text = (
            f"⏰ Reminder: **{event.title}** starts {soon} — {when_text(event, zone)}.\n"
            f"Where: {where_text(event)}\n"
            "Can't make it any more? Press **Can't go** on the announcement so the next person gets your spot."
        )
        for user_id in await members_with_status(self.bot.db, event.id, "going"):
            if await self.bot.db.perform(claim_reminder, event, user_id, timer.key, now):
                await send_dm(self.bot, event.guild_id, user_id, content=text)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(EventRsvp(bot))
