"""Commission derived from the sales ledger: what each ledger row earns or takes back, and when it is due.

Every figure is computed here from ``sales`` rows and the tier rules, except what a payout run froze
(``payout_items``), which is read back as it was frozen. The rules of the road:

- a **sale** earns its tier's rule (``rules.Rule.commission``) and is *pending* until ``hold_days`` after the order,
  then *payable*: it is due at ``occurred_at + hold``;
- a **refund** takes back the same share of the sale's commission as of its net (cumulative shares in the order the
  refunds were recorded, so several partial refunds take back exactly the whole in the end, bonus included);
- a refund *inside* the holding period (before the sale is due, and before a run froze the sale) reduces the sale's
  commission before it is ever due: it is due with the sale;
- a refund *after* it — or one that reaches the ledger after a run froze the sale — is an **adjustment**, due at
  once: it is carried into the next payout run, so a paid statement never changes.

Until a run freezes it, a sale's commission follows the ambassador's current tier rules; the run freezes the
amount (and the sale's whole commission, ``base``, which later refunds take their shares of).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.services.affiliates.rules import NO_RULE, Rule, get_payout_settings, rules_by_tier
from bot.services.sales.ledger import share

ItemKind = Literal["sale", "refund", "adjustment"]


@dataclass(frozen=True)
class LedgerRow:
    id: int
    kind: Literal["sale", "refund"]
    order: tuple[str, str]  # (shop, order id): a sale and its refunds
    user_id: int
    net_minor: int  # refunds negative, as the ledger stores them
    currency: str
    occurred_at: datetime
    first_order: bool = False  # a sale to a buyer (email hash) the ledger had not seen before
    tier: str | None = None


@dataclass(frozen=True)
class Frozen:
    kind: ItemKind
    base_minor: int
    amount_minor: int


@dataclass(frozen=True)
class Item:
    row_id: int
    user_id: int
    currency: str
    kind: ItemKind
    base_minor: int  # a sale's whole commission; for a refund, the base of its sale
    amount_minor: int  # what it adds (refunds and adjustments negative)
    due_at: datetime
    occurred_at: datetime
    first_order: bool
    frozen: bool


def derive(rows: Iterable[LedgerRow], frozen: dict[int, Frozen], rule_of: Callable[[LedgerRow], Rule],
           hold: timedelta) -> list[Item]:  # fmt: skip
    """An item per ledger row. ``rows`` must hold every row of each order they touch (a sale and its refunds)."""
    orders: dict[tuple[str, str], list[LedgerRow]] = defaultdict(list)
    for row in rows:
        orders[row.order].append(row)
    items: list[Item] = []
    for group in orders.values():
        group.sort(key=lambda r: r.id)
        sale = next((r for r in group if r.kind == "sale"), None)
        if sale is None:
            continue  # a refund without its sale cannot be in the ledger (record_refund needs the sale)
        held = frozen.get(sale.id)
        base = held.base_minor if held else rule_of(sale).commission(sale.net_minor, sale.currency,
                                                                     first_order=sale.first_order)  # fmt: skip
        due = sale.occurred_at + hold
        items.append(
            Item(sale.id, sale.user_id, sale.currency, "sale", base, held.amount_minor if held else base, due,
                 sale.occurred_at, sale.first_order, held is not None)
        )  # fmt: skip
        refunded = 0
        for refund in (r for r in group if r.kind == "refund"):
            before, refunded = refunded, min(refunded - refund.net_minor, max(sale.net_minor, 0))
            back = share(base, refunded, sale.net_minor) - share(base, before, sale.net_minor)
            mine = frozen.get(refund.id)
            if mine is not None:
                kind, amount, when = mine.kind, mine.amount_minor, refund.occurred_at
            elif held is not None or refund.occurred_at >= due:
                kind, amount, when = "adjustment", -back, refund.occurred_at
            else:
                kind, amount, when = "refund", -back, due
            items.append(
                Item(refund.id, refund.user_id, refund.currency, kind, base, amount, when, refund.occurred_at,
                     False, mine is not None)
            )  # fmt: skip
    return items


# -- reading the ledger --------------------------------------------------------------------------------------

_ROWS_SQL = """SELECT s.id, s.kind, s.shop, s.order_id, s.user_id, s.net_minor, s.currency, s.occurred_at,
       m.tier AS tier, pi.kind AS frozen_kind, pi.base_minor, pi.amount_minor,
       (s.kind = 'sale' AND s.email_hash IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM sales p WHERE p.guild_id = s.guild_id AND p.email_hash = s.email_hash AND p.kind = 'sale'
             AND (p.occurred_at < s.occurred_at OR (p.occurred_at = s.occurred_at AND p.id < s.id)))) AS first_order
    FROM sales s
    LEFT JOIN members m ON m.guild_id = s.guild_id AND m.user_id = s.user_id
    LEFT JOIN payout_items pi ON pi.guild_id = s.guild_id AND pi.sale_row = s.id
    WHERE s.guild_id = ? AND """


@dataclass(frozen=True)
class Ledger:
    """Ledger rows with what runs froze of them, and the rules to price the rest."""

    rows: list[LedgerRow]
    frozen: dict[int, Frozen]
    rules: dict[str, Rule]
    hold: timedelta

    def items(self) -> list[Item]:
        return derive(self.rows, self.frozen, lambda row: self.rules.get(row.tier or "", NO_RULE), self.hold)


async def load(db: Database | Transaction, guild_id: int, where: str, params: tuple[object, ...]) -> Ledger:
    """Rows of ``sales s`` matching ``where`` (which must select whole orders), priced with today's rules."""
    found = await db.fetchall(_ROWS_SQL + where, (guild_id, *params))
    rows, frozen = [], {}
    for r in found:
        rows.append(
            LedgerRow(int(r["id"]), r["kind"], (r["shop"], r["order_id"]), int(r["user_id"]), int(r["net_minor"]),
                      r["currency"], from_db(r["occurred_at"]), bool(r["first_order"]), r["tier"])
        )  # fmt: skip
        if r["frozen_kind"] is not None:
            frozen[int(r["id"])] = Frozen(r["frozen_kind"], int(r["base_minor"]), int(r["amount_minor"]))
    settings = await get_payout_settings(db, guild_id)
    return Ledger(rows, frozen, await rules_by_tier(db, guild_id), timedelta(days=settings.hold_days))


