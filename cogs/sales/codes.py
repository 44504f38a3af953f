"""/code for ambassadors; /codes for moderators: vanity codes, regenerate, deactivate, CSV import, manual sales,
the per-ambassador report with fraud flags, payouts CSV, and the sales settings."""

from __future__ import annotations

import io
import time
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

import bot.services.sales.digest  # noqa: F401 — registers the sales digest sections and chart metrics
from bot.app import CollectiveBot
from bot.checks import FOR_AMBASSADORS, ModeratorGroup
from bot.errors import InvalidInput, NotAllowed
from bot.services.affiliates import commission
from bot.services.program import audit
from bot.services.program.guild_settings import get_settings
from bot.services.program.members import find_member, require_ambassador
from bot.services.sales import codes, fraud
from bot.services.sales import reports as sales_reports
from bot.services.sales.csv_import import ImportReport, import_shopify_csv
from bot.services.sales.orders import get_sales_settings, record_manual_sale, set_sales_settings
from bot.services.sales.payloads import format_minor
from bot.services.sales.reports import PERIOD_LABELS, MemberLine, Totals
from bot.services.shop.code_state import shop_state
from bot.text import plural
from bot.ui.embeds import SUCCESS, WARNING, add_field, clip, embed
from bot.ui.interactions import guild_id_of
from bot.ui.paginator import Paginator, line_pages

MAX_IMPORT_BYTES = 25 * 1024 * 1024
REPORT_LINES_PER_PAGE = 10
PeriodChoice = Literal["week", "last_week", "month", "last_month", "all"]
SHOP_STATE_NOTE = {
    "pending": "\n⏳ Your code is being activated in the shop: give it a few minutes before sharing it.",
    "failed": "\n⚠️ The shop hasn't accepted your code yet; the moderators know and are on it.",
}


def totals_text(rows: list[Totals]) -> str:
    if not rows:
        return "No orders yet."
    lines = []
    for t in rows:
        text = f"{plural(t.orders, 'order')} · {format_minor(t.revenue_minor, t.currency)}"
        if t.refund_count:
            # What the ambassador is paid on is the net: say it, rather than leave them to subtract.
            text += (
                f" · {plural(t.refund_count, 'refund')} −{format_minor(t.refunds_minor, t.currency)}"
                f" · net **{format_minor(t.net_minor, t.currency)}**"
            )
        lines.append(text)
    return "\n".join(lines)


def member_line(line: MemberLine) -> str:
    t = line.totals
    text = (
        f"<@{line.user_id}> `{clip(line.codes, 60)}` — {plural(t.orders, 'order')}, "
        f"{format_minor(t.revenue_minor, t.currency)}"
        f", refunds {format_minor(t.refunds_minor, t.currency)}, net **{format_minor(t.net_minor, t.currency)}**"
    )
    if line.commission_bp:
        text += f", commission {format_minor(line.commission_minor, t.currency)} ({line.commission_bp / 100:g}%)"
    return text


def import_summary(report: ImportReport, filename: str, *, done: bool) -> discord.Embed:
    title = f"{'✅ Imported' if done else '⏳ Importing'} {clip(filename, 80)}"
    card = embed(title, colour=SUCCESS if done and not report.rejected_count else WARNING)
    add_field(card, "Orders read", f"{report.orders_read:,} ({plural(report.rows_read, 'row')})", inline=True)
    add_field(card, "Attributed", str(report.attributed), inline=True)
    add_field(card, "Duplicates skipped", str(report.duplicates), inline=True)
    if done:
        add_field(card, "Not attributed", f"{report.unattributed} paid without a known code, {report.unpaid} unpaid")
        unknown = ", ".join(f"`{code}` ×{n}" for code, n in sorted(report.unknown_codes.items(), key=lambda i: -i[1]))
        add_field(card, f"Unknown codes ({len(report.unknown_codes)})", clip(unknown or "None", 1000))
        rejected = "\n".join(f"line {line}: {reason}" for line, reason in report.rejected[:10])
        more = f"\n… and {report.rejected_count - 10} more (attached)" if report.rejected_count > 10 else ""
        add_field(card, f"Rejected rows ({report.rejected_count})", clip((rejected or "None") + more, 1000))
        if report.resumed:
            card.set_footer(text="An earlier, interrupted import of this file was completed.")
    return card


