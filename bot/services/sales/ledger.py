"""The attribution ledger's writes, as batch work over ``Statements`` (SQL only, nothing else awaited).

``bot/services/sales/orders.py`` is the face services call (``record_order``, ``record_refund``, manual sales)
and runs these through ``Transaction.run``; the webhook writer (``bot/webhook_batches.py``) runs
``ingest_delivery`` for many deliveries in one transaction. Batch work on purpose: on SQLite it runs whole in the
writer's thread, since a delivery is about a dozen statements and one thread hop per statement cost far more
than SQLite itself (issue 9); on PostgreSQL each statement is awaited on the transaction's connection.

Idempotency comes from the database, not from memory:
- ``webhook_deliveries`` (guild, shop, event id) — a replayed event changes nothing;
- ``shop_orders`` (guild, shop, order id) — an order is seen once; a later "paid" only flips its state;
- ``sales`` UNIQUE (guild, shop, order id, kind, entry ref) — a sale once, each refund id once;
- points awarded with the references ``sale:<shop>:<order id>`` / ``refund:<shop>:<order id>:<refund id>``
  (the same row ``points.award`` writes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from bot.clock import to_db
from bot.services.engagement.points import AWARD_SQL
from bot.services.sales.payloads import OrderIn, PayloadError, RefundIn, Shop
from bot.storage.statements import Row, Statements
from bot.unit_of_work import emit_row

Source = Literal["webhook", "csv", "manual"]
RecordOutcome = Literal["recorded", "duplicate", "stored", "unattributed", "unknown_code", "test", "refund", "no_sale"]


@dataclass(frozen=True)
class SalesSettings:
    count_unpaid_orders: bool = False
    shoutouts: bool = False


# Outbox topic written with every sale a code brought in: {"user_id": …, "sale_id": …}.
SALE_RECORDED = "sale.recorded"


@dataclass(frozen=True)
class LedgerEvent:
    """What a delivery changed, for the caller's answer (a sale as ``SALE_RECORDED`` also goes to the outbox)."""

    name: Literal["sale_recorded", "refund_recorded"]
    guild_id: int
    user_id: int
    row_id: int


@dataclass
class RecordResult:
    outcome: RecordOutcome
    events: list[LedgerEvent] = field(default_factory=list)
    unknown_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CodeHolder:
    id: int
    code: str
    user_id: int
    retired: bool  # not active: still attributes, flagged


