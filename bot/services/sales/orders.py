"""Recording sales and refunds in the attribution ledger, exactly once, whatever the source.

Every path (webhooks, CSV import, a moderator's manual sale) ends in ``record_order`` / ``record_refund``
inside the caller's transaction. The rules themselves live in ``bot/services/sales/ledger.py`` as plain sqlite3
calls; these async wrappers run them in the writer's thread in one hop (``Transaction.run``). Idempotency comes
from the database (see that module). CSV imports use the shop ``shopify`` too, so an order seen by webhook and
in an export counts once.
"""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput
from bot.services.program import audit
from bot.services.sales import codes
from bot.services.sales import ledger as order_ledger
from bot.services.sales.ledger import (
    LedgerEvent,
    RecordOutcome,
    RecordResult,
    SalesSettings,
    Source,
    email_hash,
)
from bot.services.sales.payloads import OrderIn, PayloadError, RefundIn, currency_code, to_minor

__all__ = [
    "LedgerEvent",
    "RecordOutcome",
    "RecordResult",
    "SalesSettings",
    "Source",
    "email_hash",
    "get_sales_settings",
    "note_unknown_code",
    "record_manual_sale",
    "record_order",
    "record_refund",
    "set_sales_settings",
]


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


async def note_unknown_code(tx: Transaction, guild_id: int, code: str, order_id: str, now: datetime) -> None:
    await tx.run(lambda sql: order_ledger.note_unknown_code(sql, guild_id, code, order_id, now))


async def record_order(
    tx: Transaction, guild_id: int, order: OrderIn, *, source: Source, now: datetime, settings: SalesSettings
) -> RecordResult:
    """Store the order once; when it counts (paid, or unpaid counting is on) attribute it once."""
    return await tx.run(
        lambda sql: order_ledger.record_order(sql, guild_id, order, source=source, now=now, settings=settings)
    )


async def record_refund(
    tx: Transaction, guild_id: int, refund: RefundIn, *, source: Source, now: datetime
) -> RecordResult:
    """Reverse the refunded amount (capped at what is left) and the same share of the sale's points."""
    return await tx.run(lambda sql: order_ledger.record_refund(sql, guild_id, refund, source=source, now=now))


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
