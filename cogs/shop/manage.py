"""/shop for moderators: status (connection, webhooks, catch-up, codes waiting), sync, webhooks, and the discount."""

from __future__ import annotations

import time
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import ModeratorGroup
from bot.errors import NotAllowed
from bot.services.program import audit
from bot.services.shop import code_state, discounts
from bot.services.shop.connection import ShopConnection, get_connection
from bot.shop.check import ShopCheck
from bot.shop.code_push import SyncReport, sync_codes
from bot.shop.connections import ShopConnections
from bot.text import plural
from bot.ui.choices import tier_choices
from bot.ui.embeds import DANGER, SUCCESS, WARNING, add_field, clip, embed
from bot.ui.interactions import guild_id_of
from cogs.shop.code_push import register_webhooks

PROGRESS_EVERY = 2.0  # seconds between progress edits of a long sync
NOT_CONNECTED = (
    "No shop is connected to this server. The operator adds it to Collective's configuration "
    "(README: Connecting your shop); codes then follow every change by themselves."
)


def _when(moment: Any) -> str:
    return "never" if moment is None else discord.utils.format_dt(moment, "R")


def status_card(
    shop: ShopConnection, check: ShopCheck | None, counts: code_state.CodeCounts,
    refusals: list[code_state.Refusal], settings: list[discounts.DiscountSetting], *, configured: bool,
) -> discord.Embed:  # fmt: skip
    problem = check.problem if check is not None else shop.problem
    missing_scopes = check.missing if check is not None else ()
    healthy = configured and problem is None and not missing_scopes and not counts.failed
    card = embed(f"🛒 {shop.shop}", colour=SUCCESS if healthy else WARNING)
    connected = f"{shop.platform.capitalize()}, connected {_when(shop.connected_at)}"
    if not configured:
        connected += "\n⚠️ Not in the current configuration: nothing is pushed or caught up."
    add_field(card, "Connection", connected)
    if problem:
        add_field(card, "Problem", clip(problem, 1000))
    scopes = ", ".join(check.scopes if check is not None else shop.scopes) or "not checked yet"
    if missing_scopes:
        scopes += f"\n⚠️ Missing: {', '.join(missing_scopes)}"
    add_field(card, "Access scopes", clip(scopes, 1000))
    hooks = "\n".join(f"`{topic}` → {clip(address, 120)}" for topic, address in shop.webhooks)
    add_field(card, f"Webhooks (checked {_when(shop.webhooks_at)})", clip(hooks or "None registered", 1000))
    catch_up = f"Last run {_when(shop.caught_up_at)}"
    if shop.orders_cursor is not None:
        catch_up += f", read up to {discord.utils.format_dt(shop.orders_cursor, 'f')}"
    if shop.backfill_done_at is None and shop.backfill_from is not None:
        catch_up += f"\n⏳ Backfill of orders since {discord.utils.format_dt(shop.backfill_from, 'D')} in progress"
    add_field(card, "Catch-up of missed orders", catch_up)
    lines = [f"{counts.live:,} live", f"{counts.pending:,} being activated", f"{counts.failed:,} refused"]
    codes = " · ".join(lines)
    if counts.missing:
        codes += f"\n{plural(counts.missing, 'code')} never sent to the shop: run /shop sync."
    add_field(card, f"Codes (last sync {_when(shop.synced_at)})", codes)
    if refusals:
        text = "\n".join(f"`{r.code}` (<@{r.user_id}>): {clip(r.error, 160)}" for r in refusals)
        add_field(card, "Refused by the shop", clip(text, 1000))
    given = "\n".join(f"**{s.tier or 'Everyone'}**: {s.discount.describe()}" for s in settings)
    add_field(card, "What codes give", clip(given, 1000))
    return card


def sync_card(report: SyncReport, total: int, *, done: bool) -> discord.Embed:
    title = "✅ Codes synced with the shop" if done else "⏳ Syncing codes with the shop"
    colour = SUCCESS if done and not report.refused and report.unreachable is None else WARNING
    if report.unreachable is not None:
        title, colour = "⚠️ Sync stopped: the shop isn't answering", DANGER
    card = embed(title, f"{report.checked:,} of {total:,} checked", colour=colour)
    changed = ", ".join(f"{n:,} {what}" for what, n in sorted((report.changed or {}).items()))
    add_field(card, "Changed in the shop", changed or "Nothing: the shop already matched", inline=True)
    add_field(card, "Refused", str(report.refused), inline=True)
    if report.unreachable is not None:
        add_field(card, "Why it stopped", clip(report.unreachable, 1000) + "\nRun /shop sync again later.")
    return card