class UnknownProgram(LookupError):
    """A delivery names a server with no program (404), or names none while several run (400)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True)
class Delivery:
    """One verified, parsed webhook delivery; ``guild_id`` None means "the only program there is"."""

    guild_id: int | None
    shop: Shop
    event_id: str | None
    topic: str
    item: OrderIn | RefundIn
    received_at: datetime


def email_hash(email: str | None) -> str | None:
    """Orders keep only a hash of the buyer's email: enough to spot self-referral, nothing to leak."""
    if not email or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class Lookups:
    """What a batch of deliveries asks again and again, read once per transaction (nothing a delivery writes).

    Settings, servers, codes and ambassadors' emails change only in other transactions, so within one they
    are stable; caching them saves most of a delivery's reads.
    """

    def __init__(self, conn: Statements) -> None:
        self.conn = conn
        self._settings: dict[int, SalesSettings] = {}
        self._points: dict[int, int] = {}
        self._programs: dict[int | None, int | UnknownProgram] = {}
        self._codes: dict[tuple[int, str], CodeHolder | None] = {}
        self._emails: dict[tuple[int, int], str | None] = {}  # hashed, as email_hash gives it

    def stamp(self, when: datetime) -> str:
        return to_db(when)

    async def sales_settings(self, guild_id: int) -> SalesSettings:
        if guild_id not in self._settings:
            row = await self.conn.fetchone(
                "SELECT count_unpaid_orders, shoutouts FROM sales_settings WHERE guild_id = ?", (guild_id,)
            )
            self._settings[guild_id] = SalesSettings() if row is None else SalesSettings(bool(row[0]), bool(row[1]))
        return self._settings[guild_id]

    async def points_per_sale(self, guild_id: int) -> int:
        if guild_id not in self._points:
            row = await self.conn.fetchone("SELECT points_sale FROM guild_settings WHERE guild_id = ?", (guild_id,))
            self._points[guild_id] = int(row[0] or 0) if row is not None else 0
        return self._points[guild_id]

    async def program(self, guild_id: int | None) -> int:
        """The server a delivery is for (None: the only one there is); raises UnknownProgram."""
        if guild_id not in self._programs:
            self._programs[guild_id] = await self._find_program(guild_id)
        found = self._programs[guild_id]
        if isinstance(found, UnknownProgram):
            raise UnknownProgram(found.status, str(found))
        return found

    async def _find_program(self, guild_id: int | None) -> int | UnknownProgram:
        if guild_id is None:
            rows = await self.conn.fetchall("SELECT guild_id FROM guild_settings LIMIT 2")
            if len(rows) != 1:
                return UnknownProgram(400 if rows else 404, "say which server: /webhooks/<shop>/<guild_id>")
            return int(rows[0][0])
        found = await self.conn.fetchone("SELECT 1 FROM guild_settings WHERE guild_id = ?", (guild_id,))
        return guild_id if found is not None else UnknownProgram(404, "no program for that server")

    async def code(self, guild_id: int, code: str) -> CodeHolder | None:
        """Any code, in any status, matched case-insensitively (old codes still attribute sales)."""
        key = (guild_id, code.strip().upper())
        if key not in self._codes:
            row = await self.conn.fetchone(
                "SELECT id, code, user_id, status FROM codes WHERE guild_id = ? AND code_norm = ?", key
            )
            self._codes[key] = None if row is None else CodeHolder(int(row[0]), row[1], int(row[2]), row[3] != "active")
        return self._codes[key]

    async def email_hash(self, guild_id: int, user_id: int) -> str | None:
        """The hash of the ambassador's email on file (for the self-referral check)."""
        if (guild_id, user_id) not in self._emails:
            row = await self.conn.fetchone(
                "SELECT email FROM members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
            )
            self._emails[(guild_id, user_id)] = None if row is None else email_hash(row[0])
        return self._emails[(guild_id, user_id)]


async def note_unknown_code(conn: Statements, guild_id: int, code: str, order_id: str, now: datetime) -> None:
    await _note_unknown(conn, guild_id, code, order_id, to_db(now))


async def _note_unknown(conn: Statements, guild_id: int, code: str, order_id: str, at: str) -> None:
    await conn.execute(
        """INSERT INTO unknown_codes (guild_id, code, orders, first_seen_at, last_seen_at, last_order_id)
           VALUES (?, ?, 1, ?, ?, ?)
           ON CONFLICT (guild_id, code) DO UPDATE SET orders = unknown_codes.orders + 1,
               last_seen_at = excluded.last_seen_at,
               last_order_id = excluded.last_order_id""",
        (guild_id, code.strip().upper(), at, at, order_id),
    )


async def _award(
    conn: Statements, guild_id: int, user_id: int, points: int, reason: str, reference: str, at: str
) -> None:
    """``points.award`` for this thread: the unique reference makes it exactly once."""
    await conn.execute(AWARD_SQL, (guild_id, user_id, points, reason, reference, None, at, None))


async def _find_seen(conn: Statements, guild_id: int, order: OrderIn) -> Row | None:
    keys = [order.order_id]
    if order.shop == "shopify" and order.order_name:
        # An export without the Id column keys orders by name; a webhook for the same order must find it.
        keys.append(f"name:{order.order_name}")
    rows = await conn.fetchall(
        f"SELECT order_id, paid, counted FROM shop_orders WHERE guild_id = ? AND shop = ?"
        f" AND order_id IN ({', '.join('?' * len(keys))})",
        (guild_id, order.shop, *keys),
    )
    rows.sort(key=lambda row: row[0] != order.order_id)  # the exact id wins over the name key
    return rows[0] if rows else None


