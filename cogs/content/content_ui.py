"""Discord helpers shared by the content cogs (briefs, drops, submissions). Not an extension itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import discord

from bot.errors import NotAllowed
from bot.services.content.briefs import get_brief
from bot.services.content.submissions import STATUS_LABELS, Submission
from bot.services.program.bindings import get_channel_id
from bot.services.program.guild_settings import get_settings
from bot.ui.base import BaseModal, DisplayView
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import BRAND, DANGER, SUCCESS, WARNING, add_field, clip, embed
from bot.ui.times import when

if TYPE_CHECKING:
    from bot.app import CollectiveBot

CHANNEL_LABELS = {"briefs": "#briefs", "drops": "#drops", "showcase": "#showcase", "review": "#review"}


async def channel_id_or_setup(bot: CollectiveBot, guild_id: int, purpose: str) -> int:
    """The bound channel for ``purpose``, or a clear instruction to run /setup."""
    channel_id = await get_channel_id(bot.db, guild_id, purpose)
    if channel_id is None:
        label = CHANNEL_LABELS.get(purpose, purpose)
        raise NotAllowed(
            f"The program's {label} channel isn't set up yet. A moderator needs to run /setup first, then try again."
        )
    return channel_id


def messageable(bot: CollectiveBot, guild_id: int, channel_id: int) -> discord.PartialMessageable:
    return bot.get_partial_messageable(channel_id, guild_id=guild_id)


async def zone_of(bot: CollectiveBot, guild_id: int) -> ZoneInfo:
    return (await get_settings(bot.db, guild_id)).zone


@dataclass(frozen=True)
class Field:
    key: str  # the text input's custom_id
    label: str  # at most 45 characters
    max_length: int
    paragraph: bool = False
    required: bool = True
    default: str | None = None
    placeholder: str | None = None


FormHandler = Callable[[discord.Interaction[Any], dict[str, str]], Awaitable[None]]


class FormModal(BaseModal):
    """A modal of up to five text inputs whose values go to ``handler`` as a dict keyed by ``Field.key``."""

    def __init__(self, title: str, fields: list[Field], handler: FormHandler) -> None:
        super().__init__(title=title[:45], timeout=900)
        self._handler = handler
        self._inputs: dict[str, discord.ui.TextInput[FormModal]] = {}
        for spec in fields[:5]:
            text_input: discord.ui.TextInput[FormModal] = discord.ui.TextInput(
                label=spec.label[:45],
                custom_id=spec.key,
                style=discord.TextStyle.paragraph if spec.paragraph else discord.TextStyle.short,
                required=spec.required,
                max_length=spec.max_length,
                default=spec.default[: spec.max_length] if spec.default else None,
                placeholder=spec.placeholder[:100] if spec.placeholder else None,
            )
            self._inputs[spec.key] = text_input
            self.add_item(text_input)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await self._handler(interaction, {key: item.value or "" for key, item in self._inputs.items()})


# -- submission cards (intake posts them, review updates them) -----------------------------------------


def submission_card(sub: Submission, brief_title: str | None, zone: ZoneInfo) -> discord.Embed:
    colours = {"pending": BRAND, "approved": SUCCESS, "changes_requested": WARNING, "rejected": DANGER}
    card = embed(f"📝 Submission #{sub.id} · {sub.platform}", clip(sub.link, 4000), colour=colours[sub.status])
    add_field(card, "Ambassador", f"<@{sub.user_id}>", inline=True)
    add_field(card, "Brief", brief_title or "— (free-form)", inline=True)
    add_field(card, "Submitted", when(sub.created_at), inline=True)
    if sub.note:
        add_field(card, "Note", sub.note)
    if sub.attachment_url:
        add_field(card, "File", f"[{sub.attachment_name or 'attachment'}]({sub.attachment_url})")
    if sub.resubmission_of:
        add_field(card, "Resubmission", f"of #{sub.resubmission_of}, after changes were requested")
    if sub.status != "pending":
        who = f" by <@{sub.reviewer_id}>" if sub.reviewer_id else ""
        points = f" · +{sub.points_awarded} points" if sub.points_awarded else ""
        add_field(card, "Decision", f"{STATUS_LABELS[sub.status]}{who}{points}")
        if sub.feedback:
            add_field(card, "Feedback", sub.feedback)
    card.set_footer(text="The ambassador agreed the brand may reshare this content.")
    return card


def review_buttons(submission_id: int) -> DisplayView:
    view = DisplayView()
    view.button("Approve", custom_id("submission", "approve", submission_id), discord.ButtonStyle.success)
    view.button("Request changes", custom_id("submission", "changes", submission_id), discord.ButtonStyle.primary)
    view.button("Reject", custom_id("submission", "reject", submission_id), discord.ButtonStyle.danger)
    return view


async def brief_title_of(bot: CollectiveBot, sub: Submission) -> str | None:
    if sub.brief_id is None:
        return None
    return (await get_brief(bot.db, sub.guild_id, sub.brief_id)).title
