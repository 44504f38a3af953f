"""Posts each audit entry to the program's audit-log channel: the subscriber of the ``audit.recorded`` outbox
topic, which ``audit.record`` writes in the same unit of work as the action it records."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.app import CollectiveBot
from bot.outbox import OutboxItem
from bot.posting import find_posted
from bot.services.program import audit
from bot.services.program.audit import AuditEntry
from bot.services.program.bindings import get_channel_id
from bot.ui.embeds import clip, embed

log = logging.getLogger(__name__)
SUBSCRIBER = "audit-feed"


def describe(entry: AuditEntry) -> str:
    actor = f"<@{entry.actor_id}>" if entry.actor_id else "🤖 the bot"
    target = f" → <@{entry.target_id}>" if entry.target_id else ""
    details = ", ".join(f"{k}: {v}" for k, v in entry.details.items() if v not in (None, "", []))
    return clip(f"{actor} **{entry.action}**{target}" + (f"\n{details}" if details else ""), 4000)


def title_of(entry: AuditEntry) -> str:
    return f"Audit #{entry.id}"


class AuditFeed(commands.Cog, name="Audit feed"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.outbox.subscribe(audit.TOPIC, SUBSCRIBER, self.post)

    async def cog_unload(self) -> None:
        self.bot.outbox.unsubscribe(audit.TOPIC, SUBSCRIBER)

    async def post(self, item: OutboxItem) -> None:
        entry = await audit.get_entry(self.bot.db, int(item.payload["entry_id"]))
        if entry is None:
            return
        channel_id = await get_channel_id(self.bot.db, entry.guild_id, "audit")
        channel = self.bot.get_channel(channel_id) if channel_id else None
        if not isinstance(channel, discord.TextChannel):
            return  # no audit channel yet (before /setup): the entry is still in the database
        title = title_of(entry)
        assert self.bot.user is not None
        if item.attempt > 1 and await find_posted(
            channel, author_id=self.bot.user.id, matches=lambda m: any(e.title == title for e in m.embeds)
        ):
            return  # a delivery cut off after Discord accepted it: the entry number shows it was posted
        card = embed(title, describe(entry))
        card.timestamp = entry.created_at
        # Raises on failure: the outbox retries with backoff, so a Discord hiccup never loses an entry.
        await channel.send(embed=card, allowed_mentions=discord.AllowedMentions.none())


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(AuditFeed(bot))