ORDERS_NOT_FROZEN = """(s.shop, s.order_id) IN (
    SELECT x.shop, x.order_id FROM sales x WHERE x.guild_id = s.guild_id AND NOT EXISTS (
        SELECT 1 FROM payout_items p WHERE p.guild_id = x.guild_id AND p.sale_row = x.id))"""


async def unfrozen(db: Database | Transaction, guild_id: int) -> Ledger:
    """Every order with a row no run froze yet (and the frozen rows of those orders, for their bases)."""
    return await load(db, guild_id, ORDERS_NOT_FROZEN, ())


# -- what an ambassador sees ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    currency: str
    pending_minor: int  # not due yet: inside the holding period
    payable_minor: int  # due and not paid: in no statement yet, carried over, or in a statement awaiting payment


async def balances(db: Database | Transaction, guild_id: int, user_id: int, now: datetime) -> list[Balance]:
    ledger = await load(db, guild_id, "s.user_id = ?", (user_id,))
    pending: dict[str, int] = defaultdict(int)
    payable: dict[str, int] = defaultdict(int)
    for item in ledger.items():
        if not item.frozen:
            (pending if item.due_at > now else payable)[item.currency] += item.amount_minor
    for row in await db.fetchall(
        """SELECT currency, SUM(total_minor) AS total FROM payout_statements
           WHERE guild_id = ? AND user_id = ? AND (status = 'open' OR (status = 'carried' AND carried_into IS NULL))
           GROUP BY currency""",
        (guild_id, user_id),
    ):
        payable[row["currency"]] += int(row["total"])
    currencies = sorted(set(pending) | set(payable))
    return [Balance(c, pending[c], payable[c]) for c in currencies if pending[c] or payable[c]]


async def commission_in(
    db: Database | Transaction, guild_id: int, start: datetime, end: datetime
) -> dict[tuple[int, str], int]:
    """Commission earned (sales) and taken back (refunds) by the ledger rows dated in [start, end), per ambassador
    and currency — what /codes report and /codes payouts show, from the same rules as the payout runs."""
    ledger = await load(
        db, guild_id,
        """(s.shop, s.order_id) IN (SELECT x.shop, x.order_id FROM sales x WHERE x.guild_id = s.guild_id
               AND x.occurred_at >= ? AND x.occurred_at < ?)""",
        (to_db(start), to_db(end)),
    )  # fmt: skip
    out: dict[tuple[int, str], int] = defaultdict(int)
    for item in ledger.items():
        if start <= item.occurred_at < end:
            out[(item.user_id, item.currency)] += item.amount_minor
    return dict(out)
