"""Post a message at most once, even when the job that posts it is retried after a crash."""

from __future__ import annotations

import logging
from typing import Any

import discord

log = logging.getLogger(__name__)


def message_has_marker(message: discord.Message, marker: str) -> bool:
    if marker in (message.content or ""):
        return True
    return any(embed.footer.text and marker in embed.footer.text for embed in message.embeds)


async def find_marked(
    channel: discord.abc.Messageable, marker: str, *, author_id: int, search_limit: int = 50
) -> discord.Message | None:
    async for message in channel.history(limit=search_limit):
        if message.author.id == author_id and message_has_marker(message, marker):
            return message
    return None


async def post_once(
    channel: discord.abc.Messageable,
    marker: str,
    *,
    author_id: int,
    attempt: int,
    search_limit: int = 50,
    **send: Any,
) -> discord.Message:
    """Send unless a previous attempt already did. The caller puts ``marker`` in the content or a footer.

    Only retries (``attempt > 1``) read the channel history: a first attempt cannot have posted yet.
    """
    if attempt > 1:
        existing = await find_marked(channel, marker, author_id=author_id, search_limit=search_limit)
        if existing is not None:
            log.info("found %s already posted as message %s; not posting again", marker, existing.id)
            return existing
    return await channel.send(**send)
