"""The baseline: a bare discord.py client with the bot's intents that only acknowledges interactions.

    python -m bench.bare_client API_BASE_URL GATEWAY_URL TOKEN

No database, no cogs, no command tree: connect, cache the guild and its members, log "ready:", and answer
every interaction with a short ephemeral message. Run by bench/botproc.py against the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl

from bot.config import DiscordSettings

log = logging.getLogger("bare")


class BareClient(discord.Client):
    async def on_ready(self) -> None:
        cached = sum(len(g.members) for g in self.guilds)
        log.info("ready: %d server(s), %d members cached", len(self.guilds), cached)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("Thanks! You voted.", ephemeral=True)


async def run(api: str, gateway: str, token: str) -> None:
    discord.http.Route.BASE = api
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    intents = discord.Intents.none()
    intents.guilds = intents.members = intents.voice_states = True  # the same intents as the bot
    # The same wait for servers after READY as the bot, so start-up compares like with like.
    ready_wait = DiscordSettings().guild_ready_timeout
    async with BareClient(intents=intents, guild_ready_timeout=ready_wait) as client:
        await client.start(token)


def main() -> None:
    discord.utils.setup_logging(level=logging.INFO, root=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(*sys.argv[1:4]))


if __name__ == "__main__":
    main()
