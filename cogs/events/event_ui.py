"""The Discord side of events, shared by ``cogs/events/manage.py`` and ``cogs/events/rsvp.py``.

Rendering (announcement card, RSVP buttons, DMs) and keeping Discord in step with the database: the
guild scheduled event, the announcement message and the reminder timers. Everything here runs after
the service's transaction committed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import discord

from bot.dm import send_dm
from bot.services.events.events import Counts, Event, counts, find_event
from bot.services.events.rsvps import rsvp
from bot.services.program.guild_settings import get_settings
from bot.ui.base import DisplayView, RecordButton
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import DANGER, SUCCESS, add_field, embed
from bot.ui.interactions import guild_id_of
from bot.ui.posted_record import Rendered, refresh_record
from bot.ui.times import when

if TYPE_CHECKING:
    from bot.app import CollectiveBot

log = logging.getLogger(__name__)


# -- rendering -----------------------------------------------------------------------------------------


def when_text(event: Event, zone: ZoneInfo) -> str:
    # Timestamps, so each member reads the event in their own zone; a same-day end shows only its time.
    same_day = event.starts_at.astimezone(zone).date() == event.ends_at.astimezone(zone).date()
    return f"{when(event.starts_at)} – {when(event.ends_at, 't' if same_day else 'f')}"


def where_text(event: Event) -> str:
    return f"Online in <#{event.channel_id}>" if event.online else str(event.location)


def event_url(event: Event) -> str | None:
    if event.discord_event_id is None:
        return None
    return f"https://discord.com/events/{event.guild_id}/{event.discord_event_id}"


def announcement_url(event: Event) -> str | None:
    if event.announcement_message_id is None:
        return None
    return (
        f"https://discord.com/channels/{event.guild_id}/{event.announcement_channel_id}/{event.announcement_message_id}"
    )


def announcement_card(event: Event, taken: Counts, zone: ZoneInfo) -> discord.Embed:
    cancelled = event.status == "cancelled"
    card = embed(
        f"{'Cancelled: ' if cancelled else '📅 '}{event.title}",
        event.description or None,
        colour=DANGER if cancelled else SUCCESS,
    )
    add_field(card, "When", when_text(event, zone))
    add_field(card, "Where", where_text(event))
    spots = f"{taken.going}/{event.capacity} going"
    if taken.waitlisted:
        spots += f" · {taken.waitlisted} on the waitlist"
    add_field(card, "Spots", spots, inline=True)
    add_field(card, "For", f"`{event.tier}` tier" if event.tier else "All ambassadors", inline=True)
    if event.points:
        add_field(card, "Points for coming", str(event.points), inline=True)
    card.set_footer(text=f"Event #{event.id} · times in {zone.key}")
    return card


def rsvp_view(event: Event) -> discord.ui.View:
    view = DisplayView().button("Going", custom_id("event", "going", event.id), discord.ButtonStyle.success)
    view.button("Can't go", custom_id("event", "decline", event.id))
    url = event_url(event)
    return view.link("Event page", url) if url is not None else view


# -- keeping Discord in step ---------------------------------------------------------------------------


async def refresh_announcement(bot: CollectiveBot, event: Event, zone: ZoneInfo) -> None:
    """Redraw the announcement (counts, edits, cancellation). Failure is logged, never fatal."""
    if event.announcement_message_id is None:
        return
    card = announcement_card(event, await counts(bot.db, event.id), zone)
    rendered = Rendered(card, None if event.status == "cancelled" else rsvp_view(event))
    await refresh_record(bot, event.guild_id, event.announcement_channel_id, event.announcement_message_id, rendered)


async def tell(bot: CollectiveBot, guild_id: int, user_ids: list[int], text: str, event: Event) -> None:
    """DM each member (members who closed DMs are skipped by ``send_dm``)."""
    view = None
    url = announcement_url(event)
    if url is not None:
        view = discord.ui.View()
        view.add_item(discord.ui.Button(style=discord.ButtonStyle.link, label="Announcement", url=url))
    for user_id in user_ids:
        kwargs: dict[str, Any] = {"content": text}
        if view is not None:
            kwargs["view"] = view
        await send_dm(bot, guild_id, user_id, **kwargs)


async def tell_promoted(bot: CollectiveBot, event: Event, promoted: list[int], zone: ZoneInfo) -> None:
    if promoted:
        text = f"🎉 A spot opened up: you're now **going** to **{event.title}** ({when_text(event, zone)})."
        await tell(bot, event.guild_id, promoted, text, event)


# -- RSVP buttons --------------------------------------------------------------------------------------


class _RsvpButton(RecordButton, feature="event", action="rsvp"):
    going = True

    @property
    def event_id(self) -> int:
        return self.record_id

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot: CollectiveBot = interaction.client
        guild_id = guild_id_of(interaction)
        zone = (await get_settings(bot.db, guild_id)).zone
        outcome = await bot.db.perform(
            rsvp, guild_id, self.event_id, interaction.user.id, going=self.going, now=bot.clock.now()
        )
        event = outcome.event
        if outcome.status == "going":
            text = (
                f"✅ You're going to **{event.title}** ({when_text(event, zone)}). "
                "I'll remind you by DM a day and an hour before."
            )
            if not outcome.changed:
                text = f"You're already on the list for **{event.title}**."
        elif outcome.status == "waitlisted":
            text = (
                f"⏳ **{event.title}** is full: you're **#{outcome.position}** on the waitlist. "
                "I'll DM you if a spot opens."
            )
        else:
            text = f"Got it — you can't make **{event.title}**." + (
                " Your spot went to the next in line." if outcome.promoted else ""
            )
        await interaction.response.send_message(text, ephemeral=True)
        if outcome.changed:
            fresh = await find_event(bot.db, event.guild_id, event.id)
            await refresh_announcement(bot, fresh or event, zone)
        await tell_promoted(bot, event, outcome.promoted, zone)


class GoingButton(_RsvpButton, feature="event", action="going"):
    going = True


class DeclineButton(_RsvpButton, feature="event", action="decline"):
    going = False
