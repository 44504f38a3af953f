"""Mirrors each audit entry to the program's audit-log channel (every capability dispatches ``audit_recorded``)."""

from __future__ import annotations

import logging

import aiohttp
import discord
from discord.ext import commands

from bot.app import CollectiveBot
from bot.services.audit import AuditEntry
from bot.services.bindings import get_channel_id
from bot.ui.embeds import clip, embed

log = logging.getLogger(__name__)


def describe(entry: AuditEntry) -> str:
    actor = f"<@{entry.actor_id}>" if entry.actor_id else "🤖 the bot"
    target = f" → <@{entry.target_id}>" if entry.target_id else ""
    details = ", ".join(f"{k}: {v}" for k, v in entry.details.items() if v not in (None, "", []))
    return clip(f"{actor} **{entry.action}**{target}" + (f"\n{details}" if details else ""), 4000)


class AuditFeed(commands.Cog, name="Audit feed"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    @commands.Cog.listener("on_audit_recorded")
    async def on_audit_recorded(self, entry: AuditEntry) -> None:
        channel_id = await get_channel_id(self.bot.db, entry.guild_id, "audit")
        channel = self.bot.get_channel(channel_id) if channel_id else None
        if not isinstance(channel, discord.TextChannel):
            return  # no audit channel yet (before /setup): the entry is still in the database
        card = embed(f"Audit #{entry.id}", describe(entry))
        card.timestamp = entry.created_at
        try:
            await channel.send(embed=card, allowed_mentions=discord.AllowedMentions.none())
        except (discord.HTTPException, aiohttp.ClientError) as exc:
            log.warning("could not mirror audit entry %s to the audit channel: %s", entry.id, exc)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(AuditFeed(bot))
