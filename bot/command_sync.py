"""Sync the command tree only when its definition changed since the last sync (hash kept in the db)."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.clock import to_db

if TYPE_CHECKING:
    from bot.app import CollectiveBot

log = logging.getLogger(__name__)


def command_payload(bot: CollectiveBot, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
    return [command.to_dict(bot.tree) for command in bot.tree.get_commands(guild=guild)]


def payload_hash(payload: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


async def sync_if_changed(bot: CollectiveBot) -> list[str]:
    """Sync to the configured guilds (copying global commands there) or globally. Returns scopes synced."""
    guild_ids = bot.settings.discord.sync_guild_ids
    scopes: list[discord.Object | None] = [discord.Object(gid) for gid in guild_ids] if guild_ids else [None]
    synced = []
    for scope in scopes:
        if scope is not None:
            bot.tree.copy_global_to(guild=scope)
        name = "global" if scope is None else f"guild:{scope.id}"
        key = f"command_hash:{bot.application_id}:{name}"
        digest = payload_hash(command_payload(bot, scope))
        if await bot.db.fetchval("SELECT value FROM bot_state WHERE key = ?", (key,)) == digest:
            log.info("commands unchanged for %s; not syncing", name)
            continue
        # A rejected definition raises discord.HTTPException here: the bot must not start half-registered.
        commands = await bot.tree.sync(guild=scope)
        await bot.db.execute(
            "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, digest, to_db(bot.clock.now())),
        )
        log.info("synced %d commands to %s", len(commands), name)
        synced.append(name)
    return synced
