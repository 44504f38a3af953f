"""How a payout statement looks (review pages, DMs, /payouts mine), the Mark paid select and its reference form,
and the outbox subscriber that sends each statement to its ambassador once."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import require_moderator
from bot.errors import NotFound
from bot.outbox import OutboxItem
from bot.posting import dm_once
from bot.services.affiliates import runs
from bot.services.affiliates.runs import Run, Statement, month_label
from bot.services.sales.payloads import format_minor
from bot.text import plural
from bot.ui.base import BaseModal, BaseView, RecordItem
from bot.ui.embeds import BRAND, SUCCESS, WARNING, add_field, clip, embed
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.markup import mention, timestamp

log = logging.getLogger(__name__)
PER_PAGE = 5
STATUS_ICONS = {"open": "💸", "paid": "✅", "carried": "↪️"}


def breakdown(s: Statement) -> str:
    lines = [f"Sales: {s.money(s.sales_minor)} ({plural(s.orders, 'order')})"]
    if s.refunds_minor:
        lines.append(f"Refunds in the holding period: {s.money(s.refunds_minor)}")
    if s.adjustments_minor:
        lines.append(f"Adjustments (later refunds): {s.money(s.adjustments_minor)}")
    if s.carried_in_minor:
        lines.append(f"Carried over from earlier: {s.money(s.carried_in_minor)}")
    lines.append(f"**Total: {s.money(s.total_minor)}**")
    return "\n".join(lines)


def status_text(s: Statement) -> str:
    if s.status == "paid":
        when = f" {timestamp(s.paid_at, 'D')}" if s.paid_at else ""
        how = " in store credit" if s.method == "store_credit" else ""
        return f"✅ Paid{how}{when} · reference `{clip(s.reference or '', 100)}`"
    if s.status == "carried":
        why = (
            f"below the minimum payout of {s.money(s.minimum_minor)}"
            if s.total_minor > 0
            else "nothing to pay (not above zero)"
        )
        return f"↪️ Carried over to your next statement: {why}"
    if s.method == "store_credit":
        return "💸 To pay in store credit: Mark paid creates it in the shop and sends its code by DM"
    return "💸 To pay"


def statement_card(s: Statement) -> discord.Embed:
    colour = SUCCESS if s.status == "paid" else WARNING if s.status == "carried" else BRAND
    card = embed(f"Statement #{s.id} — {month_label(s.period)} · {s.currency}", breakdown(s), colour=colour)
    add_field(card, "Status", status_text(s))
    return card


def review_pages(run: Run) -> list[discord.Embed]:
    to_pay = ", ".join(format_minor(v, c) for c, v in sorted(run.totals("open").items())) or "nothing"
    paid = ", ".join(format_minor(v, c) for c, v in sorted(run.totals("paid").items())) or "nothing yet"
    head = (
        f"{plural(len(run.statements), 'statement')} · to pay: **{to_pay}** · paid: {paid}\n"
        "Pick a statement under **Mark paid** once the money is sent; its ambassador gets it by DM."
    )
    if run.created is False:
        head = "This month was run before: here is that run (nothing is paid twice).\n" + head
    pages = []
    chunks = [run.statements[i : i + PER_PAGE] for i in range(0, max(len(run.statements), 1), PER_PAGE)]
    for chunk in chunks:
        page = embed(f"Payouts — {month_label(run.period)} (run #{run.id})", head)
        for s in chunk:
            name = f"{STATUS_ICONS[s.status]} #{s.id} · {clip(s.display_name, 40)} · {s.money(s.total_minor)}"
            value = f"{mention(s.user_id)}\n{breakdown(s)}\n{status_text(s)}"
            if s.status == "paid" and s.paid_by:
                value += f" by {mention(s.paid_by)}"
            add_field(page, name, clip(value, 1000))
        if not run.statements:
            page.description = head + "\n\nNo commission fell due before the month ended."
        pages.append(page)
    return pages


class MarkPaidSelect(RecordItem, feature="payouts", action="pay", keys=("run_id",)):
    """Pick a statement of the run to mark paid; a form asks for the payment's reference."""

    moderator_only = True

    @classmethod
    def make_item(cls, custom_id: str) -> discord.ui.Item[Any]:
        return discord.ui.Select(custom_id=custom_id, placeholder="Mark paid…", min_values=1, max_values=1)

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        data: Any = interaction.data or {}
        values = [str(v) for v in data.get("values", [])]
        if not values or not values[0].isdigit():
            raise NotFound("Pick a statement from the list.")
        statement = await runs.get_statement(bot_of(interaction).db, guild_id_of(interaction), int(values[0]))
        await interaction.response.send_modal(ReferenceModal(statement))


