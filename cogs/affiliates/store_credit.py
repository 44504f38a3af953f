"""Store credit on Discord: the /payouts method picker (cash or store credit, only the member sees it) and what
follows a store-credit statement's paid commit, from the outbox — the credit created in the shop
(bot/shop/store_credit.py), its code sent to the ambassador by DM once, moderators told when the shop refused it."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

import discord
from discord.ext import commands

from bot.app import CollectiveBot
from bot.errors import InvalidInput
from bot.outbox import OutboxItem, RetryLater
from bot.posting import dm_once
from bot.retry_loop import RetryLoop
from bot.services.affiliates import runs, store_credit
from bot.services.affiliates.runs import Statement, month_label
from bot.services.affiliates.store_credit import METHOD_LABELS, Credit
from bot.services.sales.payloads import format_minor
from bot.shop import store_credit as credit_push
from bot.shop.errors import ShopError
from bot.ui.base import BaseView
from bot.ui.embeds import SUCCESS, WARNING, embed
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.markup import mention
from cogs.onboarding.membership import tell_moderators

log = logging.getLogger(__name__)
RETRY_EVERY = timedelta(minutes=10)
RETRY_AFTER = timedelta(minutes=30)  # longer than the outbox's first retries: the loop picks up what it gave up on

WHAT_IT_IS = {
    "shopify": "a gift card in the brand's shop for the statement's total, its code sent to you by DM",
    "woocommerce": "a coupon in the brand's shop for the statement's total, for your email only, sent to you by DM",
}


def method_text(method: str, platform: str | None) -> str:
    if method == "store_credit":
        what = WHAT_IT_IS.get(platform or "", "store credit in the brand's shop, sent to you by DM")
        return f"**Store credit**: each statement is paid as {what}."
    return "**Cash**: each statement is paid by the brand (e.g. PayPal), with a payment reference."


class MethodView(BaseView):
    """The member's own picker: one select, the current method pre-selected; the choice is confirmed in place."""

    def __init__(self, current: str, platform: str | None, *, owner_id: int) -> None:
        super().__init__(timeout=300, owner_id=owner_id)
        self.platform = platform
        self.pick.options = [  # type: ignore[assignment]
            discord.SelectOption(label="Cash", value="cash", description="Paid by the brand, e.g. by PayPal",
                                 default=current == "cash"),
            discord.SelectOption(label="Store credit", value="store_credit",
                                 description="A gift card or coupon in the brand's shop",
                                 default=current == "store_credit"),
        ]  # fmt: skip

    @discord.ui.select(placeholder="How do you want to be paid?", min_values=1, max_values=1)
    async def pick(self, interaction: discord.Interaction[Any], select: discord.ui.Select[MethodView]) -> None:
        bot, guild_id = bot_of(interaction), guild_id_of(interaction)
        choice = select.values[0] if select.values else ""
        if choice not in METHOD_LABELS:
            raise InvalidInput("Pick cash or store credit from the list.")
        async with bot.db.transaction() as tx:
            before, after = await store_credit.set_method(tx, guild_id, interaction.user.id, choice, bot.clock.now())
        head = "✅ Saved" if before != after else "No change"
        text = (f"{head}: you're paid in {METHOD_LABELS[after]} from your next statement that gets paid.\n"
                f"{method_text(after, self.platform)}")  # fmt: skip
        self.stop()
        await interaction.response.edit_message(embed=embed("Your payout method", text, colour=SUCCESS), view=None)


def credit_dm(credit: Credit, statement: Statement, guild_name: str) -> discord.Embed:
    amount = format_minor(credit.amount_minor, credit.currency)
    if credit.platform == "woocommerce":
        how = (
            "a coupon for the amount, usable once at checkout with the email you gave the program (spend it on "
            "an order of at least that much: what one order leaves unused is not kept)"
        )
    else:
        how = "a gift card for the amount: enter its code at checkout (what's left stays on it)"
    card = embed(
        f"🎁 Your store credit: {amount}",
        f"Statement #{statement.id} ({month_label(statement.period)}) from **{guild_name}** is paid in store credit: "
        f"{how}.\n\nYour code: **`{credit.code}`**\n\nKeep it private: anyone with the code can spend it.",
        colour=SUCCESS,
    )
    card.set_footer(text="Your statements: /payouts mine")
    return card


