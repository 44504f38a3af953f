"""Code pushes to the shop, and what moderators hear when the shop refuses.

Subscribes to the outbox: ``shop.code_push`` (bot/shop/code_push.py does the work), ``shop.code_refused`` and
``shop.problem`` (one post each in the review channel, or a DM to the server owner without one). A loop retries
codes still pending after the outbox's own retries (a shop down for hours), so nothing owed is ever dropped.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import discord
from discord.ext import commands

from bot.app import CollectiveBot
from bot.dm import send_dm
from bot.outbox import OutboxItem, RetryLater
from bot.posting import post_once
from bot.retry_loop import RetryLoop
from bot.services.program.bindings import get_channel_id
from bot.services.shop import code_state
from bot.services.shop.connection import PROBLEM, get_connection, record_check, record_problem, record_webhooks
from bot.shop.code_push import CodePusher
from bot.shop.connections import delivery_address
from bot.shop.errors import ShopAuthError, ShopError, ShopScopeError
from bot.ui.embeds import WARNING, clip, embed

log = logging.getLogger(__name__)

RETRY_EVERY = timedelta(minutes=10)
RETRY_AFTER = timedelta(minutes=30)  # longer than the outbox's first retries: the loop only picks up the rest


def refusal_card(code: str, user_id: int, error: str) -> discord.Embed:
    return embed(
        "⚠️ The shop refused an ambassador's code",
        clip(
            f"<@{user_id}>'s code `{code}` isn't working at checkout yet: the shop said\n> {error}\n"
            "Fix it in the shop, or give them another code with /codes; then /shop sync tries again.",
            4000,
        ),
        colour=WARNING,
    )


def problem_card(problem: str) -> discord.Embed:
    return embed(
        "⚠️ Collective can't work with the shop",
        clip(
            f"{problem}\nCodes wait until it's fixed and then go through by themselves; /shop status shows what is "
            "waiting. The operator can run `python -m bot shop check` to see exactly what is wrong.",
            4000,
        ),
        colour=WARNING,
    )


async def register_webhooks(bot: CollectiveBot, guild_id: int) -> tuple[str, int]:
    """Make sure the shop delivers this server's orders to us: (what is registered or why not, how many created)."""
    connector = bot.shops.get(guild_id)
    public_url = bot.settings.webhooks.public_url
    if connector is None:
        return "No shop is connected to this server.", 0
    if public_url is None:
        return (
            "webhooks.public_url isn't set, so the shop can't be told where to deliver orders. The operator sets it "
            "to the webhook server's public HTTPS address (README: Deployment); the hourly catch-up still reads "
            "every order in the meantime.",
            0,
        )
    address = delivery_address(public_url, connector.platform, guild_id)
    now = bot.clock.now()
    try:
        report = await connector.ensure_webhooks(address)
    except (ShopAuthError, ShopScopeError) as exc:
        await bot.db.perform(record_problem, guild_id, str(exc), now)
        return str(exc), 0
    except ShopError as exc:
        return f"The shop didn't take the webhooks: {exc}", 0
    hooks = [(s.topic, s.address) for s in (*report.kept, *report.created)]
    await bot.db.perform(record_webhooks, guild_id, hooks, now)
    log.info("webhooks of server %s: %d kept, %d created", guild_id, len(report.kept), len(report.created))
    return report.describe(), len(report.created)


class ShopPushes(commands.Cog, name="Shop pushes"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot
        self.pusher = CodePusher(bot.db, bot.clock)
        self._retry = RetryLoop(
            bot.spawn,
            bot.scheduler_started,
            self.retry_pending,
            every=RETRY_EVERY,
            name="shop-code-retry",
            what="retrying pending shop codes",
        )

    async def cog_load(self) -> None:
        self.bot.outbox.subscribe(code_state.PUSH, "shop", self.on_push)
        self.bot.outbox.subscribe(code_state.REFUSED, "moderators", self.on_refused)
        self.bot.outbox.subscribe(PROBLEM, "moderators", self.on_problem)
        self._retry.start()
        if self.bot.shops.guild_ids():
            self.bot.spawn(self._connect_shops(set(self.bot.new_shops)), name="shop-connect")

    async def _connect_shops(self, new: set[int]) -> None:
        """A shop new to its server is checked (moderators hear of a bad token or a missing scope at once) and its
        order webhooks registered; so is one whose webhooks never were (``webhooks.public_url`` set since).
        The catch-up does the 60-day backfill."""
        await self.bot.scheduler_started.wait()
        for guild_id in self.bot.shops.guild_ids():
            shop = await get_connection(self.bot.db, guild_id)
            unregistered = shop is not None and shop.webhooks_at is None and self.bot.settings.webhooks.public_url
            if guild_id not in new and not unregistered:
                continue
            check = await self.bot.shops.check(guild_id)
            if check is not None:
                problem = check.problem or (check.describe() if check.missing else None)
                await self.bot.db.perform(record_check, guild_id, check.scopes, problem, self.bot.clock.now())
            await register_webhooks(self.bot, guild_id)

    async def cog_unload(self) -> None:
        self.bot.outbox.unsubscribe(code_state.PUSH, "shop")
        self.bot.outbox.unsubscribe(code_state.REFUSED, "moderators")
        self.bot.outbox.unsubscribe(PROBLEM, "moderators")
        await self._retry.stop()

    async def on_push(self, item: OutboxItem) -> None:
        connector = self.bot.shops.get(item.guild_id)
        if connector is None:
            return  # no shop configured in this process: the code stays pending, /shop status says so
        try:
            await self.pusher.push(connector, int(item.payload["code_id"]))
        except ShopError as exc:  # unreachable, or a connection problem already told to moderators
            raise RetryLater(str(exc)) from None

    async def retry_pending(self) -> int:
        """Push every code still pending since before ``RETRY_AFTER``; stops at a shop that does not answer."""
        pushed = 0
        for guild_id in self.bot.shops.guild_ids():
            connector = self.bot.shops.get(guild_id)
            if connector is None:
                continue
            before = self.bot.clock.now() - RETRY_AFTER
            for code_id in await code_state.owed(self.bot.db, guild_id, older_than=before):
                try:
                    await self.pusher.push(connector, code_id)
                except ShopError as exc:
                    log.info("shop of server %s still unavailable (%s); retrying later", guild_id, type(exc).__name__)
                    break
                pushed += 1
        return pushed

    async def on_refused(self, item: OutboxItem) -> None:
        card = refusal_card(str(item.payload["code"]), int(item.payload["user_id"]), str(item.payload["error"]))
        await self._tell_moderators(item, card)

    async def on_problem(self, item: OutboxItem) -> None:
        await self._tell_moderators(item, problem_card(str(item.payload["problem"])))

    async def _tell_moderators(self, item: OutboxItem, card: discord.Embed) -> None:
        review = await get_channel_id(self.bot.db, item.guild_id, "review")
        if review is not None:
            channel = self.bot.get_partial_messageable(review, guild_id=item.guild_id)
            try:
                await post_once(channel, author_id=self.bot.user.id if self.bot.user else 0, attempt=item.attempt,
                                embed=card)  # fmt: skip
                return
            except discord.HTTPException as exc:
                log.warning("could not tell moderators of server %s in the review channel: %s", item.guild_id, exc)
        guild = self.bot.get_guild(item.guild_id)
        if guild is not None and guild.owner_id is not None:
            await send_dm(self.bot, item.guild_id, guild.owner_id, embed=card)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(ShopPushes(bot))