class Codes(commands.Cog, name="Codes & sales"):
    codes_group = ModeratorGroup(name="codes", description="Ambassador codes and sales (moderators)", guild_only=True)

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    # -- ambassadors ------------------------------------------------------------------------------------

    @app_commands.command(
        name="code", description="Your discount code, a line to share, and your sales", extras=FOR_AMBASSADORS
    )
    @app_commands.guild_only()
    async def code(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        await require_ambassador(self.bot.db, guild_id, interaction.user.id)
        current = await codes.current_code(self.bot.db, guild_id, interaction.user.id)
        if current is None:
            raise NotAllowed("You don't have an active code right now; a moderator can give you one.")
        settings = await get_settings(self.bot.db, guild_id)
        numbers = await sales_reports.my_numbers(
            self.bot.db, guild_id, interaction.user.id, self.bot.clock.now(), settings.zone
        )
        brand = interaction.guild.name if interaction.guild else "our shop"
        card = embed(f"Your code: {current.code}")
        card.description = f"Share it:\n> Use my code **{current.code}** for a discount at {clip(brand, 80)} ✨"
        if current.status == "paused":
            card.description += "\n⏸️ Your code is paused at the moment."
        else:
            card.description += SHOP_STATE_NOTE.get(await shop_state(self.bot.db, current.id) or "live", "")
        for span, rows in numbers.periods:
            add_field(card, span.label, totals_text(rows), inline=span.kind != "all")
        owed = await commission.balances(self.bot.db, guild_id, interaction.user.id, self.bot.clock.now())
        if numbers.commission_bp or owed:
            text = "\n".join(
                f"{format_minor(b.pending_minor, b.currency)} pending · "
                f"{format_minor(b.payable_minor, b.currency)} payable"
                for b in owed
            )
            add_field(card, f"Commission ({numbers.commission_bp / 100:g}%)", text or "Nothing pending or payable")
        if numbers.rank is not None:
            add_field(
                card, "Rank by sales", f"#{numbers.rank[0]} of {plural(numbers.rank[1], 'ambassador')} with sales"
            )
        card.set_footer(
            text=f"Weeks start Monday · times in {settings.timezone} · revenue net of discounts; net also of refunds"
        )
        await interaction.response.send_message(embed=card, ephemeral=True)

    # -- moderators: codes ------------------------------------------------------------------------------

    @codes_group.command(name="set", description="Give an ambassador a vanity code (their old one is retired)")
    @app_commands.describe(member="The ambassador", code="3–32 letters, digits, '-' or '_'")
    async def set_code(self, interaction: discord.Interaction[Any], member: discord.Member, code: str) -> None:
        guild_id = guild_id_of(interaction)
        await self._require_program_member(guild_id, member.id)
        now = self.bot.clock.now()
        async with self.bot.db.transaction() as tx:
            issued = await codes.set_vanity_code(tx, guild_id, member.id, code, now, actor_id=interaction.user.id)
            await audit.record(tx, guild_id, interaction.user.id, "codes.set", member.id, now, code=issued.code)
        await interaction.response.send_message(
            f"✅ {member.mention} now has the code `{issued.code}`.", ephemeral=True
        )

    @codes_group.command(name="regenerate", description="Issue a fresh generated code (the old one is retired)")
    @app_commands.describe(member="The ambassador")
    async def regenerate(self, interaction: discord.Interaction[Any], member: discord.Member) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        async with self.bot.db.transaction() as tx:
            issued = await codes.regenerate_code(tx, guild_id, member.id, now, actor_id=interaction.user.id)
            await audit.record(tx, guild_id, interaction.user.id, "codes.regenerate", member.id, now, code=issued.code)
        await interaction.response.send_message(
            f"✅ {member.mention}'s new code is `{issued.code}`. Sales through the old one still count (flagged).",
            ephemeral=True,
        )

    @codes_group.command(name="deactivate", description="Retire an ambassador's code (e.g. leaked)")
    @app_commands.describe(member="The ambassador")
    async def deactivate(self, interaction: discord.Interaction[Any], member: discord.Member) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        async with self.bot.db.transaction() as tx:
            retired = await codes.deactivate_code(tx, guild_id, member.id, now)
            await audit.record(tx, guild_id, interaction.user.id, "codes.deactivate", member.id, now, code=retired.code)
        await interaction.response.send_message(
            f"✅ `{retired.code}` is retired. Disable it in your shop too; sales still arriving are flagged.",
            ephemeral=True,
        )

    async def _require_program_member(self, guild_id: int, user_id: int) -> None:
        member = await find_member(self.bot.db, guild_id, user_id)
        if member is None or member.status not in ("active", "paused"):
            raise InvalidInput("That member isn't an ambassador in this program.")

    # -- moderators: sales in -----------------------------------------------------------------------------

    @codes_group.command(name="import", description="Import a Shopify orders export (CSV)")
    @app_commands.describe(file="The orders CSV exported from Shopify admin → Orders → Export")
    async def import_csv(self, interaction: discord.Interaction[Any], file: discord.Attachment) -> None:
        guild_id = guild_id_of(interaction)
        if not file.filename.lower().endswith(".csv"):
            raise InvalidInput("Attach the .csv file Shopify exports (Orders → Export → CSV for Excel…).")
        if file.size > MAX_IMPORT_BYTES:
            raise InvalidInput("That file is over 25 MB; export a shorter date range and import each part.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await file.read()
        last_edit = 0.0

        async def progress(report: ImportReport) -> None:
            nonlocal last_edit
            if time.monotonic() - last_edit >= 1.0:  # Discord rate-limits edits; once a second is plenty
                last_edit = time.monotonic()
                await interaction.edit_original_response(embed=import_summary(report, file.filename, done=False))

        report = await import_shopify_csv(
            self.bot.db,
            guild_id,
            data,
            filename=file.filename,
            actor_id=interaction.user.id,
            now=self.bot.clock.now(),
            progress=progress,
        )
        attachments = []
        if report.rejected_count > 10:
            text = "line,reason\n" + "".join(
                f'{line},"{reason.replace(chr(34), chr(39))}"\n' for line, reason in report.rejected
            )
            attachments.append(discord.File(io.BytesIO(text.encode()), filename="rejected-rows.csv"))
        await interaction.edit_original_response(
            embed=import_summary(report, file.filename, done=True), attachments=attachments
        )

    @codes_group.command(name="record", description="Record a sale by hand (pop-ups, events)")
    @app_commands.describe(
        order_id="Your reference for this sale (unique)",
        code="The ambassador's code",
        amount="Amount after discount, e.g. 49.90",
        currency="3-letter currency, e.g. EUR",
    )
    async def record(
        self, interaction: discord.Interaction[Any], order_id: str, code: str, amount: str, currency: str
    ) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        async with self.bot.db.transaction() as tx:
            result = await record_manual_sale(
                tx, guild_id, order_id=order_id, code=code, amount=amount, currency=currency,
                actor_id=interaction.user.id, now=now,
            )  # fmt: skip
        who = f"<@{result.events[0].user_id}>" if result.events else "the code's ambassador"
        await interaction.response.send_message(
            f"✅ Recorded `{order_id.strip()}`: {amount.strip()} {currency.strip().upper()} for {who}.", ephemeral=True
        )

    # -- moderators: numbers out ------------------------------------------------------------------------

    @codes_group.command(name="report", description="Sales per ambassador, with fraud flags")
    @app_commands.describe(period="Which period (default: this month)")
    @app_commands.choices(period=[app_commands.Choice(name=label, value=key) for key, label in PERIOD_LABELS.items()])
    async def report(self, interaction: discord.Interaction[Any], period: str = "month") -> None:
        guild_id = guild_id_of(interaction)
        settings = await get_settings(self.bot.db, guild_id)
        now = self.bot.clock.now()
        span = sales_reports.period(period, now, settings.zone)  # type: ignore[arg-type]  # choices guard it
        lines = await sales_reports.report(self.bot.db, guild_id, span)
        flags = await fraud.all_flags(self.bot.db, guild_id, now, span.start)
        shown = [member_line(line) for line in lines]
        pages = line_pages(
            f"Sales report — {span.label}", shown, per_page=REPORT_LINES_PER_PAGE, empty="No sales in this period."
        )
        icons = {"spike": "📈", "self_referral": "🪞", "unknown_code": "❓"}
        text = "\n".join(f"{icons[f.kind]} `{f.code}` — {f.detail}" for f in flags[:10])
        add_field(pages[0], f"Flags ({len(flags)})", clip(text or "Nothing suspicious.", 1000))
        for number, card in enumerate(pages, start=1):
            card.set_footer(text=f"Page {number}/{len(pages)} · times in {settings.timezone}")
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)

    @codes_group.command(
        name="payouts", description="Commission earned on a month's sales, as a CSV (to pay: /payouts run)"
    )
    @app_commands.describe(month="YYYY-MM (default: last month)")
    async def payouts(self, interaction: discord.Interaction[Any], month: str | None = None) -> None:
        guild_id = guild_id_of(interaction)
        settings = await get_settings(self.bot.db, guild_id)
        now = self.bot.clock.now()
        span = (
            sales_reports.month_period(month, settings.zone)
            if month
            else sales_reports.period("last_month", now, settings.zone)
        )
        lines = await sales_reports.report(self.bot.db, guild_id, span)
        name = f"payouts-{span.start.astimezone(settings.zone):%Y-%m}.csv"
        data = sales_reports.payouts_csv(lines)
        await interaction.response.send_message(
            f"💸 Payouts for {span.label}: {plural(len(lines), 'line')}.",
            file=discord.File(io.BytesIO(data), filename=name),
            ephemeral=True,
        )

    @codes_group.command(name="settings", description="Sales settings: count unpaid orders, public shout-outs")
    @app_commands.describe(
        count_unpaid_orders="Count an order when it is created, before payment (default: off)",
        shoutouts="Celebrate sales in the announcements channel (default: off)",
    )
    async def settings(
        self,
        interaction: discord.Interaction[Any],
        count_unpaid_orders: bool | None = None,
        shoutouts: bool | None = None,
    ) -> None:
        guild_id = guild_id_of(interaction)
        if count_unpaid_orders is None and shoutouts is None:
            current = await get_sales_settings(self.bot.db, guild_id)
        else:
            async with self.bot.db.transaction() as tx:
                current = await set_sales_settings(
                    tx, guild_id, self.bot.clock.now(), actor_id=interaction.user.id,
                    count_unpaid=count_unpaid_orders, shoutouts=shoutouts,
                )  # fmt: skip
        card = embed("Sales settings")
        add_field(card, "Count unpaid orders", "on" if current.count_unpaid_orders else "off", inline=True)
        add_field(card, "Shout-outs", "on" if current.shoutouts else "off", inline=True)
        await interaction.response.send_message(embed=card, ephemeral=True)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Codes(bot))
