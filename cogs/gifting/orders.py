"""Gifts on their way: orders placed in the shop (``gifting.order``, bot/shop/gift_orders.py) and followed every
hour, refusals told to moderators once (``gifting.order_refused``), the member told at each step by DM
(``gifting.tell``), and the brief brought up once the gift has arrived."""

from __future__ import annotations

import logging
from datetime import datetime

import discord
from discord.ext import commands

from bot.app import CollectiveBot
from bot.dm import send_dm
from bot.outbox import OutboxItem, RetryLater
from bot.periods import PeriodWindow, hourly
from bot.posting import post_once
from bot.scheduler import RecurringJob, RunContext, Timer
from bot.services.content.briefs import get_brief
from bot.services.gifting import campaigns, fulfilment
from bot.services.program.bindings import get_channel_id
from bot.services.program.guild_settings import GuildSettings
from bot.shop.errors import ShopError
from bot.shop.gift_orders import GiftOrders
from bot.ui.times import when
from cogs.gifting.gift_ui import campaign_message, refusal_card, step_message

log = logging.getLogger(__name__)

JOB = "gift-orders"


def _hourly(_: GuildSettings | None, now: datetime) -> PeriodWindow:
    return hourly(now)


class GiftDelivery(commands.Cog, name="Gift delivery"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot
        self.orders = GiftOrders(bot.db, bot.clock)

    async def cog_load(self) -> None:
        self.bot.outbox.subscribe(fulfilment.ORDER, "shop", self.on_order)
        self.bot.outbox.subscribe(fulfilment.REFUSED, "moderators", self.on_refused)
        self.bot.outbox.subscribe(fulfilment.TELL, "member", self.on_tell)
        self.bot.scheduler.register_timer(fulfilment.BRIEF_REMINDER, self.on_brief_reminder)
        self.bot.scheduler.register_job(
            RecurringJob(JOB, _hourly, self.on_the_hour, per_guild=False, label="the hourly follow-up of gift orders")
        )

    async def cog_unload(self) -> None:
        self.bot.outbox.unsubscribe(fulfilment.ORDER, "shop")
        self.bot.outbox.unsubscribe(fulfilment.REFUSED, "moderators")
        self.bot.outbox.unsubscribe(fulfilment.TELL, "member")
        self.bot.scheduler.unregister_timer(fulfilment.BRIEF_REMINDER)
        self.bot.scheduler.unregister_job(JOB)

    # -- the shop ----------------------------------------------------------------------------------------

    async def on_order(self, item: OutboxItem) -> None:
        connector = self.bot.shops.get(item.guild_id)
        if connector is None:
            return  # no shop in this process: the gift stays ready; the hourly retry picks it up once one is
        try:
            await self.orders.place(connector, int(item.payload["gift_id"]))
        except ShopError as exc:  # unreachable, or a connection problem already told to moderators
            raise RetryLater(str(exc)) from None

    async def on_the_hour(self, ctx: RunContext) -> None:
        await self.follow_all()

    async def follow_all(self) -> None:
        """Place what still waits for an order, then read every placed order's fulfilment."""
        for guild_id in self.bot.shops.guild_ids():
            connector = self.bot.shops.get(guild_id)
            if connector is None:
                continue
            try:
                await self.orders.retry_waiting(connector, guild_id, self.bot.clock.now())
            except ShopError as exc:
                log.info("gift orders of server %s wait: %s", guild_id, type(exc).__name__)
                continue
            report = await self.orders.follow(connector, guild_id)
            if report.changed or report.unreachable:
                log.info("gift orders of server %s: %d read, %d moved%s", guild_id, report.checked, report.changed,
                         "; the shop stopped answering" if report.unreachable else "")  # fmt: skip

    async def on_refused(self, item: OutboxItem) -> None:
        gift = await fulfilment.find_gift(self.bot.db, int(item.payload["gift_id"]))
        if gift is None:
            return
        card = refusal_card(gift, str(item.payload["error"]))
        review = await get_channel_id(self.bot.db, item.guild_id, "review")
        if review is not None:
            channel = self.bot.get_partial_messageable(review, guild_id=item.guild_id)
            try:
                await post_once(channel, author_id=self.bot.user.id if self.bot.user else 0, attempt=item.attempt,
                                embed=card, allowed_mentions=discord.AllowedMentions.none())  # fmt: skip
                return
            except discord.HTTPException as exc:
                log.warning("could not tell moderators of server %s in the review channel: %s", item.guild_id, exc)
        guild = self.bot.get_guild(item.guild_id)
        if guild is not None and guild.owner_id is not None:
            await send_dm(self.bot, item.guild_id, guild.owner_id, embed=card)

    # -- the member --------------------------------------------------------------------------------------

    async def on_tell(self, item: OutboxItem) -> None:
        step = str(item.payload["step"])
        user_id = int(item.payload["user_id"])
        if "campaign_id" in item.payload:
            campaign = await campaigns.find_campaign(self.bot.db, item.guild_id, int(item.payload["campaign_id"]))
            if campaign is not None:
                await send_dm(self.bot, item.guild_id, user_id, content=campaign_message(step, campaign))
            return
        gift = await fulfilment.find_gift(self.bot.db, int(item.payload["gift_id"]))
        if gift is None or (gift.state == "cancelled") != (step == "cancelled"):
            return  # called back since (only its cancellation is told), or the step no longer holds
        await send_dm(self.bot, item.guild_id, user_id, **step_message(step, gift, await self._brief_of(gift)))

    async def _brief_of(self, gift: fulfilment.Gift) -> tuple[str, str] | None:
        if gift.campaign_id is None:
            return None
        campaign = await campaigns.find_campaign(self.bot.db, gift.guild_id, gift.campaign_id)
        if campaign is None or campaign.brief_id is None:
            return None
        brief = await get_brief(self.bot.db, gift.guild_id, campaign.brief_id)
        return (brief.title, when(brief.due_at, "D")) if brief.status == "open" else None

    async def on_brief_reminder(self, timer: Timer, now: datetime) -> None:
        await self.bot.db.perform(fulfilment.remind_of_brief, int(timer.payload["gift_id"]),
                                  int(timer.payload["brief_id"]), now)  # fmt: skip


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(GiftDelivery(bot))
