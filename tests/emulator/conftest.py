"""Fixtures: a started emulator with one guild, and a plain discord.py client connected to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from emulator import Emulator, Guild

TOKEN = "test-token"


class EmuBot(commands.Bot):
    """A bare bot: no re-IDENTIFY sleep (discord.py waits 5 s) and a hook for each test's commands."""

    def __init__(self, setup: Callable[[EmuBot], Any] | None = None, **options: Any) -> None:
        intents = discord.Intents.default()
        intents.members = True
        intents.message_content = True
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.05, **options)
        self._test_setup = setup
        self.events: list[tuple[str, Any]] = []
        self.errors: list[BaseException] = []

    async def setup_hook(self) -> None:
        if self._test_setup is not None:
            self._test_setup(self)
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]
        await self.tree.sync()

    async def _on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        self.errors.append(error)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None

    async def on_member_join(self, member: discord.Member) -> None:
        self.events.append(("member_join", member))

    async def on_member_remove(self, member: discord.Member) -> None:
        self.events.append(("member_remove", member))

    async def on_resumed(self) -> None:
        self.events.append(("resumed", None))


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(token=TOKEN)
    await emulator.start()
    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = emulator.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emulator.gateway_url)
    try:
        yield emulator
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
        await emulator.stop()


@pytest.fixture
def guild(emu: Emulator) -> Guild:
    return emu.create_guild(name="Brand", owner_name="owner")


async def wait_for(predicate: Callable[[], bool], within: float = 3.0) -> None:
    """Poll a condition on the client's cache (events arrive asynchronously over the gateway)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(emu: Emulator, bot: commands.Bot) -> AsyncIterator[commands.Bot]:
    """Run the bot against the emulator; on exit, fail if its task died with an exception."""
    task = asyncio.create_task(bot.start(TOKEN))
    try:
        await emu.wait_until_connected(timeout=10)
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        yield bot
        if task.done():
            task.result()  # re-raises what killed the client
            raise AssertionError("the client stopped on its own")
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
