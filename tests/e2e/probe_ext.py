"""A test-only extension loaded beside the real cogs: commands that misbehave on purpose, and a timer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.errors import InvalidInput
from bot.posting import post_once
from bot.scheduler import Timer
from bot.unit_of_work import TimerKind

PROBE_POST = TimerKind("probe-post", "a probe's post")  # payload: {"channel_id": …, "text": …}


class Probe(commands.Cog, name="Probe"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.scheduler.register_timer(PROBE_POST, self.post_timer)

    async def cog_unload(self) -> None:
        self.bot.scheduler.unregister_timer(PROBE_POST)

    async def post_timer(self, timer: Timer, now: datetime) -> None:
        channel = self.bot.get_channel(int(timer.payload["channel_id"]))
        assert isinstance(channel, discord.TextChannel)
        assert self.bot.user is not None
        await post_once(
            channel,
            author_id=self.bot.user.id,
            attempt=timer.attempt,
            content=f"{timer.payload['text']}",
            embed=discord.Embed(description="scheduled"),
        )

    @app_commands.command(name="probe-twice", description="Answers its interaction twice")
    async def twice(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("first", ephemeral=True)
        await interaction.response.send_message("second", ephemeral=True)

    @app_commands.command(name="probe-crash", description="Fails with an unexpected error")
    async def crash(self, interaction: discord.Interaction[Any]) -> None:
        raise RuntimeError("a bug in a handler")

    @app_commands.command(name="probe-domain", description="Fails with a domain error")
    async def domain(self, interaction: discord.Interaction[Any]) -> None:
        raise InvalidInput("That link is not an http(s) URL.")


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Probe(bot))
