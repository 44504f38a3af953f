"""“Your code was just used”: one DM per burst of sales, and an optional shout-out in announcements.

Subscribes to the ``sale.recorded`` outbox topic (written with the sale by the webhook writer and /codes
record). The debounce is a durable timer (see bot/services/sales/celebrations.py), so it survives restarts; closed DMs
are respected through bot/dm.py.
"""

from __future__ import annotations

import logging
from datetime import datetime

import discord
from discord.ext import commands

from bot.app import CollectiveBot
from bot.outbox import OutboxItem
from bot.posting import dm_once, post_once
from bot.scheduler import Timer
from bot.services.program.bindings import get_channel_id
from bot.services.sales import celebrations
from bot.services.sales.ledger import SALE_RECORDED
from bot.services.sales.orders import get_sales_settings
from bot.ui.embeds import SUCCESS, embed

log = logging.getLogger(__name__)


class Celebrations(commands.Cog, name="Celebrations"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.scheduler.register_timer(celebrations.KIND, self._celebrate)
        self.bot.outbox.subscribe(SALE_RECORDED, "celebrations", self.on_sale_recorded)

    async def cog_unload(self) -> None:
        self.bot.scheduler.unregister_timer(celebrations.KIND)
        self.bot.outbox.unsubscribe(SALE_RECORDED, "celebrations")

    async def on_sale_recorded(self, item: OutboxItem) -> None:
        user_id, sale_id = int(item.payload["user_id"]), int(item.payload["sale_id"])
        async with self.bot.db.transaction() as tx:
            await celebrations.note_sale(tx, item.guild_id, user_id, sale_id, self.bot.clock.now())

    async def _celebrate(self, timer: Timer, now: datetime) -> None:
        user_id = int(timer.payload["user_id"])
        burst = await celebrations.pending_burst(self.bot.db, timer.guild_id, user_id, timer.key, now)
        if burst is not None:
            await self._send_dm(timer, burst)
            await self._shout_out(timer, burst)
        upto = burst.upto_sale_id if burst is not None else 0
        await self.bot.db.perform(celebrations.finish_burst, timer.guild_id, user_id, timer.key, upto, now)

    async def _send_dm(self, timer: Timer, burst: celebrations.Burst) -> None:
        code = burst.codes[0] if burst.codes else "your code"
        times = "" if burst.sales == 1 else f" {burst.sales} times"
        card = embed(
            "🎉 Your code was just used!",
            f"Someone used **{code}**{times}. Thank you for spreading the word!\nRun `/code` for your numbers.",
            colour=SUCCESS,
        )
        # The burst's due time tells this celebration from an earlier one worded the same (see bot.posting).
        card.timestamp = timer.due_at
        delivery = await dm_once(self.bot, timer.guild_id, burst.user_id, attempt=timer.attempt, embed=card)
        if delivery != "sent":
            log.info("sale celebration for %s in %s not delivered: %s", burst.user_id, timer.guild_id, delivery)

    async def _shout_out(self, timer: Timer, burst: celebrations.Burst) -> None:
        settings = await get_sales_settings(self.bot.db, timer.guild_id)
        channel_id = await get_channel_id(self.bot.db, timer.guild_id, "announcements")
        if not settings.shoutouts or channel_id is None:
            return
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            log.warning("announcements channel %s for guild %s is gone; no shout-out", channel_id, timer.guild_id)
            return
        orders = "an order" if burst.sales == 1 else f"{burst.sales} orders"
        card = embed("🎉 Shout-out", f"<@{burst.user_id}>'s code just brought in {orders}. Go team!", colour=SUCCESS)
        card.timestamp = timer.due_at
        assert self.bot.user is not None
        await post_once(channel, author_id=self.bot.user.id, attempt=timer.attempt, embed=card)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Celebrations(bot))
