"""End-to-end: the real CollectiveBot, as main() builds it, against the local Discord emulator.

Only ``discord.api_base_url`` and ``discord.gateway_url`` differ from production. After every test the
bot task is checked for exceptions and the log for unexpected errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest
import yarl
from pydantic import SecretStr

from bot.app import CollectiveBot, discover_extensions
from bot.clock import Clock, FixedClock
from bot.config import (
    DatabaseSettings,
    DiscordSettings,
    Settings,
    ShopConnectionConfig,
    ShopifyConnection,
    WebhookSettings,
)
from bot.db import Database
from emulator import Emulator, Guild
from emulator.models import User
from emulator.shop import FakeShopify, ManualClock

TOKEN = "e2e-token"
# Discord's 3-second acknowledgement rule is on by default; a slow CI machine may widen it.
ACK_TIMEOUT = float(os.environ.get("EMULATOR_ACK_TIMEOUT", "3"))
MANAGE_GUILD = 1 << 5


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class BotRunner:
    """Starts, stops and restarts the bot over one database file, as an operator would."""

    def __init__(self, emu: Emulator, db_target: Path | str) -> None:
        self.emu = emu
        self.db_target = db_target
        self.bot: CollectiveBot | None = None
        self.db: Database | None = None
        self._task: asyncio.Task[None] | None = None
        self.extra_extensions: list[str] = []
        self.clock: Clock | None = None
        self.errors = ErrorLog()
        self.expected_errors = 0
        self.shops: dict[int, ShopConnectionConfig] = {}  # a test connects a fake shop here before start()
        self.webhooks = WebhookSettings()  # a test enables the webhook server here
        logging.getLogger().addHandler(self.errors)

    def settings(self) -> Settings:
        return Settings(
            discord=DiscordSettings(token=TOKEN, api_base_url=self.emu.api_base_url, gateway_url=self.emu.gateway_url),
            database=DatabaseSettings.at(self.db_target),
            shops=dict(self.shops),
            webhooks=self.webhooks,
        )

    async def start(self) -> CollectiveBot:
        self.db = await Database.open(self.db_target)
        bot = CollectiveBot(
            settings=self.settings(),
            db=self.db,
            clock=self.clock,
            extensions=[*discover_extensions(), *self.extra_extensions],
        )
        self.bot = bot
        self._task = asyncio.create_task(bot.start(TOKEN), name="collective-bot")
        ready = asyncio.ensure_future(bot.scheduler_started.wait())
        done, _ = await asyncio.wait({ready, self._task}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            ready.cancel()
            self._task.result()  # raises what stopped the bot
            raise AssertionError("the bot stopped during start-up")
        if ready not in done:
            raise AssertionError("the bot did not become ready within 20 s")
        return bot

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 10)
            self._task = None
        if self.db is not None:
            await self.db.close()
            self.db = None

    async def restart(self) -> CollectiveBot:
        await self.stop()
        return await self.start()

    def check_healthy(self) -> None:
        if self._task is not None and self._task.done():
            self._task.result()
            raise AssertionError("the bot task ended on its own")
        unexpected = [r for r in self.errors.records if r.name.split(".")[0] in ("collective", "bot", "cogs")]
        assert len(unexpected) == self.expected_errors, [r.getMessage() for r in unexpected]


@dataclass
class World:
    """A small brand server: the owner, a moderator (Manage Server) and two members."""

    guild: Guild
    owner: User
    moderator: User
    alice: User
    bob: User
    general_id: int


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(token=TOKEN, ack_timeout=ACK_TIMEOUT)
    await emulator.start()
    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        yield emulator
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(old_gateway))
        await emulator.stop()


@pytest.fixture
def world(emu: Emulator) -> World:
    guild = emu.create_guild(name="Glow Skincare", owner_name="founder")
    mods = emu.create_role(guild.id, "Brand team", permissions=MANAGE_GUILD)
    moderator = emu.add_member(guild.id, "mira", roles=[mods.id])
    alice = emu.add_member(guild.id, "alice")
    bob = emu.add_member(guild.id, "bob")
    general = emu.state.channel_named(guild.id, "general")
    return World(guild, emu.state.user(guild.owner_id), moderator, alice, bob, general.id)


@pytest.fixture
async def runner(emu: Emulator, db_target: Path | str) -> AsyncIterator[BotRunner]:
    bot_runner = BotRunner(emu, db_target)
    try:
        yield bot_runner
        bot_runner.check_healthy()
    finally:
        await bot_runner.stop()
        logging.getLogger().removeHandler(bot_runner.errors)


SHOP_TOKEN = "shpat_e2e_token"
SHOP_DOMAIN = "glow-e2e.myshopify.com"
SHOP_SCOPES = frozenset({"write_discounts", "read_orders", "read_products"})
SHOP_START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # the shop's clock; tests start the bot's clock here too


@pytest.fixture
async def fake_shop() -> AsyncIterator[FakeShopify]:
    """The brand's Shopify store, over HTTP, with a clock the test moves."""
    shop = FakeShopify(token=SHOP_TOKEN, domain=SHOP_DOMAIN, scopes=set(SHOP_SCOPES), clock=ManualClock(SHOP_START))
    await shop.start()
    try:
        yield shop
    finally:
        await shop.stop()


def connect_shop(runner: BotRunner, world: World, shop: FakeShopify) -> None:
    """Configure ``shop`` as the server's store for the next start, as an operator's config would."""
    runner.shops[world.guild.id] = ShopifyConnection(
        shop_domain=SHOP_DOMAIN, access_token=SecretStr(SHOP_TOKEN), admin_url=shop.url
    )


async def play_demo_week(emu: Emulator, runner: BotRunner, guild_id: int, people: dict[str, int]) -> str:
    """Every scene of ``python -m bot demo`` through this runner's bot, with the demo's store connected as the
    demo connects it; returns the transcript. The runner is stopped afterwards (the store goes with it)."""
    from bot.demo import SCENES, WEEK_START, store
    from bot.demo.stage import Demo

    runner.clock = clock = FixedClock(WEEK_START)
    out = io.StringIO()
    async with store.brand_store(clock) as brand_store:
        runner.shops[guild_id], runner.webhooks = store.connection_for(brand_store)
        bot = await runner.start()
        demo = Demo(emu, bot, clock, out=out)
        demo.guild_id, demo.people, demo.store = guild_id, people, brand_store
        for scene in SCENES:
            await scene(demo)
        await runner.stop()
    return out.getvalue()
