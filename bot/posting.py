"""Post a message at most once, even when the job that posts it is retried after a crash; and tell moderators
when Discord refuses scheduled work (403), since only they can fix the channel's permissions."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.dm import send_dm
from bot.interaction_errors import explain_refusal
from bot.scheduler import PROCESS_WIDE, Failure
from bot.services.program import audit
from bot.services.program.bindings import get_channel_id
from bot.ui.embeds import WARNING, clip, embed

if TYPE_CHECKING:
    from bot.app import CollectiveBot

log = logging.getLogger(__name__)

_CHANNEL_IN_URL = re.compile(r"/channels/(\d+)/")


def message_has_marker(message: discord.Message, marker: str) -> bool:
    if marker in (message.content or ""):
        return True
    return any(embed.footer.text and marker in embed.footer.text for embed in message.embeds)


async def find_posted(
    channel: discord.abc.Messageable,
    *,
    author_id: int,
    matches: Callable[[discord.Message], bool],
    search_limit: int = 50,
) -> discord.Message | None:
    """The bot's own recent message that ``matches`` (a retry checking whether the cut-off attempt posted)."""
    async for message in channel.history(limit=search_limit):
        if message.author.id == author_id and matches(message):
            return message
    return None


async def find_marked(
    channel: discord.abc.Messageable, marker: str, *, author_id: int, search_limit: int = 50
) -> discord.Message | None:
    return await find_posted(
        channel, author_id=author_id, matches=lambda m: message_has_marker(m, marker), search_limit=search_limit
    )


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


async def report_refused_work(bot: CollectiveBot, failure: Failure) -> None:
    """Scheduler ``on_failure``: on a 403, record it in the audit log and tell moderators in the review channel
    (or DM the server owner when that is missing or refused too). Told on the first failure and when the
    scheduler gives up, not on every retry in between."""
    error = failure.error
    if not isinstance(error, discord.Forbidden) or failure.guild_id == PROCESS_WIDE:
        return
    if failure.attempt > 1 and failure.retry_at is not None:
        return
    guild_id = failure.guild_id
    match = _CHANNEL_IN_URL.search(str(getattr(error.response, "url", "")))
    channel_id = int(match.group(1)) if match else None
    what = bot.scheduler.label(failure.kind)
    where = f" in <#{channel_id}>" if channel_id else ""
    then = (
        f"I'll try again {discord.utils.format_dt(failure.retry_at, 'R')}."
        if failure.retry_at is not None
        else f"I've stopped after {failure.attempt} attempts; fix the permissions, then post it by hand."
    )
    guild = bot.get_guild(guild_id)
    why = explain_refusal(error, bot_role=guild.me.top_role.name if guild is not None else None)
    card = embed(
        "⚠️ Discord refused a scheduled post",
        clip(f"I couldn't post {what}{where}.\n{why}\n{then}", 4000),
        colour=WARNING,
    )
    now = bot.clock.now()
    async with bot.db.transaction() as tx:
        await audit.record(
            tx, guild_id, None, "scheduled.refused", None, now, work=what, channel=channel_id, attempt=failure.attempt
        )
    review = await get_channel_id(bot.db, guild_id, "review")
    if review is not None and review != channel_id:
        try:
            await bot.get_partial_messageable(review, guild_id=guild_id).send(embed=card)
            return
        except discord.HTTPException as exc:
            log.warning("could not tell moderators in the review channel of guild %s: %s", guild_id, exc)
    if guild is not None and guild.owner_id is not None:
        await send_dm(bot, guild_id, guild.owner_id, embed=card)
