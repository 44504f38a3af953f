"""What an ambassador's code gives at checkout: a program setting, with optional per-tier values.

The program's default row has tier ``''``; a tier with a row of its own gives that instead. Without any row a
code gives ``DEFAULT`` (10 % off, once per customer), so a program that connects a shop before choosing still
gets working codes. Changing a discount re-pushes every usable code it applies to (``code_state.mark_codes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.errors import InvalidInput
from bot.services.program import audit, tiers
from bot.services.sales.payloads import PayloadError, currency_code, format_minor, to_minor

Kind = Literal["percentage", "fixed"]


@dataclass(frozen=True)
class CodeDiscount:
    kind: Kind
    value: int  # whole percent 1–100, or minor units of ``currency``
    currency: str | None = None
    once_per_customer: bool = True
    minimum_minor: int | None = None  # a minimum order subtotal, in the discount's (or the shop's) currency
    combines_order: bool = False
    combines_product: bool = False
    combines_shipping: bool = True

    def describe(self) -> str:
        value = (
            f"{self.value}% off"
            if self.kind == "percentage"
            else f"{format_minor(self.value, self.currency or 'USD')} off"
        )
        parts = [value]
        if self.minimum_minor:
            parts.append(f"orders from {format_minor(self.minimum_minor, self.currency or 'USD')}")
        parts.append("once per customer" if self.once_per_customer else "no per-customer limit")
        combines = [name for name, on in (("order", self.combines_order), ("product", self.combines_product),
                                          ("shipping", self.combines_shipping)) if on]  # fmt: skip
        parts.append(f"combines with {', '.join(combines)} discounts" if combines else "combines with nothing")
        return ", ".join(parts)


DEFAULT = CodeDiscount("percentage", 10)


@dataclass(frozen=True)
class DiscountSetting:
    tier: str  # '' for the program's default
    discount: CodeDiscount


def _from_row(r: Any) -> CodeDiscount:
    return CodeDiscount(
        r["kind"], int(r["value"]), r["currency"], bool(r["once_per_customer"]),
        None if r["minimum_minor"] is None else int(r["minimum_minor"]),
        bool(r["combines_order"]), bool(r["combines_product"]), bool(r["combines_shipping"]),
    )  # fmt: skip


async def discount_for(db: Database | Transaction, guild_id: int, tier: str | None) -> CodeDiscount:
    """What a member of ``tier`` gets: the tier's own discount, else the program's, else ``DEFAULT``."""
    rows = await db.fetchall(
        "SELECT * FROM code_discounts WHERE guild_id = ? AND tier IN ('', ?) ORDER BY tier DESC", (guild_id, tier or "")
    )
    return _from_row(rows[0]) if rows else DEFAULT


async def list_discounts(db: Database | Transaction, guild_id: int) -> list[DiscountSetting]:
    rows = await db.fetchall("SELECT * FROM code_discounts WHERE guild_id = ? ORDER BY tier", (guild_id,))
    settings = [DiscountSetting(row["tier"], _from_row(row)) for row in rows]
    if not any(s.tier == "" for s in settings):
        settings.insert(0, DiscountSetting("", DEFAULT))
    return settings


def parse_discount(
    kind: Kind,
    value: str,
    *,
    currency: str | None,
    once_per_customer: bool,
    minimum: str | None,
    combines_order: bool,
    combines_product: bool,
    combines_shipping: bool,
) -> CodeDiscount:
    """A moderator's typed discount, checked; ``InvalidInput`` says what is wrong."""
    text = value.strip().rstrip("%").strip()
    cur: str | None = None
    if currency is not None and currency.strip():
        try:
            cur = currency_code(currency.strip().upper())
        except PayloadError:
            raise InvalidInput("Give the currency as a three-letter code, like EUR or USD.") from None
    if kind == "percentage":
        # (length first: int() refuses thousands of digits; isascii: isdigit accepts '²', which int() does not)
        if not (text.isascii() and text.isdigit() and len(text) <= 3) or not 1 <= int(text) <= 100:
            raise InvalidInput("A percentage discount is a whole number from 1 to 100.")
        amount = int(text)
    else:
        if cur is None:
            raise InvalidInput("A fixed-amount discount needs its currency (the shop's), like EUR.")
        try:
            amount = to_minor(text, cur, "value")
        except PayloadError:
            raise InvalidInput(f"`{value[:20]}` isn't an amount in {cur}.") from None
        if amount <= 0:
            raise InvalidInput("A fixed-amount discount must be more than zero.")
    minimum_minor: int | None = None
    if minimum is not None and minimum.strip():
        if cur is None:
            raise InvalidInput("A minimum order needs its currency, like EUR.")
        try:
            minimum_minor = to_minor(minimum.strip(), cur, "minimum")
        except PayloadError:
            raise InvalidInput(f"`{minimum[:20]}` isn't an amount in {cur}.") from None
        if minimum_minor <= 0:
            minimum_minor = None
    return CodeDiscount(kind, amount, cur, once_per_customer, minimum_minor, combines_order, combines_product,
                        combines_shipping)  # fmt: skip


async def set_discount(
    tx: Transaction, guild_id: int, tier: str | None, discount: CodeDiscount, now: datetime, *, actor_id: int
) -> int:
    """Store the discount for ``tier`` (None: the program's default) and re-push the codes it applies to.
    Returns how many codes will be updated in the shop."""
    from bot.services.shop import code_state  # code_state reads discounts; this is the one way back

    key = ""
    if tier is not None:
        key = (await tiers.get_tier(tx, guild_id, tier)).key
    await tx.execute(
        """INSERT INTO code_discounts (guild_id, tier, kind, value, currency, once_per_customer, minimum_minor,
               combines_order, combines_product, combines_shipping, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (guild_id, tier) DO UPDATE SET kind = excluded.kind, value = excluded.value,
               currency = excluded.currency, once_per_customer = excluded.once_per_customer,
               minimum_minor = excluded.minimum_minor, combines_order = excluded.combines_order,
               combines_product = excluded.combines_product, combines_shipping = excluded.combines_shipping,
               updated_at = excluded.updated_at""",
        (guild_id, key, discount.kind, discount.value, discount.currency, int(discount.once_per_customer),
         discount.minimum_minor, int(discount.combines_order), int(discount.combines_product),
         int(discount.combines_shipping), to_db(now)),
    )  # fmt: skip
    await audit.record(tx, guild_id, actor_id, "shop.discount", None, now, tier=key or "default",
                       discount=discount.describe())  # fmt: skip
    return await code_state.mark_codes(tx, guild_id, now, tier=key or None)
