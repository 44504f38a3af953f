"""Store credit: how an ambassador chooses to be paid (cash or the brand's store credit), and the credit a paid
store-credit statement is owed in the shop.

A member's method is stored per member (``payout_methods``). Store credit can only be chosen while the program's
shop is connected: without one there is nothing to create the credit in. When a statement is marked paid, the
method in force then is written on the statement; a member who chose store credit after their shop was
disconnected is paid by hand (the statement says cash, and the moderator is told so when marking it paid).

A store-credit statement owes one credit in the shop, written in the paid unit of work with its code (random,
chosen here, secret — never logged nor audited) and an outbox row: bot/shop/store_credit.py finds or creates the
gift card (Shopify) or coupon (WooCommerce) under that code, so a retry or a crash never makes two. Once created,
the member is sent the code by DM once (``CREDIT_READY``); a refusal (another currency than the shop's, no email
for a WooCommerce coupon) is recorded and moderators are told to pay it another way (``CREDIT_REFUSED``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.errors import InvalidInput
from bot.services.program import audit
from bot.services.program.members import require_ambassador
from bot.services.shop.connection import get_connection
from bot.storage.statements import Row

Method = Literal["cash", "store_credit"]
METHOD_LABELS: dict[str, str] = {"cash": "cash", "store_credit": "store credit"}
# Outbox topics, each {"statement_id": …} keyed by the statement id.
CREDIT_OWED = "payouts.store_credit"  # create the credit in the shop
CREDIT_READY = "payouts.store_credit_ready"  # send its code to the member
CREDIT_REFUSED = "payouts.store_credit_refused"  # tell moderators to pay another way
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or typed from a DM
CODE_LENGTH = 16  # Shopify takes 8-20 letters and digits; WooCommerce any


@dataclass(frozen=True)
class Credit:
    statement_id: int
    guild_id: int
    user_id: int
    platform: str
    code: str
    amount_minor: int
    currency: str
    status: str
    remote_ref: str | None
    problem: str | None


def new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


async def get_method(db: Database | Transaction, guild_id: int, user_id: int) -> Method:
    value = await db.fetchval("SELECT method FROM payout_methods WHERE guild_id = ? AND user_id = ?",
                              (guild_id, user_id))  # fmt: skip
    return "store_credit" if value == "store_credit" else "cash"


async def set_method(tx: Transaction, guild_id: int, user_id: int, method: str, now: datetime) -> tuple[Method, Method]:
    """Record the member's choice; (before, after). Store credit needs a connected shop."""
    if method not in METHOD_LABELS:
        raise InvalidInput("Pick cash or store credit from the list.")
    await require_ambassador(tx, guild_id, user_id)
    chosen: Method = "store_credit" if method == "store_credit" else "cash"
    if chosen == "store_credit" and await get_connection(tx, guild_id) is None:
        raise InvalidInput(
            "Store credit isn't available: the brand's shop isn't connected to Collective yet, so there's nowhere "
            "to create it. You stay on cash; ask a moderator if you'd like store credit."
        )
    before = await get_method(tx, guild_id, user_id)
    if before != chosen:
        await tx.execute(
            """INSERT INTO payout_methods (guild_id, user_id, method, updated_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (guild_id, user_id)
               DO UPDATE SET method = excluded.method, updated_at = excluded.updated_at""",
            (guild_id, user_id, chosen, to_db(now)),
        )
        await audit.record(tx, guild_id, user_id, "payouts.method", user_id, now, method=chosen, before=before)
    return before, chosen


async def method_to_pay(tx: Transaction, guild_id: int, user_id: int) -> tuple[Method, str | None]:
    """The method a statement is paid by now, and the shop's platform when it is store credit."""
    if await get_method(tx, guild_id, user_id) != "store_credit":
        return "cash", None
    shop = await get_connection(tx, guild_id)
    return ("cash", None) if shop is None else ("store_credit", shop.platform)


async def owe(
    tx: Transaction, guild_id: int, statement_id: int, user_id: int, platform: str, amount_minor: int, currency: str,
    now: datetime,
) -> None:  # fmt: skip
    """In the paid unit of work: the credit is owed, and the outbox will create it in the shop (once per statement)."""
    await tx.execute(
        """INSERT INTO store_credits (statement_id, guild_id, user_id, platform, code, amount_minor, currency,
               created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (statement_id) DO NOTHING""",
        (statement_id, guild_id, user_id, platform, new_code(), amount_minor, currency, to_db(now)),
    )
    await tx.emit(guild_id, CREDIT_OWED, now, {"statement_id": statement_id}, key=str(statement_id))


def _credit(r: Row) -> Credit:
    return Credit(
        int(r["statement_id"]), int(r["guild_id"]), int(r["user_id"]), str(r["platform"]), str(r["code"]),
        int(r["amount_minor"]), str(r["currency"]), str(r["status"]), r["remote_ref"], r["problem"],
    )  # fmt: skip


async def find_credit(db: Database | Transaction, statement_id: int) -> Credit | None:
    row = await db.fetchone("SELECT * FROM store_credits WHERE statement_id = ?", (statement_id,))
    return None if row is None else _credit(row)


async def owed_credits(db: Database | Transaction, guild_id: int, *, older_than: datetime | None = None) -> list[int]:
    """Statements whose credit the shop has not made yet (``older_than``: owed since before then)."""
    since = "" if older_than is None else " AND created_at <= ?"
    rows = await db.fetchall(
        f"SELECT statement_id FROM store_credits WHERE guild_id = ? AND status = 'owed'{since} ORDER BY statement_id",
        (guild_id,) if older_than is None else (guild_id, to_db(older_than)),
    )
    return [int(r[0]) for r in rows]


async def record_created(tx: Transaction, statement_id: int, remote_ref: str, now: datetime) -> bool:
    """The shop holds the credit: recorded once, and its code goes to the member (once). False if already done."""
    changed = await tx.execute(
        "UPDATE store_credits SET status = 'created', remote_ref = ?, done_at = ? WHERE statement_id = ?"
        " AND status = 'owed'",
        (remote_ref, to_db(now), statement_id),
    )
    if not changed:
        return False
    credit = await find_credit(tx, statement_id)
    assert credit is not None
    await tx.emit(credit.guild_id, CREDIT_READY, now, {"statement_id": statement_id}, key=str(statement_id))
    return True  # not audited again: the paid mark's audit entry already says it was paid in store credit


async def record_refused(tx: Transaction, statement_id: int, problem: str, now: datetime) -> bool:
    """The shop refused the credit: moderators pay it another way (told once)."""
    text = problem[:500]
    changed = await tx.execute(
        "UPDATE store_credits SET status = 'refused', problem = ?, done_at = ? WHERE statement_id = ?"
        " AND status = 'owed'",
        (text, to_db(now), statement_id),
    )
    if not changed:
        return False
    credit = await find_credit(tx, statement_id)
    assert credit is not None
    await tx.emit(credit.guild_id, CREDIT_REFUSED, now, {"statement_id": statement_id}, key=str(statement_id))
    await audit.record(tx, credit.guild_id, None, "payouts.store_credit_refused", credit.user_id, now,
                       statement=statement_id, problem=text)  # fmt: skip
    return True


async def codes_of_member(db: Database | Transaction, guild_id: int, user_id: int) -> dict[int, str]:
    """The codes of the member's created store credits, by statement (for their own eyes: /payouts mine)."""
    rows = await db.fetchall(
        "SELECT statement_id, code FROM store_credits WHERE guild_id = ? AND user_id = ? AND status = 'created'",
        (guild_id, user_id),
    )
    return {int(r[0]): str(r[1]) for r in rows}