def mark_paid_select(run_id: int, statements: list[Statement]) -> MarkPaidSelect | None:
    open_ones = [s for s in statements if s.status == "open"]
    if not open_ones:
        return None
    item = MarkPaidSelect(run_id)
    select = item.item
    assert isinstance(select, discord.ui.Select)
    for s in open_ones[:25]:
        select.add_option(label=clip(f"#{s.id} · {s.display_name} · {s.money(s.total_minor)}", 100), value=str(s.id))
    return item


class ReferenceModal(BaseModal):
    def __init__(self, statement: Statement) -> None:
        super().__init__(title=clip(f"Mark statement #{statement.id} paid", 45), timeout=900)
        self.statement = statement
        credit = statement.method == "store_credit"
        self.reference: discord.ui.TextInput[ReferenceModal] = discord.ui.TextInput(
            label="Reference (store credit)" if credit else "Payment reference (e.g. PayPal batch id)",
            max_length=runs.REFERENCE_MAX, custom_id="reference", default="store credit" if credit else None,
        )  # fmt: skip
        self.add_item(self.reference)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        guild_id = await require_moderator(interaction)  # a form: no component check covers its submission
        bot = bot_of(interaction)
        async with bot.db.transaction() as tx:
            paid = await runs.mark_paid(
                tx, guild_id, self.statement.id, self.reference.value, bot.clock.now(), actor_id=interaction.user.id
            )
        told = f"{mention(paid.user_id)} gets it by DM."
        if paid.method == "store_credit":
            who = mention(paid.user_id)
            told = f"in store credit: the shop creates it now, and {who} gets the statement and its code by DM."
        elif self.statement.method == "store_credit":
            told = (f"by hand: {mention(paid.user_id)} chose store credit, but no shop is connected now, so pay them "
                    "yourself; they get the statement by DM.")  # fmt: skip
        await interaction.response.send_message(
            f"✅ Statement #{paid.id} ({paid.money(paid.total_minor)}) marked paid {told}",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


class ReviewPager(BaseView):
    """The run's pages for the moderator who asked; each page carries the persistent Mark paid select."""

    def __init__(self, run: Run, *, owner_id: int) -> None:
        super().__init__(timeout=840, owner_id=owner_id)
        self.run = run
        self.pages = review_pages(run)
        self.index = 0
        self._render()

    def _render(self) -> None:
        self.clear_items()
        if len(self.pages) > 1:
            self.add_item(self.previous)
            self.add_item(self.next)
            self.previous.disabled = self.index == 0
            self.next.disabled = self.index >= len(self.pages) - 1
            for number, page in enumerate(self.pages, start=1):
                page.set_footer(text=f"Page {number} of {len(self.pages)}")
        chunk = self.run.statements[self.index * PER_PAGE : (self.index + 1) * PER_PAGE]
        select = mark_paid_select(self.run.id, chunk)
        if select is not None:
            self.add_item(select)

    async def send(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message(embed=self.pages[0], view=self, ephemeral=True)

    async def _turn(self, interaction: discord.Interaction[Any], step: int) -> None:
        self.index = max(0, min(len(self.pages) - 1, self.index + step))
        self._render()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction[Any], _: discord.ui.Button[ReviewPager]) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.primary)
    async def next(self, interaction: discord.Interaction[Any], _: discord.ui.Button[ReviewPager]) -> None:
        await self._turn(interaction, 1)


class StatementMail(commands.Cog, name="Payout statements"):
    """Sends each statement to its ambassador after the commit that closed it: carried at the run, open when paid."""

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MarkPaidSelect)
        self.bot.outbox.subscribe(runs.STATEMENT_SENT, "ambassador", self.send_statement)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(MarkPaidSelect)
        self.bot.outbox.unsubscribe(runs.STATEMENT_SENT, "ambassador")

    async def send_statement(self, item: OutboxItem) -> None:
        statement = await runs.get_statement(self.bot.db, item.guild_id, int(item.payload["statement_id"]))
        card = statement_card(statement)
        card.set_footer(text="Your statements: /payouts mine")
        delivery = await dm_once(self.bot, item.guild_id, statement.user_id, attempt=item.attempt, embed=card)
        if delivery != "sent":
            log.info("statement %s for %s not delivered: %s", statement.id, statement.user_id, delivery)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(StatementMail(bot))
