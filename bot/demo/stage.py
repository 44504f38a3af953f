"""The demo's stage: the emulator, the running bot, a fixed clock, and a transcript printer.

Scenes (one module per capability in this package) act through ``Demo``: members run commands and
press buttons, time moves forward with ``advance_to`` (which runs whatever the scheduler has due).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from bot.app import CollectiveBot
from bot.clock import FixedClock
from bot.config import DatabaseSettings, DiscordSettings, Settings, ShopifyConnection, WebhookSettings
from bot.db import Database
from emulator import Emulator, Reply
from emulator.models import Message
from emulator.shop import FakeShopify
from emulator.transcript import render_message

TOKEN = "demo-token"


class Demo:
    def __init__(self, emu: Emulator, bot: CollectiveBot, clock: FixedClock, out: Any = sys.stdout) -> None:
        self.emu = emu
        self.bot = bot
        self.clock = clock
        self.out = out
        self.people: dict[str, int] = {}
        self.store: FakeShopify | None = None  # the brand's Shopify store (bot/demo/store.py)
        self.guild_id = 0
        self.started = clock.now()

    def day(self, offset: int, hour: int, minute: int = 0) -> datetime:
        """A time in the scripted week: ``offset`` days after the first day, at hour:minute UTC. Scenes move
        to fixed times so the week stays a week, however long the scenes before them took."""
        first = datetime.combine(self.started.astimezone(UTC).date(), time(hour, minute), tzinfo=UTC)
        return first + timedelta(days=offset)

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def scene(self, title: str) -> None:
        when = self.clock.now().strftime("%A %d %b, %H:%M UTC")
        self.print(f"\n━━ {when} — {title} ━━")

    def narrate(self, text: str) -> None:
        self.print(f"   ({text})")

    def show_reply(self, reply: Reply, who: str) -> None:
        message = reply.message
        if reply.modal is not None:
            self.print(f"   bot → {who}: a form titled “{reply.modal.get('title')}”")
            return
        if message is None:
            self.print("   bot: (no visible answer)")
            return
        audience = f"only {who} sees this" if message.ephemeral else "posted in the channel"
        self.print(f"   bot ({audience}):")
        for line in render_message(message, self.emu.state):
            self.print(line)

    async def slash(self, who: str, command: str, **options: Any) -> Reply:
        shown = " ".join(f"{k}:{self._shown(v)}" for k, v in options.items())
        self.print(f"\n » {who}: /{command} {shown}".rstrip())
        reply = await self.emu.actor(self.guild_id, self.people[who]).slash(command, **options)
        self.show_reply(reply, who)
        return reply

    def _shown(self, value: Any) -> str:
        """An option as the member typed or picked it: a file by its name, a member by their @name (the
        driver sends their id, which nobody sees)."""
        if isinstance(value, tuple):  # an attachment: (filename, bytes, content type)
            return str(value[0])
        names = {user_id: name for name, user_id in self.people.items()}
        if isinstance(value, int) and value in names:
            return f"@{names[value]}"
        return str(value)

    def show_message(self, message: Message, where: str) -> None:
        self.print(f"   bot → {where}:")
        for line in render_message(message, self.emu.state):
            self.print(line)

    async def advance_to(self, when: datetime) -> None:
        """Move the clock forward as real time would: stop at each due time on the way and run its work."""
        while True:
            due = await self.bot.scheduler.next_wakeup(self.clock.now())
            if due is None or due > when or due <= self.clock.now():
                break
            self.clock.set(due)
            await self.bot.scheduler.run_due(due)
        self.clock.set(when)
        await self.bot.scheduler.run_due(self.clock.now())
        await asyncio.sleep(0.2)  # let gateway events from that work reach the bot


@contextlib.asynccontextmanager
async def running_bot(
    emu: Emulator,
    folder: Path,
    clock: FixedClock,
    *,
    shops: dict[int, ShopifyConnection] | None = None,
    webhooks: WebhookSettings | None = None,
) -> AsyncIterator[CollectiveBot]:
    settings = Settings(
        discord=DiscordSettings(token=TOKEN, api_base_url=emu.api_base_url, gateway_url=emu.gateway_url),
        database=DatabaseSettings(path=folder / "demo.db"),
        shops=shops or {},
        webhooks=webhooks or WebhookSettings(),
    )
    async with await Database.open(settings.database.path) as db:
        bot = CollectiveBot(settings=settings, db=db, clock=clock)
        task = asyncio.create_task(bot.start(TOKEN), name="demo-bot")
        try:
            ready = asyncio.ensure_future(bot.scheduler_started.wait())
            await asyncio.wait({ready, task}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()
            if not ready.done():
                raise RuntimeError("the bot did not become ready against the emulator within 30 s")
            yield bot
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
