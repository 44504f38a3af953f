"""/payouts: run a closed month (statements for review, Mark paid), the commission rules per tier, the holding
period and minimum payouts, exports (generic CSV, PayPal bulk upload) — and /payouts mine and /payouts method (cash
or store credit) for ambassadors."""

from __future__ import annotations

import io
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import FOR_AMBASSADORS, moderator_only
from bot.errors import NotFound
from bot.services.affiliates import rules, runs, store_credit
from bot.services.affiliates.runs import month_label
from bot.services.affiliates.store_credit import METHOD_LABELS
from bot.services.program.guild_settings import get_settings
from bot.services.program.members import require_ambassador
from bot.services.program.tiers import list_tiers
from bot.services.sales.payloads import format_minor
from bot.services.shop.connection import get_connection
from bot.text import plural
from bot.ui.choices import tier_choices
from bot.ui.embeds import add_field, embed
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.paginator import Paginator
from cogs.affiliates.statements import ReviewPager, statement_card
from cogs.affiliates.store_credit import MethodView, method_text


async def period_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    """The months that have ended, newest first; months already run say so."""
    bot, guild_id = bot_of(interaction), guild_id_of(interaction)
    zone = (await get_settings(bot.db, guild_id)).zone
    done = {r[0] for r in await bot.db.fetchall("SELECT period FROM payout_runs WHERE guild_id = ?", (guild_id,))}
    months = sorted(set(runs.closed_months(bot.clock.now(), zone)) | done, reverse=True)
    typed = current.strip().lower()
    return [
        app_commands.Choice(name=f"{month_label(m)}{' (run)' if m in done else ''}", value=m)
        for m in months
        if typed in m or typed in month_label(m).lower()
    ][:25]


async def currency_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    """Currencies the program has sold in (any 3-letter code can still be typed)."""
    rows = await bot_of(interaction).db.fetchall(
        "SELECT DISTINCT currency FROM sales WHERE guild_id = ? ORDER BY currency", (guild_id_of(interaction),)
    )
    seen = [r[0] for r in rows] or ["EUR", "USD", "GBP"]
    return [app_commands.Choice(name=c, value=c) for c in seen if current.strip().upper() in c][:25]


