"""One home for a record that lives as a Discord message (an application in review, a brief, a drop, a poll, an
event's announcement, a submission in review): render → post → store the message reference → refresh or disable
later, with undo when Discord refuses the post.

Each feature keeps its rendering (the embed and controls) and its storage (where the reference goes); this module
owns the sequence, so no feature posts without storing, stores without posting, or leaves a record behind that
stands for a post Discord refused.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.posting import find_same

if TYPE_CHECKING:
    from bot.app import CollectiveBot

log = logging.getLogger(__name__)

Store = Callable[[int, int], Awaitable[None]]  # (channel id, message id) → remember where the record is posted
Undo = Callable[[], Awaitable[None]]  # void the record whose post Discord refused


@dataclass
class Rendered:
    """What a record looks like on Discord."""

    embed: discord.Embed | None  # None on a refresh that only changes the controls
    view: discord.ui.View | None = None
    content: str | None = None
    file: discord.File | None = None  # a file can be sent once: render afresh for each attempt

    def send_kwargs(self) -> dict[str, Any]:
        send: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
        if self.embed is not None:
            send["embed"] = self.embed
        if self.view is not None:
            send["view"] = self.view
        if self.content is not None:
            send["content"] = self.content
        if self.file is not None:
            send["file"] = self.file
        return send


async def post_record(
    bot: CollectiveBot,
    guild_id: int,
    channel_id: int,
    rendered: Rendered,
    *,
    store: Store,
    undo: Undo | None = None,
    attempt: int = 1,
) -> discord.Message:
    """Post the record and store where it went. Discord refusing runs ``undo`` (when given) and re-raises, so
    the caller explains the refusal with nothing half-made. A retry (``attempt > 1``, after a crash) first adopts
    the post a cut-off attempt made instead of posting again."""
    channel = bot.get_partial_messageable(channel_id, guild_id=guild_id)
    send = rendered.send_kwargs()
    message = None
    if attempt > 1 and bot.user is not None:
        message = await find_same(channel, send, author_id=bot.user.id)
    if message is None:
        try:
            message = await channel.send(**send)
        except discord.HTTPException:
            if undo is not None:
                await undo()
            raise
    await store(channel_id, message.id)
    return message


async def refresh_record(
    bot: CollectiveBot, guild_id: int, channel_id: int | None, message_id: int | None, rendered: Rendered
) -> bool:
    """Redraw a posted record (new counts, a decision, controls disabled). A record never posted has nothing to
    redraw; a failure is logged, never fatal: the database stays the truth and the next refresh catches up."""
    if channel_id is None or message_id is None:
        return False
    message = bot.get_partial_messageable(channel_id, guild_id=guild_id).get_partial_message(message_id)
    try:
        if rendered.embed is None:
            await message.edit(view=rendered.view)
        else:
            await message.edit(embed=rendered.embed, view=rendered.view)
    except discord.HTTPException as exc:
        log.warning("could not update the post %s in channel %s: %s", message_id, channel_id, exc)
        return False
    return True
