"""How a brief looks on Discord (embed, buttons, form) and its persistent buttons: Publish, Cancel, I'm in.

The brief's Submit button is handled by cogs/content/submissions.py (same custom_id contract).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import discord

from bot.services.content import briefs
from bot.services.content.briefs import Brief
from bot.services.program.members import require_ambassador
from bot.text import plural
from bot.ui.base import DisplayView, RecordButton
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import BRAND, add_field, embed
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.times import when
from cogs.content.content_ui import Field


@runtime_checkable
class Publisher(Protocol):
    async def publish(self, interaction: discord.Interaction[Any], brief_id: int) -> None: ...


CLOSED = discord.Colour(0x808890)


def brief_embed(brief: Brief, zone: ZoneInfo) -> discord.Embed:
    closed = brief.status in ("closed", "cancelled")
    title = f"🔒 {brief.title} (closed)" if closed else f"📣 {brief.title}"
    card = embed(title, brief.what_to_make, colour=CLOSED if closed else BRAND)
    if brief.deliverables:
        add_field(card, "Deliverables & hashtags", brief.deliverables)
    add_field(card, "Due", when(brief.due_at), inline=True)
    add_field(card, "Points", str(brief.points), inline=True)
    add_field(card, "For", f"the {brief.tier} tier" if brief.tier else "every ambassador", inline=True)
    hint = (
        "closed: thank you to everyone who took part"
        if closed
        else "press “I'm in” for a reminder; questions go in the thread"
    )
    card.set_footer(text=f"Brief #{brief.id} · {hint}")
    return card


def brief_view(brief: Brief) -> DisplayView:
    closed = brief.status != "open"
    view = DisplayView()
    view.button("I'm in", custom_id("brief", "optin", brief.id), discord.ButtonStyle.primary, disabled=closed)
    view.button("Submit", custom_id("brief", "submit", brief.id), discord.ButtonStyle.success, disabled=closed)
    return view


def brief_form(brief: Brief | None, zone: ZoneInfo, default_points: int) -> list[Field]:
    due = brief.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if brief else None
    return [
        Field("title", "Title", briefs.TITLE_MAX, default=brief.title if brief else None),
        Field("what", "What to make", briefs.WHAT_MAX, paragraph=True, default=brief.what_to_make if brief else None),
        Field(
            "deliverables",
            "Deliverables & hashtags",
            briefs.DELIVERABLES_MAX,
            paragraph=True,
            required=False,
            default=brief.deliverables if brief else None,
            placeholder="e.g. 1 TikTok, 15–30 s, #GlowRoutine",
        ),
        Field("due", "Due date (server time)", 16, default=due, placeholder="2026-12-05 or 2026-12-05 18:00"),
        Field("points", "Points for an approved piece", 5, default=str(brief.points if brief else default_points)),
    ]


class PublishButton(RecordButton, feature="brief", action="publish"):
    moderator_only = True

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        cog = bot_of(interaction).get_cog("Briefs")
        assert isinstance(cog, Publisher)
        await cog.publish(interaction, self.record_id)


class CancelDraftButton(RecordButton, feature="brief", action="discard"):
    moderator_only = True

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        await bot.db.perform(
            briefs.cancel_draft, guild_id_of(interaction), self.record_id, interaction.user.id, bot.clock.now()
        )
        await interaction.response.edit_message(content="Draft discarded; nothing was posted.", embed=None, view=None)


class OptInButton(RecordButton, feature="brief", action="optin"):
    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot, guild_id = bot_of(interaction), guild_id_of(interaction)
        member = await require_ambassador(bot.db, guild_id, interaction.user.id)
        brief, new = await bot.db.perform(briefs.opt_in, guild_id, self.record_id, member, bot.clock.now())
        days = (await briefs.get_content_settings(bot.db, guild_id)).reminder_days_before
        moment = when(brief.due_at)
        text = (
            f"You're in for “{brief.title}”! It's due {moment}; I'll remind you {plural(days, 'day')} before"
            " if you haven't "
            "submitted yet. Press **Submit** on the brief (or use /submit) when your piece is live."
            if new
            else f"You're already in for “{brief.title}” (due {moment})."
        )
        await interaction.response.send_message(text, ephemeral=True)
