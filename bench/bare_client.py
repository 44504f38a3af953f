"""The baseline: a bare discord.py client with the bot's intents that only acknowledges interactions.

    python -m bench.bare_client API_BASE_URL GATEWAY_URL TOKEN
    python -m bench.bare_client API_BASE_URL GATEWAY_URL TOKEN --shards 0-1 --shard-count 4

No database, no cogs, no command tree: connect, cache the guilds and their members, log "ready:", and answer
every interaction with a short ephemeral message. With ``--shards`` it is an AutoShardedClient holding only those
shards, as one process of a fleet. Run by bench/botproc.py against the emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl

from bot.config import DiscordSettings

log = logging.getLogger("bare")


class _Answers(discord.Client):
    async def on_ready(self) -> None:
        cached = sum(len(g.members) for g in self.guilds)
        log.info("ready: %d server(s), %d members cached", len(self.guilds), cached)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("Thanks! You voted.", ephemeral=True)


class BareClient(_Answers):
    pass


class BareShardedClient(_Answers, discord.AutoShardedClient):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py waits 5 s between its shards' IDENTIFYs (Discord's rate); the emulator has no such limit.
        return None


def shard_ids(spec: str) -> list[int]:
    """``"2"`` or ``"0-3"`` (inclusive) as a list of shard ids."""
    first, _, last = spec.partition("-")
    return list(range(int(first), int(last or first) + 1))


async def run(api: str, gateway: str, token: str, shards: str | None, shard_count: int | None) -> None:
    discord.http.Route.BASE = api
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    intents = discord.Intents.none()
    intents.guilds = intents.members = intents.voice_states = True  # the same intents as the bot
    # The same wait for servers after READY as the bot, so start-up compares like with like.
    ready_wait = DiscordSettings().guild_ready_timeout
    client: _Answers
    if shards is None:
        client = BareClient(intents=intents, guild_ready_timeout=ready_wait)
    else:
        client = BareShardedClient(intents=intents, guild_ready_timeout=ready_wait, shard_ids=shard_ids(shards),
                                   shard_count=shard_count)  # fmt: skip
    async with client:
        await client.start(token)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("api")
    parser.add_argument("gateway")
    parser.add_argument("token")
    parser.add_argument("--shards", help="hold only these shards, e.g. 0 or 0-1 (needs --shard-count)")
    parser.add_argument("--shard-count", type=int)
    args = parser.parse_args()
    discord.utils.setup_logging(level=logging.INFO, root=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.api, args.gateway, args.token, args.shards, args.shard_count))


if __name__ == "__main__":
    main()
