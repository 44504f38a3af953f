"""Post a message at most once, even when the job that posts it is retried after a crash; and tell moderators
when Discord refuses scheduled work (403), since only they can fix the channel's permissions."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.dm import Delivery, send_dm
from bot.interaction_errors import explain_refusal
from bot.scheduler import PROCESS_WIDE, Failure
from bot.services.program import audit
from bot.services.program.bindings import get_channel_id
from bot.ui.embeds import WARNING, clip, embed

if TYPE_CHECKING:
    from bot.app import CollectiveBot

log = logging.getLogger(__name__)

_CHANNEL_IN_URL = re.compile(r"/channels/(\d+)/")


def fingerprint(content: str | None, embeds: Sequence[discord.Embed]) -> str:
    """What identifies a post: its text, each embed's title, description, footer and timestamp.

    Computed from what is about to be sent and, on a retry, from the channel's recent messages; equal
    fingerprints mean "the cut-off attempt already posted this". Nothing is added to the message for it, so
    members never see an internal marker. Fields, images and components are left out: a digest's fields may
    be recomputed with newer numbers on a retry, and the identity of a post is in its head. Posts that could
    read the same twice (a celebration DM) carry a timestamp, which tells them apart.
    """
    parts = [(content or "").strip()]
    for card in embeds:
        stamp = card.timestamp
        parts += [
            (card.title or "").strip(),
            (card.description or "").strip(),
            (card.footer.text or "").strip(),
            str(int(stamp.timestamp())) if stamp is not None else "",
        ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def message_fingerprint(message: discord.Message) -> str:
    return fingerprint(message.content, message.embeds)


def send_fingerprint(send: dict[str, Any]) -> str:
    """The fingerprint of a message ``channel.send(**send)`` would post."""
    embeds: list[discord.Embed] = list(send.get("embeds") or [])
    if send.get("embed") is not None:
        embeds.insert(0, send["embed"])
    return fingerprint(send.get("content"), embeds)


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


async def find_same(
    channel: discord.abc.Messageable, send: dict[str, Any], *, author_id: int, search_limit: int = 50
) -> discord.Message | None:
    """The bot's recent message that reads as ``channel.send(**send)`` would (see ``fingerprint``)."""
    wanted = send_fingerprint(send)
    return await find_posted(
        channel,
        author_id=author_id,
        matches=lambda m: message_fingerprint(m) == wanted,
        search_limit=search_limit,
    )


async def post_once(
    channel: discord.abc.Messageable,
    *,
    author_id: int,
    attempt: int,
    search_limit: int = 50,
    **send: Any,
) -> discord.Message:
    """Send unless a previous attempt already did: a retry recognises the bot's own post by its fingerprint.

    Only retries (``attempt > 1``) read the channel history: a first attempt cannot have posted yet. The
    caller builds the same message on every attempt (from stored data, not from "now").
    """
    if attempt > 1:
        existing = await find_same(channel, send, author_id=author_id, search_limit=search_limit)
        if existing is not None:
            log.info("attempt %s found its post already sent as message %s; not posting again", attempt, existing.id)
            return existing
    return await channel.send(**send)


async def dm_once(bot: CollectiveBot, guild_id: int, user_id: int, *, attempt: int, **send: Any) -> Delivery:
    """``send_dm`` for work that may be retried: a retry (``attempt > 1``) that finds the same message already in the
    member's DMs — the cut-off attempt sent it — does not send it again (``fingerprint``)."""
    if attempt > 1 and bot.user is not None:
        try:
            user = bot.get_user(user_id) or await bot.fetch_user(user_id)
            channel = user.dm_channel or await user.create_dm()
            if await find_same(channel, send, author_id=bot.user.id) is not None:
                return "sent"
        except discord.HTTPException:
            pass  # can't read the DMs: sending is the lesser evil than never telling them
    return await send_dm(bot, guild_id, user_id, **send)


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