class Payouts(commands.Cog, name="Payouts"):
    payouts = app_commands.Group(name="payouts", description="Commission statements and payouts", guild_only=True)

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    # -- moderators -------------------------------------------------------------------------------------

    @payouts.command(name="run", description="Statements for a month that has ended: review, then Mark paid")
    @app_commands.describe(period="The month (default: last month); running it again shows the same run")
    @app_commands.autocomplete(period=period_choices)
    @moderator_only()
    async def run(self, interaction: discord.Interaction[Any], period: str | None = None) -> None:
        guild_id = guild_id_of(interaction)
        zone = (await get_settings(self.bot.db, guild_id)).zone
        now = self.bot.clock.now()
        month = period or runs.closed_months(now, zone, 1)[0]
        async with self.bot.db.transaction() as tx:
            made = await runs.run_period(tx, guild_id, month, zone, now, actor_id=interaction.user.id)
        await ReviewPager(made, owner_id=interaction.user.id).send(interaction)

    @payouts.command(name="rules", description="Commission rules of a tier: rate, first-order rate, bonus per order")
    @app_commands.describe(
        tier="The tier",
        rate="% of net sales, e.g. 10 or 12.5",
        first_order_rate="% on a buyer's first order with the brand ('none' to remove)",
        bonus="Fixed bonus per order, e.g. 2.00 (0 removes it); needs currency",
        currency="The bonus's currency: only orders in it earn the bonus",
    )
    @app_commands.autocomplete(tier=tier_choices, currency=currency_choices)
    @moderator_only()
    async def rules_command(
        self,
        interaction: discord.Interaction[Any],
        tier: str,
        rate: str | None = None,
        first_order_rate: str | None = None,
        bonus: str | None = None,
        currency: str | None = None,
    ) -> None:
        guild_id = guild_id_of(interaction)
        async with self.bot.db.transaction() as tx:
            changed, rule = await rules.set_rule(
                tx, guild_id, tier, self.bot.clock.now(), actor_id=interaction.user.id, rate=rate,
                first_order_rate=first_order_rate, bonus=bonus, currency=currency,
            )  # fmt: skip
        await interaction.response.send_message(f"✅ **{changed.name}**: {rule.describe()}.", ephemeral=True)

    @payouts.command(name="settings", description="Holding period and minimum payout per currency")
    @app_commands.describe(
        hold_days="Days after the order before commission is payable (default 30)",
        minimum="Minimum payout, e.g. 50 (0 removes it); below it a statement is carried over",
        currency="The minimum's currency",
    )
    @app_commands.autocomplete(currency=currency_choices)
    @moderator_only()
    async def settings(
        self,
        interaction: discord.Interaction[Any],
        hold_days: app_commands.Range[int, 0, 365] | None = None,
        minimum: str | None = None,
        currency: str | None = None,
    ) -> None:
        guild_id = guild_id_of(interaction)
        if hold_days is None and minimum is None and currency is None:
            current = await rules.get_payout_settings(self.bot.db, guild_id)
        else:
            async with self.bot.db.transaction() as tx:
                current = await rules.set_payout_settings(
                    tx, guild_id, self.bot.clock.now(), actor_id=interaction.user.id, hold_days=hold_days,
                    minimum=minimum, currency=currency,
                )  # fmt: skip
        card = embed("Payout settings")
        add_field(card, "Holding period", f"{plural(current.hold_days, 'day')} after the order", inline=True)
        minimums = ", ".join(format_minor(v, c) for c, v in sorted(current.minimums.items()))
        add_field(card, "Minimum payout", minimums or "none", inline=True)
        by_tier = await rules.rules_by_tier(self.bot.db, guild_id)
        lines = [f"**{t.name}**: {by_tier[t.key].describe()}" for t in await list_tiers(self.bot.db, guild_id)]
        add_field(card, "Commission rules (/payouts rules)", "\n".join(lines) or "No tiers yet.")
        await interaction.response.send_message(embed=card, ephemeral=True)

    @payouts.command(name="export", description="A run's statements as a CSV: generic, or PayPal's bulk upload")
    @app_commands.describe(period="The month that was run", layout="Which file")
    @app_commands.autocomplete(period=period_choices)
    @app_commands.choices(
        layout=[
            app_commands.Choice(name="Generic CSV (every statement)", value="generic"),
            app_commands.Choice(name="PayPal Payouts bulk upload (statements to pay)", value="paypal"),
        ]
    )
    @moderator_only()
    async def export(self, interaction: discord.Interaction[Any], period: str, layout: str = "generic") -> None:
        guild_id = guild_id_of(interaction)
        found = await runs.find_run(self.bot.db, guild_id, period.strip())
        if found is None:
            raise NotFound(f"{period.strip()[:20]} hasn't been run yet: /payouts run first.")
        if layout != "paypal":
            data = runs.generic_csv(found.statements)
            await interaction.response.send_message(
                f"📄 {plural(len(found.statements), 'statement')} for {month_label(found.period)}.",
                file=discord.File(io.BytesIO(data), filename=f"statements-{found.period}.csv"),
                ephemeral=True,
            )
            return
        paypal = await runs.paypal_export(self.bot.db, guild_id, found.statements)
        files = [
            discord.File(io.BytesIO(data), filename=f"paypal-payouts-{found.period}-{currency}.csv")
            for currency, data in paypal.files.items()
        ][:10]
        text = f"💸 PayPal bulk upload for {month_label(found.period)}: one file per currency (PayPal's rule)."
        if not files:
            text = f"Nothing to pay by PayPal for {month_label(found.period)}."
        if paypal.missing_email:
            names = ", ".join(f"#{s.id} {s.display_name}" for s in paypal.missing_email[:10])
            text += f"\n⚠️ No email on file, left out (pay another way): {names}"
        await interaction.response.send_message(text[:2000], files=files, ephemeral=True)

    # -- ambassadors ------------------------------------------------------------------------------------

    @payouts.command(name="method", description="Be paid in cash or in store credit", extras=FOR_AMBASSADORS)
    async def method(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        await require_ambassador(self.bot.db, guild_id, interaction.user.id)
        current = await store_credit.get_method(self.bot.db, guild_id, interaction.user.id)
        shop = await get_connection(self.bot.db, guild_id)
        platform = shop.platform if shop is not None else None
        text = f"You're paid in {METHOD_LABELS[current]}.\n{method_text(current, platform)}"
        if shop is None:
            text += "\n\nStore credit isn't available: the brand's shop isn't connected to Collective."
        await interaction.response.send_message(
            embed=embed("Your payout method", text),
            view=MethodView(current, platform, owner_id=interaction.user.id),
            ephemeral=True,
        )

    @payouts.command(name="mine", description="Your payout statements", extras=FOR_AMBASSADORS)
    async def mine(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        found = await runs.statements_of_member(self.bot.db, guild_id, interaction.user.id)
        if not found:  # someone paid while an ambassador who has left still sees their statements
            await require_ambassador(self.bot.db, guild_id, interaction.user.id)
        codes = await store_credit.codes_of_member(self.bot.db, guild_id, interaction.user.id)
        if not found:
            await interaction.response.send_message(
                "No statements yet. Commission is payable after the holding period and paid month by month;"
                " /code shows what is pending and payable.",
                ephemeral=True,
            )
            return
        cards = []
        for s in found:
            card = statement_card(s)
            if s.id in codes:
                add_field(card, "Store credit code (only you see this)", f"`{codes[s.id]}`")
            cards.append(card)
        await Paginator(cards, owner_id=interaction.user.id).send(interaction)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Payouts(bot))
