"""/rewards for ambassadors: the catalogue with images, their points to spend, and Redeem → Confirm.

Redeem shows what it costs and what is left (nothing is written); Confirm redeems. The confirm button carries the
Redeem press's interaction id as its nonce, so a double click on it redeems once (the service finds the same
request). Both are persistent (``RecordItem``): they answer after a restart too.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

import bot.services.rewards.digest  # noqa: F401 — registers the rewards digest sections
from bot.app import CollectiveBot
from bot.checks import FOR_AMBASSADORS
from bot.errors import CollectiveError
from bot.services.program.members import require_ambassador
from bot.services.rewards import catalogue, fulfilment, redemptions
from bot.services.rewards.balance import balance
from bot.ui.base import DisplayView, RecordButton, RecordItem
from bot.ui.custom_ids import custom_id
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.markup import render
from cogs.rewards.rewards_ui import Catalogue, balance_line, confirm_text, mine_text, redeemed_text, reward_card


class RedeemButton(RecordButton, feature="reward", action="redeem"):
    """On a catalogue page: what redeeming would cost, with a Confirm button (nothing is spent yet)."""

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot, guild_id = bot_of(interaction), guild_id_of(interaction)
        offer = await redemptions.quote(bot.db, guild_id, interaction.user.id, self.record_id)
        view = DisplayView().button(
            "Confirm", custom_id("reward", "confirm", offer.reward.id, interaction.id), discord.ButtonStyle.success
        )
        await interaction.response.send_message(
            confirm_text(offer.reward, offer.left_after), view=view, ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )  # fmt: skip


class ConfirmButton(RecordItem, feature="reward", action="confirm", keys=("reward_id", "nonce")):
    """Redeems: points, stock and the redemption in one unit of work; the confirm message says how it went."""

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        bot, guild_id = bot_of(interaction), guild_id_of(interaction)
        reward_id, nonce = self.ids
        try:
            done = await bot.db.perform(
                redemptions.redeem, guild_id, interaction.user.id, reward_id, str(nonce), bot.clock.now()
            )
        except CollectiveError as exc:  # gone, not enough points, a limit: said on the confirm message itself
            await interaction.response.edit_message(content=f"⚠️ {render(exc.user_message)}", view=None)
            return
        text = redeemed_text(done.reward, done.redemption, done.balance, already=done.already)
        await interaction.response.edit_message(content=text, view=None)


class RewardStore(commands.Cog, name="Rewards"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RedeemButton, ConfirmButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RedeemButton, ConfirmButton)

    @app_commands.command(
        name="rewards", description="Spend your points: the rewards catalogue", extras=FOR_AMBASSADORS
    )
    @app_commands.guild_only()
    async def rewards(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        member = await require_ambassador(self.bot.db, guild_id, interaction.user.id)
        points = await balance(self.bot.db, guild_id, member.user_id)
        shown = await catalogue.catalogue(self.bot.db, guild_id, member.tier)
        mine = mine_text(await fulfilment.member_redemptions(self.bot.db, guild_id, member.user_id, limit=5))
        if not shown:
            text = f"No rewards in the catalogue yet. {balance_line(points)}" + (f"\n\n{mine}" if mine else "")
            await interaction.response.send_message(text, ephemeral=True)
            return
        pages, redeemable, images = [], [], {}
        for reward in shown:
            image = (
                None if reward.image_url or not reward.has_image else await catalogue.image_of(self.bot.db, reward.id)
            )
            if image is not None:
                images[reward.id] = image
            taken = await redemptions.redeemed_count(self.bot.db, guild_id, member.user_id, reward.id)
            pages.append(reward_card(reward, image=image, balance=points, redeemed=taken))
            limited = reward.per_member_limit is not None and taken >= reward.per_member_limit
            redeemable.append(not reward.sold_out and not limited and points.spendable >= reward.cost)
        view = Catalogue(shown, pages, redeemable=redeemable, images=images, owner_id=interaction.user.id)
        await view.send(interaction, content=mine)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(RewardStore(bot))
