"""The catch-up of shop orders, on a clock: every hour, and once at start when the scheduler has started.

The scheduler only triggers: the hourly job claims its hour (once per process fleet, in ``job_runs``) and starts
one catch-up per connected shop as a background task, so a 60-day backfill that waits on Shopify's rate limit
never holds the scheduler's other work. After downtime nothing special is needed: each shop's cursor is where
the last committed page left it, so the first run covers the gap. What a run reads, and how a failure is told,
is ``bot/shop/catch_up.py``; here it is logged in the operator's words::

    backfill for server 1234: 3 pages, 612 orders, up to 2026-10-07
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from discord.ext import commands

from bot.app import CollectiveBot
from bot.periods import PeriodWindow, hourly
from bot.scheduler import RecurringJob, RunContext
from bot.services.program.guild_settings import GuildSettings
from bot.services.shop.connection import get_connection
from bot.shop.catch_up import CatchUpReport, CatchUpRuns

log = logging.getLogger(__name__)

JOB = "shop-catch-up"


def _hourly(_: GuildSettings | None, now: datetime) -> PeriodWindow:
    return hourly(now)


class CatchUpCog(commands.Cog, name="Shop catch-up"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot
        self.runs = CatchUpRuns(bot.db)
        self._tasks: dict[int, asyncio.Task[CatchUpReport | None]] = {}
        self._start: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.scheduler.register_job(
            RecurringJob(JOB, _hourly, self._on_the_hour, per_guild=False, label="the hourly catch-up of shop orders")
        )
        self._start = self.bot.spawn(self._after_start(), name="shop-catch-up-start")

    async def cog_unload(self) -> None:
        self.bot.scheduler.unregister_job(JOB)
        pending = [task for task in (self._start, *self._tasks.values()) if task is not None and not task.done()]
        for task in pending:
            task.cancel()  # a page being written rolls back; the cursor keeps the last committed one
        await asyncio.gather(*pending, return_exceptions=True)
        self._tasks.clear()

    async def _after_start(self) -> None:
        await self.bot.scheduler_started.wait()
        self.start_all()

    async def _on_the_hour(self, ctx: RunContext) -> None:
        self.start_all()

    def start_all(self) -> list[asyncio.Task[CatchUpReport | None]]:
        """A catch-up for every connected shop that is not catching up already."""
        started = []
        for guild_id in self.bot.shops.guild_ids():
            running = self._tasks.get(guild_id)
            if running is not None and not running.done():
                continue
            task = self.bot.spawn(self.catch_up(guild_id), name=f"shop-catch-up-{guild_id}")
            self._tasks[guild_id] = task
            started.append(task)
        return started

    async def run_now(self, guild_id: int) -> CatchUpReport | None:
        """Catch up the server's shop up to now and wait for it. A run already going reads only up to when it
        started: it is let finish first, then a fresh one reads the rest."""
        running = self._tasks.get(guild_id)
        if running is not None and not running.done():
            await asyncio.wait({running})
        fresh = self.bot.spawn(self.catch_up(guild_id), name=f"shop-catch-up-{guild_id}")
        self._tasks[guild_id] = fresh
        return await asyncio.shield(fresh)

    async def catch_up(self, guild_id: int) -> CatchUpReport | None:
        """One catch-up for the server's shop now (None: no shop, one is running already, or the shop failed)."""
        connector = self.bot.shops.get(guild_id)
        if connector is None:
            return None
        connection = await get_connection(self.bot.db, guild_id)
        backfill = connection is not None and connection.backfill_done_at is None

        def progress(pages: int, orders: int, reached: datetime) -> None:
            if backfill:  # a long one: say how far it got, page by page
                log.info("backfill for server %s: %d pages, %d orders, up to %s", guild_id, pages, orders,
                         f"{reached:%Y-%m-%d}")  # fmt: skip

        report = await self.runs.run(connector, guild_id, self.bot.clock.now(), progress=progress)
        if report is not None:
            quiet = not (report.orders_read or report.backfill or report.refused)
            log.log(logging.DEBUG if quiet else logging.INFO, "shop %s for server %s: %s", connector.label, guild_id,
                    report.describe())  # fmt: skip
        return report


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(CatchUpCog(bot))
