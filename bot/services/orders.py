"""Recording sales and refunds in the attribution ledger, exactly once, whatever the source.

Every path (webhooks, CSV import, a moderator's manual sale) ends in ``record_order`` / ``record_refund``
inside the caller's transaction. Idempotency comes from the database, not from memory:
- ``shop_orders`` (guild, shop, order id) — an order is seen once; a later "paid" only flips its state;
- ``sales`` UNIQUE (guild, shop, order id, kind, entry ref) — a sale once, each refund id once;
- points awarded with the references ``sale:<shop>:<order id>`` / ``refund:<shop>:<order id>:<refund id>``.
CSV imports use the shop ``shopify`` too, so an order seen by webhook and in an export counts once.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput
from bot.services import audit, codes, points
from bot.services.members import find_member
from bot.services.shop_payloads import OrderIn, PayloadError, RefundIn, Shop, currency_code, to_minor

Source = Literal["webhook", "csv", "manual"]
Outcome = Literal["recorded", "duplicate", "stored", "unattributed", "unknown_code", "test", "refund", "no_sale"]


@dataclass(frozen=True)
class SalesSettings:
    count_unpaid_orders: bool = False
    shoutouts: bool = False


@dataclass(frozen=True)
class LedgerEvent:
    """Dispatched after commit: ``bot.dispatch(name, guild_id, user_id, row_id)``."""

    name: Literal["sale_recorded", "refund_recorded"]
    guild_id: int
    user_id: int
    row_id: int


@dataclass
class RecordResult:
    outcome: Outcome
    events: list[LedgerEvent] = field(default_factory=list)
    unknown_codes: tuple[str, ...] = ()


def email_hash(email: str | None) -> str | None:
    """Orders keep only a hash of the buyer's email: enough to spot self-referral, nothing to leak."""
    if not email or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


async def get_sales_settings(db: Database | Transaction, guild_id: int) -> SalesSettings:
    row = await db.fetchone("SELECT * FROM sales_settings WHERE guild_id = ?", (guild_id,))
    if row is None:
        return SalesSettings()
    return SalesSettings(bool(row["count_unpaid_orders"]), bool(row["shoutouts"]))


async def set_sales_settings(
    tx: Transaction,
    guild_id: int,
    now: datetime,
    *,
    actor_id: int | None,
    count_unpaid: bool | None = None,
    shoutouts: bool | None = None,
) -> SalesSettings:
    current = await get_sales_settings(tx, guild_id)
    new = SalesSettings(
        current.count_unpaid_orders if count_unpaid is None else count_unpaid,
        current.shoutouts if shoutouts is None else shoutouts,
    )
    await tx.execute(
        """INSERT INTO sales_settings (guild_id, count_unpaid_orders, shoutouts, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (guild_id) DO UPDATE SET count_unpaid_orders = excluded.count_unpaid_orders,
               shoutouts = excluded.shoutouts, updated_at = excluded.updated_at""",
        (guild_id, int(new.count_unpaid_orders), int(new.shoutouts), to_db(now)),
    )
    await audit.record(tx, guild_id, actor_id, "sales.settings", None, now, **new.__dict__)
    return new


async def _points_for_sale(tx: Transaction, guild_id: int) -> int:
    value = await tx.fetchval("SELECT points_sale FROM guild_settings WHERE guild_id = ?", (guild_id,))
    return int(value or 0)


async def note_unknown_code(tx: Transaction, guild_id: int, code: str, order_id: str, now: datetime) -> None:
    await tx.execute(
        """INSERT INTO unknown_codes (guild_id, code, orders, first_seen_at, last_seen_at, last_order_id)
           VALUES (?, ?, 1, ?, ?, ?)
           ON CONFLICT (guild_id, code) DO UPDATE SET orders = orders + 1, last_seen_at = excluded.last_seen_at,
               last_order_id = excluded.last_order_id""",
        (guild_id, codes.normalize(code), to_db(now), to_db(now), order_id),
    )


async def _find_seen(tx: Transaction, guild_id: int, order: OrderIn) -> sqlite3.Row | None:
    row = await tx.fetchone(
        "SELECT order_id, paid, counted FROM shop_orders WHERE guild_id = ? AND shop = ? AND order_id = ?",
        (guild_id, order.shop, order.order_id),
    )
    if row is None and order.shop == "shopify" and order.order_name:
        # An export without the Id column keys orders by name; a webhook for the same order must find it.
        row = await tx.fetchone(
            "SELECT order_id, paid, counted FROM shop_orders WHERE guild_id = ? AND shop = ? AND order_id = ?",
            (guild_id, order.shop, f"name:{order.order_name}"),
        )
    return row


