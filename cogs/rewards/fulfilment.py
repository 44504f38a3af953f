"""What follows a redemption, after its commit: the shop code created and DM'd, the role given and taken back on
time, the perk posted to the moderators' queue (Mark given / Cancel), and the member told when points come back.

Outbox subscriptions: ``rewards.code_owed`` (bot/shop/reward_codes.py does the shop's part), ``rewards.code_ready``
and ``rewards.notice`` (DMs), ``rewards.role_owed`` (the role), ``rewards.handout`` (the queue post). The
``reward-role-end`` timer takes a role back, also after a restart. A loop retries codes the outbox gave up on (a shop
down for hours) and, after a day, gives the member their points back instead.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import discord
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import require_moderator
from bot.interaction_errors import explain_refusal
from bot.outbox import OutboxItem, RetryLater
from bot.posting import dm_once, post_once
from bot.retry_loop import RetryLoop
from bot.scheduler import Timer
from bot.services.program.bindings import get_channel_id
from bot.services.rewards import fulfilment, redemptions
from bot.services.rewards.catalogue import get_reward
from bot.shop import reward_codes
from bot.shop.errors import ShopError
from bot.ui.base import BaseModal, DisplayView, RecordButton
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import SUCCESS, embed
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.markup import mention
from cogs.onboarding.membership import tell_moderators
from cogs.rewards.rewards_ui import code_dm, handout_card, notice_dm

log = logging.getLogger(__name__)

RETRY_EVERY = timedelta(minutes=10)
RETRY_AFTER = timedelta(minutes=30)  # longer than the outbox's own first retries: the loop picks up the rest


class GivenButton(RecordButton, feature="redemption", action="given"):
    moderator_only = True

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot, guild_id = bot_of(interaction), guild_id_of(interaction)
        done = await bot.db.perform(fulfilment.mark_given, guild_id, self.record_id, bot.clock.now(),
                                    actor_id=interaction.user.id)  # fmt: skip
        card = embed("✅ Handed out", f"Redemption #{done.id} for {mention(done.user_id)}: marked given by "
                     f"{mention(interaction.user.id)}. They're told by DM.", colour=SUCCESS)  # fmt: skip
        await interaction.response.edit_message(embed=card, view=None, allowed_mentions=discord.AllowedMentions.none())


class CancelModal(BaseModal, title="Cancel the redemption"):
    reason: discord.ui.TextInput[CancelModal] = discord.ui.TextInput(
        label="Why? (the member is told)", max_length=200, custom_id="reason"
    )

    def __init__(self, redemption_id: int) -> None:
        super().__init__(custom_id=custom_id("redemption", "cancel-form", redemption_id))
        self.redemption_id = redemption_id

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = await require_moderator(interaction)
        bot = bot_of(interaction)
        closed = await bot.db.perform(redemptions.cancel, guild_id, self.redemption_id, self.reason.value,
                                      bot.clock.now(), actor_id=interaction.user.id)  # fmt: skip
        card = embed("↩️ Cancelled", f"Redemption #{closed.id} for {mention(closed.user_id)}: the points are back and "
                     "they're told by DM.", colour=SUCCESS)  # fmt: skip
        if interaction.message is not None:
            await interaction.response.edit_message(embed=card, view=None)
        else:
            await interaction.response.send_message(embed=card, ephemeral=True)


class CancelRedemptionButton(RecordButton, feature="redemption", action="cancel"):
    moderator_only = True

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_modal(CancelModal(self.record_id))


class RewardFulfilment(commands.Cog, name="Reward fulfilment"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot
        self._retry = RetryLoop(
            bot.spawn,
            bot.scheduler_started,
            self.retry_owed,
            every=RETRY_EVERY,
            name="reward-code-retry",
            what="retrying owed reward codes",
        )

    async def cog_load(self) -> None:
        outbox = self.bot.outbox
        outbox.subscribe(redemptions.CODE_OWED, "shop", self.on_code_owed)
        outbox.subscribe(redemptions.CODE_READY, "member", self.on_code_ready)
        outbox.subscribe(redemptions.ROLE_OWED, "discord", self.on_role_owed)
        outbox.subscribe(redemptions.HANDOUT, "moderators", self.on_handout)
        outbox.subscribe(redemptions.NOTICE, "member", self.on_notice)
        self.bot.scheduler.register_timer(redemptions.ROLE_END, self.on_role_end)
        self.bot.add_dynamic_items(GivenButton, CancelRedemptionButton)
        self._retry.start()

    async def cog_unload(self) -> None:
        outbox = self.bot.outbox
        outbox.unsubscribe(redemptions.CODE_OWED, "shop")
        outbox.unsubscribe(redemptions.CODE_READY, "member")
        outbox.unsubscribe(redemptions.ROLE_OWED, "discord")
        outbox.unsubscribe(redemptions.HANDOUT, "moderators")
        outbox.unsubscribe(redemptions.NOTICE, "member")
        self.bot.scheduler.unregister_timer(redemptions.ROLE_END)
        self.bot.remove_dynamic_items(GivenButton, CancelRedemptionButton)
        await self._retry.stop()

    # -- shop codes -------------------------------------------------------------------------------------------

    async def on_code_owed(self, item: OutboxItem) -> None:
        connector = self.bot.shops.get(item.guild_id)
        if connector is None:
            return  # no shop configured in this process: it waits (the retry loop gives up after a day)
        try:
            await reward_codes.deliver(self.bot.db, self.bot.clock, connector, int(item.payload["redemption_id"]))
        except ShopError as exc:  # unreachable, or a connection problem already told to moderators
            raise RetryLater(str(exc)) from None

    async def on_code_ready(self, item: OutboxItem) -> None:
        redemption = await redemptions.find_redemption(self.bot.db, int(item.payload["redemption_id"]))
        if redemption is None or redemption.code is None:
            return
        reward = await get_reward(self.bot.db, redemption.guild_id, redemption.reward_id)
        await self._dm(redemption.guild_id, redemption.user_id, item.attempt,
                            code_dm(redemption, reward, self._guild_name(redemption.guild_id)))  # fmt: skip

    async def retry_owed(self) -> int:
        """Deliver every code still owed since before ``RETRY_AFTER``; give up on those a day old. Returns how many
        were tried."""
        tried = 0
        now = self.bot.clock.now()
        for guild_id in self.bot.shops.guild_ids():
            connector = self.bot.shops.get(guild_id)
            if connector is None:
                continue
            for redemption_id in await fulfilment.owed_codes(self.bot.db, guild_id, older_than=now - RETRY_AFTER):
                tried += 1
                try:
                    await reward_codes.deliver(self.bot.db, self.bot.clock, connector, redemption_id)
                except ShopError as exc:
                    log.info("shop of server %s still unavailable (%s); retrying later", guild_id, type(exc).__name__)
                    break
        for row in await self.bot.db.fetchall(
            "SELECT DISTINCT guild_id FROM redemptions WHERE kind = 'code' AND status = 'pending'"
        ):
            await reward_codes.give_up_stale(self.bot.db, self.bot.clock, int(row[0]))
        return tried

    # -- roles ------------------------------------------------------------------------------------------------

    async def on_role_owed(self, item: OutboxItem) -> None:
        redemption_id = int(item.payload["redemption_id"])
        grant = await fulfilment.role_grant(self.bot.db, redemption_id)
        redemption = await redemptions.find_redemption(self.bot.db, redemption_id)
        if grant is None or redemption is None or redemption.status != "pending":
            return
        guild = self.bot.get_guild(grant.guild_id)
        member = guild.get_member(grant.user_id) if guild is not None else None
        role = guild.get_role(grant.role_id) if guild is not None else None
        problem = None
        if guild is None or member is None:
            problem = "you're no longer in the server"
        elif role is None:
            problem = "the reward's role no longer exists"
        else:
            try:
                await member.add_roles(role, reason=f"Reward redemption #{redemption_id}")
            except discord.Forbidden as exc:
                problem = "Discord didn't let the bot give the role"
                why = explain_refusal(exc, bot_role=guild.me.top_role.name)
                await tell_moderators(self.bot, grant.guild_id, f"⚠️ A reward's role couldn't be given to "
                                      f"{mention(grant.user_id)} (redemption #{redemption_id}): {why}")  # fmt: skip
        now = self.bot.clock.now()
        if problem is not None:
            await self.bot.db.perform(redemptions.refund, redemption_id, "failed", problem, now)
            return
        await self.bot.db.perform(fulfilment.record_role_given, redemption_id, now)

    async def on_role_end(self, timer: Timer, now: datetime) -> None:
        redemption_id = int(timer.payload["redemption_id"])
        grant = await fulfilment.role_grant(self.bot.db, redemption_id)
        redemption = await redemptions.find_redemption(self.bot.db, redemption_id)
        if grant is None or redemption is None or redemption.status != "fulfilled":
            return
        if not await fulfilment.role_still_held(self.bot.db, grant, now):
            guild = self.bot.get_guild(grant.guild_id)
            member = guild.get_member(grant.user_id) if guild is not None else None
            role = guild.get_role(grant.role_id) if guild is not None else None
            if member is not None and role is not None and member.get_role(role.id) is not None:
                await member.remove_roles(role, reason=f"Reward redemption #{redemption_id} ended")
        await self.bot.db.perform(fulfilment.record_role_removed, redemption_id, now)

    # -- perks and notices ------------------------------------------------------------------------------------

    async def on_handout(self, item: OutboxItem) -> None:
        redemption = await redemptions.find_redemption(self.bot.db, int(item.payload["redemption_id"]))
        if redemption is None or redemption.status != "pending":
            return
        reward = await get_reward(self.bot.db, redemption.guild_id, redemption.reward_id)
        review = await get_channel_id(self.bot.db, item.guild_id, "review")
        if review is None:
            log.warning("server %s has no review channel: perk redemption #%d waits in /reward list", item.guild_id,
                        redemption.id)  # fmt: skip
            return
        view = (
            DisplayView()
            .button("Mark given", custom_id("redemption", "given", redemption.id), discord.ButtonStyle.success)
            .button("Cancel", custom_id("redemption", "cancel", redemption.id), discord.ButtonStyle.danger)
        )
        channel = self.bot.get_partial_messageable(review, guild_id=item.guild_id)
        await post_once(channel, author_id=self._me(), attempt=item.attempt, embed=handout_card(redemption, reward),
                        view=view, allowed_mentions=discord.AllowedMentions.none())  # fmt: skip

    async def on_notice(self, item: OutboxItem) -> None:
        redemption = await redemptions.find_redemption(self.bot.db, int(item.payload["redemption_id"]))
        if redemption is None:
            return
        reward = await get_reward(self.bot.db, redemption.guild_id, redemption.reward_id)
        card = notice_dm(str(item.payload["event"]), redemption, reward, self._guild_name(redemption.guild_id))
        await self._dm(redemption.guild_id, redemption.user_id, item.attempt, card)

    # -- helpers ----------------------------------------------------------------------------------------------

    def _me(self) -> int:
        return self.bot.user.id if self.bot.user is not None else 0

    async def _dm(self, guild_id: int, user_id: int, attempt: int, card: discord.Embed) -> None:
        await dm_once(self.bot, guild_id, user_id, attempt=attempt, embed=card)

    def _guild_name(self, guild_id: int) -> str:
        guild = self.bot.get_guild(guild_id)
        return guild.name if guild is not None else "the program"


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(RewardFulfilment(bot))