async def record_order(
    conn: Statements,
    guild_id: int,
    order: OrderIn,
    *,
    source: Source,
    now: datetime,
    settings: SalesSettings,
    lookups: Lookups | None = None,
) -> RecordResult:
    """Store the order once; when it counts (paid, or unpaid counting is on) attribute it once."""
    if order.test:
        return RecordResult("test")  # Shopify's "send test notification": never a real sale
    lookups = lookups or Lookups(conn)
    at = lookups.stamp(now)
    seen = await _find_seen(conn, guild_id, order)
    if seen is not None and seen["order_id"] != order.order_id:
        order = replace(order, order_id=seen["order_id"])
    found: CodeHolder | None = None
    unknown: list[str] = []
    for candidate in order.codes:
        found = await lookups.code(guild_id, candidate)
        if found is not None:
            break
        unknown.append(candidate)
    if seen is not None and seen["counted"]:
        result = RecordResult("duplicate")
    elif not (order.paid or settings.count_unpaid_orders):
        result = RecordResult("stored")
    elif found is None:
        result = RecordResult("unknown_code" if unknown else "unattributed", unknown_codes=tuple(unknown))
    else:
        result = await _attribute(conn, guild_id, order, found, lookups, source=source, at=at)
    # The order row is written after the sale so it carries "counted" at once (one statement fewer).
    counted = int(result.outcome == "recorded")
    key = (guild_id, order.shop, order.order_id)
    if seen is None:
        await conn.execute(
            """INSERT INTO shop_orders (guild_id, shop, order_id, order_name, code, paid, counted, ordered_at,
                   received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (*key, order.order_name, order.codes[0] if order.codes else None, int(order.paid), counted,
             lookups.stamp(order.ordered_at), at),
        )  # fmt: skip
        for code in unknown:
            await _note_unknown(conn, guild_id, code, order.order_id, at)
    elif (order.paid and not seen["paid"]) or counted:
        await conn.execute(
            """UPDATE shop_orders SET paid = paid | ?, counted = counted | ?
               WHERE guild_id = ? AND shop = ? AND order_id = ?""",
            (int(order.paid), counted, *key),
        )
    for refund in order.refunds:
        refunded = await record_refund(conn, guild_id, replace(refund, order_id=order.order_id), source=source, now=now)
        result.events += refunded.events
    return result


SALE_INSERT = """INSERT INTO sales (guild_id, kind, shop, order_id, entry_ref, order_name, code_id, code, user_id,
        gross_minor, discount_minor, net_minor, currency, occurred_at, recorded_at, source,
        code_retired, self_referral, email_hash)
    VALUES (?, 'sale', ?, ?, 'sale', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (guild_id, shop, order_id, kind, entry_ref) DO NOTHING"""


def sale_values(
    guild_id: int, order: OrderIn, holder: CodeHolder, holder_email: str | None, *, source: Source, at: str
) -> tuple[object, ...]:
    """``SALE_INSERT``'s row for an order attributed to ``holder``: what attributing a sale records, in one place
    for every path (webhooks and manual sales one by one, CSV imports in bulk). ``holder_email`` is hashed."""
    buyer = email_hash(order.email)
    self_referral = buyer is not None and buyer == holder_email
    return (guild_id, order.shop, order.order_id, order.order_name, holder.id, holder.code, holder.user_id,
            order.gross_minor, order.discount_minor, order.net_minor, order.currency, to_db(order.ordered_at),
            at, source, int(holder.retired), int(self_referral), buyer)  # fmt: skip


def sale_reference(order: OrderIn) -> str:
    """The points ledger's reference for a sale's award (a refund's reversal derives from it)."""
    return f"sale:{order.shop}:{order.order_id}"


async def _attribute(
    conn: Statements, guild_id: int, order: OrderIn, found: CodeHolder, lookups: Lookups, *,
    source: Source, at: str,
) -> RecordResult:  # fmt: skip
    holder_email = await lookups.email_hash(guild_id, found.user_id)
    values = sale_values(guild_id, order, found, holder_email, source=source, at=at)
    sale_id = await conn.fetchval(SALE_INSERT + " RETURNING id", values)
    if sale_id is None:
        return RecordResult("duplicate")
    worth = await lookups.points_per_sale(guild_id)
    if worth:
        await _award(conn, guild_id, found.user_id, worth, "sale", sale_reference(order), at)
    await emit_row(conn, guild_id, SALE_RECORDED, at, {"user_id": found.user_id, "sale_id": sale_id}, key=str(sale_id))
    return RecordResult("recorded", [LedgerEvent("sale_recorded", guild_id, found.user_id, sale_id)])


async def record_refund(
    conn: Statements, guild_id: int, refund: RefundIn, *, source: Source, now: datetime
) -> RecordResult:
    """Reverse the refunded amount (capped at what is left) and the same share of the sale's points."""
    sale = await conn.fetchone(
        "SELECT * FROM sales WHERE guild_id = ? AND shop = ? AND order_id = ? AND kind = 'sale'",
        (guild_id, refund.shop, refund.order_id),
    )
    if sale is None:
        return RecordResult("no_sale")  # an order no ambassador's code brought in
    if refund.currency is not None and refund.currency != sale["currency"]:
        raise PayloadError(f"refund currency {refund.currency} differs from the sale's {sale['currency']}")
    done = await conn.fetchone(
        "SELECT 1 FROM sales WHERE guild_id = ? AND shop = ? AND order_id = ? AND kind = 'refund' AND entry_ref = ?",
        (guild_id, refund.shop, refund.order_id, refund.refund_id),
    )
    if done is not None:
        return RecordResult("duplicate")
    before = -int(
        await conn.fetchval(
            "SELECT COALESCE(SUM(net_minor), 0) FROM sales WHERE guild_id = ? AND shop = ? AND order_id = ?"
            " AND kind = 'refund'",
            (guild_id, refund.shop, refund.order_id),
        )
    )
    sale_net = int(sale["net_minor"])
    amount = min(refund.amount_minor, max(sale_net - before, 0))
    if amount <= 0:
        return RecordResult("duplicate")  # nothing left to reverse
    gross = share(int(sale["gross_minor"]), amount, sale_net)
    refund_row = await conn.insert(
        """INSERT INTO sales (guild_id, kind, shop, order_id, entry_ref, order_name, code_id, code, user_id,
               gross_minor, discount_minor, net_minor, currency, occurred_at, recorded_at, source,
               code_retired, self_referral, email_hash)
           VALUES (?, 'refund', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (guild_id, refund.shop, refund.order_id, refund.refund_id, sale["order_name"], sale["code_id"], sale["code"],
         sale["user_id"], -gross, -(gross - amount), -amount, sale["currency"], to_db(refund.occurred_at),
         to_db(now), source, sale["code_retired"], sale["self_referral"], sale["email_hash"]),
    )  # fmt: skip
    awarded = await conn.fetchone(
        "SELECT points FROM points_ledger WHERE guild_id = ? AND reference = ?",
        (guild_id, f"sale:{refund.shop}:{refund.order_id}"),
    )
    if awarded and awarded[0]:
        # Cumulative shares, so several partial refunds reverse exactly the whole award in the end.
        total = int(awarded[0])
        reverse = share(total, before + amount, sale_net) - share(total, before, sale_net)
        if reverse:
            reference = f"refund:{refund.shop}:{refund.order_id}:{refund.refund_id}"
            await _award(conn, guild_id, int(sale["user_id"]), -reverse, "refund", reference, to_db(now))
    return RecordResult("refund", [LedgerEvent("refund_recorded", guild_id, int(sale["user_id"]), refund_row)])


def share(total: int, part: int, whole: int) -> int:
    """round(total * part / whole), half away from zero, in integers."""
    if whole <= 0:
        return total if part > 0 else 0
    return (2 * total * part + whole) // (2 * whole)


async def ingest_delivery(conn: Statements, delivery: Delivery, lookups: Lookups) -> RecordResult:
    """One webhook delivery inside the caller's transaction; the event id is remembered with its outcome."""
    guild_id = await lookups.program(delivery.guild_id)
    shop, event_id, now = delivery.shop, delivery.event_id, delivery.received_at
    if event_id is not None:
        seen = await conn.fetchone(
            "SELECT 1 FROM webhook_deliveries WHERE guild_id = ? AND shop = ? AND event_id = ?",
            (guild_id, shop, event_id),
        )
        if seen is not None:
            return RecordResult("duplicate")
    item = delivery.item
    if isinstance(item, RefundIn):
        result = await record_refund(conn, guild_id, item, source="webhook", now=now)
    else:
        settings = await lookups.sales_settings(guild_id)
        result = await record_order(conn, guild_id, item, source="webhook", now=now, settings=settings, lookups=lookups)
    if event_id is not None:
        await conn.execute(
            """INSERT INTO webhook_deliveries (guild_id, shop, event_id, topic, outcome, received_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (guild_id, shop, event_id, delivery.topic, result.outcome, lookups.stamp(now)),
        )
    return result