async def record_order(
    tx: Transaction, guild_id: int, order: OrderIn, *, source: Source, now: datetime, settings: SalesSettings
) -> RecordResult:
    """Store the order once; when it counts (paid, or unpaid counting is on) attribute it once."""
    if order.test:
        return RecordResult("test")  # Shopify's "send test notification": never a real sale
    seen = await _find_seen(tx, guild_id, order)
    if seen is not None and seen["order_id"] != order.order_id:
        order = replace(order, order_id=seen["order_id"])
    key = (guild_id, order.shop, order.order_id)
    found: codes.Code | None = None
    unknown: list[str] = []
    for candidate in order.codes:
        found = await codes.find_code(tx, guild_id, candidate)
        if found is not None:
            break
        unknown.append(candidate)
    if seen is None:
        await tx.execute(
            """INSERT INTO shop_orders (guild_id, shop, order_id, order_name, code, paid, ordered_at, received_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (*key, order.order_name, order.codes[0] if order.codes else None, int(order.paid),
             to_db(order.ordered_at), to_db(now)),
        )  # fmt: skip
        for code in unknown:
            await note_unknown_code(tx, guild_id, code, order.order_id, now)
    elif order.paid and not seen["paid"]:
        await tx.execute("UPDATE shop_orders SET paid = 1 WHERE guild_id = ? AND shop = ? AND order_id = ?", key)
    if seen is not None and seen["counted"]:
        result = RecordResult("duplicate")
    elif not (order.paid or settings.count_unpaid_orders):
        result = RecordResult("stored")
    elif found is None:
        result = RecordResult("unknown_code" if unknown else "unattributed", unknown_codes=tuple(unknown))
    else:
        result = await _attribute(tx, guild_id, order, found, source=source, now=now)
    for refund in order.refunds:
        refunded = await record_refund(tx, guild_id, replace(refund, order_id=order.order_id), source=source, now=now)
        result.events += refunded.events
    return result


async def _attribute(
    tx: Transaction, guild_id: int, order: OrderIn, found: codes.Code, *, source: Source, now: datetime
) -> RecordResult:
    member = await find_member(tx, guild_id, found.user_id)
    buyer = email_hash(order.email)
    self_referral = buyer is not None and member is not None and buyer == email_hash(member.email)
    cur = await tx.execute(
        """INSERT INTO sales (guild_id, kind, shop, order_id, entry_ref, order_name, code_id, code, user_id,
               gross_minor, discount_minor, net_minor, currency, occurred_at, recorded_at, source,
               code_retired, self_referral, email_hash)
           VALUES (?, 'sale', ?, ?, 'sale', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (guild_id, shop, order_id, kind, entry_ref) DO NOTHING""",
        (guild_id, order.shop, order.order_id, order.order_name, found.id, found.code, found.user_id,
         order.gross_minor, order.discount_minor, order.net_minor, order.currency, to_db(order.ordered_at),
         to_db(now), source, int(found.status != "active"), int(self_referral), buyer),
    )  # fmt: skip
    if cur.rowcount != 1:
        return RecordResult("duplicate")
    sale_id = int(cur.lastrowid or 0)
    await tx.execute(
        "UPDATE shop_orders SET counted = 1 WHERE guild_id = ? AND shop = ? AND order_id = ?",
        (guild_id, order.shop, order.order_id),
    )
    worth = await _points_for_sale(tx, guild_id)
    if worth:
        await points.award(tx, guild_id, found.user_id, worth, "sale", f"sale:{order.shop}:{order.order_id}", now)
    return RecordResult("recorded", [LedgerEvent("sale_recorded", guild_id, found.user_id, sale_id)])


async def record_refund(
    tx: Transaction, guild_id: int, refund: RefundIn, *, source: Source, now: datetime
) -> RecordResult:
    """Reverse the refunded amount (capped at what is left) and the same share of the sale's points."""
    sale = await tx.fetchone(
        "SELECT * FROM sales WHERE guild_id = ? AND shop = ? AND order_id = ? AND kind = 'sale'",
        (guild_id, refund.shop, refund.order_id),
    )
    if sale is None:
        return RecordResult("no_sale")  # an order no ambassador's code brought in
    if refund.currency is not None and refund.currency != sale["currency"]:
        raise PayloadError(f"refund currency {refund.currency} differs from the sale's {sale['currency']}")
    done = await tx.fetchone(
        "SELECT 1 FROM sales WHERE guild_id = ? AND shop = ? AND order_id = ? AND kind = 'refund' AND entry_ref = ?",
        (guild_id, refund.shop, refund.order_id, refund.refund_id),
    )
    if done is not None:
        return RecordResult("duplicate")
    before = -int(
        await tx.fetchval(
            "SELECT COALESCE(SUM(net_minor), 0) FROM sales WHERE guild_id = ? AND shop = ? AND order_id = ?"
            " AND kind = 'refund'",
            (guild_id, refund.shop, refund.order_id),
        )
    )
    sale_net = int(sale["net_minor"])
    amount = min(refund.amount_minor, max(sale_net - before, 0))
    if amount <= 0:
        return RecordResult("duplicate")  # nothing left to reverse
    gross = _share(int(sale["gross_minor"]), amount, sale_net)
    cur = await tx.execute(
        """INSERT INTO sales (guild_id, kind, shop, order_id, entry_ref, order_name, code_id, code, user_id,
               gross_minor, discount_minor, net_minor, currency, occurred_at, recorded_at, source,
               code_retired, self_referral, email_hash)
           VALUES (?, 'refund', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (guild_id, refund.shop, refund.order_id, refund.refund_id, sale["order_name"], sale["code_id"], sale["code"],
         sale["user_id"], -gross, -(gross - amount), -amount, sale["currency"], to_db(refund.occurred_at),
         to_db(now), source, sale["code_retired"], sale["self_referral"], sale["email_hash"]),
    )  # fmt: skip
    refund_row = int(cur.lastrowid or 0)
    awarded = await tx.fetchval(
        "SELECT points FROM points_ledger WHERE guild_id = ? AND reference = ?",
        (guild_id, f"sale:{refund.shop}:{refund.order_id}"),
    )
    if awarded:
        # Cumulative shares, so several partial refunds reverse exactly the whole award in the end.
        reverse = _share(int(awarded), before + amount, sale_net) - _share(int(awarded), before, sale_net)
        if reverse:
            reference = f"refund:{refund.shop}:{refund.order_id}:{refund.refund_id}"
            await points.award(tx, guild_id, int(sale["user_id"]), -reverse, "refund", reference, now)
    return RecordResult("refund", [LedgerEvent("refund_recorded", guild_id, int(sale["user_id"]), refund_row)])


def _share(total: int, part: int, whole: int) -> int:
    """round(total * part / whole), half away from zero, in integers."""
    if whole <= 0:
        return total if part > 0 else 0
    return (2 * total * part + whole) // (2 * whole)


async def record_manual_sale(
    tx: Transaction,
    guild_id: int,
    *,
    order_id: str,
    code: str,
    amount: str,
    currency: str,
    actor_id: int,
    now: datetime,
) -> RecordResult:
    """A moderator's sale from a pop-up or event. Unknown codes and repeated order ids are refused."""
    try:
        cur = currency_code(currency)
        minor = to_minor(amount, cur, "amount")
    except PayloadError as exc:
        raise InvalidInput(f"That amount or currency isn't valid ({exc}).") from None
    order_key = order_id.strip()
    if not order_key or len(order_key) > 64:
        raise InvalidInput("Give an order id of 1–64 characters.")
    found = await codes.find_code(tx, guild_id, code)
    if found is None:
        raise InvalidInput(f"No ambassador has the code `{code.strip()[:40]}`.")
    order = OrderIn("manual", order_key, None, (found.code,), cur, minor, 0, now, True)
    result = await record_order(tx, guild_id, order, source="manual", now=now, settings=SalesSettings())
    if result.outcome == "duplicate":
        raise Conflict(f"Order `{order_key}` is already recorded.")
    await audit.record(tx, guild_id, actor_id, "sales.manual", found.user_id, now, order_id=order_key, amount=minor)
    return result


async def ingest_webhook(
    db: Database, guild_id: int, shop: Shop, event_id: str | None, topic: str, item: OrderIn | RefundIn, now: datetime
) -> RecordResult:
    """One delivery, one transaction: the event id is remembered together with what it recorded."""
    async with db.transaction() as tx:
        if event_id is not None:
            cur = await tx.execute(
                """INSERT INTO webhook_deliveries (guild_id, shop, event_id, topic, outcome, received_at)
                   VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING""",
                (guild_id, shop, event_id, topic, to_db(now)),
            )
            if cur.rowcount != 1:
                return RecordResult("duplicate")
        if isinstance(item, RefundIn):
            result = await record_refund(tx, guild_id, item, source="webhook", now=now)
        else:
            settings = await get_sales_settings(tx, guild_id)
            result = await record_order(tx, guild_id, item, source="webhook", now=now, settings=settings)
        if event_id is not None:
            await tx.execute(
                "UPDATE webhook_deliveries SET outcome = ? WHERE guild_id = ? AND shop = ? AND event_id = ?",
                (result.outcome, guild_id, shop, event_id),
            )
    return result