class ShopAdmin(commands.Cog, name="Shop"):
    shop = ModeratorGroup(name="shop", description="The brand's shop: codes, webhooks, missed orders", guild_only=True)

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    @property
    def shops(self) -> ShopConnections:
        return self.bot.shops

    @shop.command(name="status", description="Is the shop connected, and are codes, webhooks and orders in step?")
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        shop = await get_connection(self.bot.db, guild_id)
        if shop is None:
            await interaction.followup.send(NOT_CONNECTED, ephemeral=True)
            return
        check = await self.shops.check(guild_id)  # asked now, shown as it is: a read changes nothing
        card = status_card(
            shop,
            check,
            await code_state.counts(self.bot.db, guild_id),
            await code_state.refusals(self.bot.db, guild_id),
            await discounts.list_discounts(self.bot.db, guild_id),
            configured=self.shops.get(guild_id) is not None,
        )
        await interaction.followup.send(embed=card, ephemeral=True)

    @shop.command(name="sync", description="Create or repair every ambassador code in the shop (safe to re-run)")
    async def sync(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        connector = self.shops.get(guild_id)
        if connector is None:
            raise NotAllowed(NOT_CONNECTED)
        await interaction.response.defer(ephemeral=True, thinking=True)
        total = len(await code_state.sync_candidates(self.bot.db, guild_id))
        last = time.monotonic()

        async def progress(done: int, _total: int, report: SyncReport) -> None:
            nonlocal last
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                await interaction.edit_original_response(embed=sync_card(report, total, done=False))

        cog = self.bot.get_cog("Shop pushes")
        pusher = getattr(cog, "pusher", None)
        assert pusher is not None, "the shop extension loads its push cog with this one"
        now = self.bot.clock.now()
        report = await sync_codes(pusher, self.bot.db, connector, guild_id, now, progress=progress)
        async with self.bot.db.transaction() as tx:
            await audit.record(tx, guild_id, interaction.user.id, "shop.sync", None, now, checked=report.checked,
                               changed=sum((report.changed or {}).values()), refused=report.refused)  # fmt: skip
        await interaction.edit_original_response(embed=sync_card(report, total, done=True))

    @shop.command(name="webhooks", description="Register the order webhooks in the shop (keeps existing ones)")
    async def webhooks(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        if self.shops.get(guild_id) is None:
            raise NotAllowed(NOT_CONNECTED)
        await interaction.response.defer(ephemeral=True, thinking=True)
        report, created = await register_webhooks(self.bot, guild_id)
        if created:  # only a change in the shop is an action; finding them all there is a read
            now = self.bot.clock.now()
            async with self.bot.db.transaction() as tx:
                await audit.record(tx, guild_id, interaction.user.id, "shop.webhooks", None, now, created=created)
        card = embed("🔔 Order webhooks", clip(report, 4000), colour=SUCCESS)
        await interaction.followup.send(embed=card, ephemeral=True)

    @shop.command(name="discount", description="What ambassador codes give at checkout (for everyone or one tier)")
    @app_commands.describe(
        kind="A percentage or a fixed amount off the order",
        value="The percentage (1–100) or the amount, e.g. 15 or 5.00",
        currency="The shop's currency for a fixed amount or a minimum order, e.g. EUR",
        tier="Only for this tier's members (leave empty for everyone)",
        once_per_customer="Each customer may use a code only once (default: yes)",
        minimum="A minimum order subtotal, e.g. 30.00",
        combines_with_shipping="Can be used with shipping discounts (default: yes)",
        combines_with_order="Can be used with other order discounts (default: no)",
        combines_with_product="Can be used with product discounts (default: no)",
    )
    @app_commands.autocomplete(tier=tier_choices)
    async def discount(
        self,
        interaction: discord.Interaction[Any],
        kind: Literal["percentage", "fixed"],
        value: str,
        currency: str | None = None,
        tier: str | None = None,
        once_per_customer: bool = True,
        minimum: str | None = None,
        combines_with_shipping: bool = True,
        combines_with_order: bool = False,
        combines_with_product: bool = False,
    ) -> None:
        guild_id = guild_id_of(interaction)
        given = discounts.parse_discount(
            kind, value, currency=currency, once_per_customer=once_per_customer, minimum=minimum,
            combines_order=combines_with_order, combines_product=combines_with_product,
            combines_shipping=combines_with_shipping,
        )  # fmt: skip
        now = self.bot.clock.now()
        async with self.bot.db.transaction() as tx:
            updated = await discounts.set_discount(tx, guild_id, tier, given, now, actor_id=interaction.user.id)
        who = f"the `{tier}` tier" if tier else "every ambassador"
        follow = f"\n{plural(updated, 'code')} will be updated in the shop." if updated else ""
        await interaction.response.send_message(f"✅ Codes for {who} now give: {given.describe()}.{follow}",
                                                ephemeral=True)  # fmt: skip


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(ShopAdmin(bot))