class StoreCreditPush(commands.Cog, name="Store credit"):
    """The outbox subscribers, and a loop that pushes credits the outbox gave up on (a shop away for hours)."""

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._retry = RetryLoop(
            bot.spawn,
            bot.scheduler_started,
            self.retry_owed,
            every=RETRY_EVERY,
            name="store-credit-retry",
            what="retrying owed store credit",
        )

    async def cog_load(self) -> None:
        outbox = self.bot.outbox
        outbox.subscribe(store_credit.CREDIT_OWED, "shop", self.on_owed)
        outbox.subscribe(store_credit.CREDIT_READY, "ambassador", self.on_ready)
        outbox.subscribe(store_credit.CREDIT_REFUSED, "moderators", self.on_refused)
        self._retry.start()

    async def cog_unload(self) -> None:
        outbox = self.bot.outbox
        outbox.unsubscribe(store_credit.CREDIT_OWED, "shop")
        outbox.unsubscribe(store_credit.CREDIT_READY, "ambassador")
        outbox.unsubscribe(store_credit.CREDIT_REFUSED, "moderators")
        await self._retry.stop()

    async def push(self, guild_id: int, statement_id: int) -> credit_push.Outcome:
        """Create the credit in the server's shop (one push per statement at a time in this process)."""
        connector = self.bot.shops.get(guild_id)
        if connector is None:
            raise RetryLater("no shop is configured for this server in this process")
        async with self._locks[statement_id]:
            try:
                return await credit_push.deliver(self.bot.db, self.bot.clock, connector, statement_id)
            except ShopError as exc:  # unreachable, or a connection problem already told to moderators
                raise RetryLater(str(exc)) from None

    async def on_owed(self, item: OutboxItem) -> None:
        await self.push(item.guild_id, int(item.payload["statement_id"]))

    async def retry_owed(self) -> int:
        """Push every credit owed since before ``RETRY_AFTER``; stops at a shop that does not answer. Returns how
        many were tried."""
        tried = 0
        before = self.bot.clock.now() - RETRY_AFTER
        for guild_id in self.bot.shops.guild_ids():
            for statement_id in await store_credit.owed_credits(self.bot.db, guild_id, older_than=before):
                tried += 1
                try:
                    await self.push(guild_id, statement_id)
                except RetryLater as exc:
                    log.info("store credit in server %s not pushed yet: %s", guild_id, exc)
                    break
        return tried

    async def on_ready(self, item: OutboxItem) -> None:
        credit = await store_credit.find_credit(self.bot.db, int(item.payload["statement_id"]))
        if credit is None or credit.status != "created":
            return
        statement = await runs.get_statement(self.bot.db, item.guild_id, credit.statement_id)
        guild = self.bot.get_guild(item.guild_id)
        card = credit_dm(credit, statement, guild.name if guild is not None else "the program")
        delivery = await dm_once(self.bot, item.guild_id, credit.user_id, attempt=item.attempt, embed=card)
        if delivery != "sent":
            log.info("store credit of statement %s not delivered by DM: %s", credit.statement_id, delivery)
            await tell_moderators(self.bot, item.guild_id, f"⚠️ {mention(credit.user_id)}'s store credit for "
                                  f"statement #{credit.statement_id} couldn't be sent by DM ({delivery}); they can "
                                  "see its code in /payouts mine.")  # fmt: skip

    async def on_refused(self, item: OutboxItem) -> None:
        credit = await store_credit.find_credit(self.bot.db, int(item.payload["statement_id"]))
        if credit is None or credit.status != "refused":
            return
        amount = format_minor(credit.amount_minor, credit.currency)
        card = embed("⚠️ Store credit not created",
                     f"Statement #{credit.statement_id} for {mention(credit.user_id)} ({amount}) is marked paid in "
                     f"store credit, but the shop refused it: {credit.problem}\nPay it another way and tell them.",
                     colour=WARNING)  # fmt: skip
        await tell_moderators(self.bot, item.guild_id, card=card)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(StoreCreditPush(bot))
