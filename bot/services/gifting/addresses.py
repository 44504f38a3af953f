"""A member's shipping details as stored: read by the few who may see them (the member, the order push, the
moderators' fulfilment queue). The rules for writing and erasing them are bot/services/gifting/shipping.py."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db import Database, Transaction


@dataclass(frozen=True)
class ShippingDetails:
    name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2
    phone: str | None = None

    @property
    def address_text(self) -> str:
        """The address block, one part a line (the member's own view, the queue, a label)."""
        lines = [self.name, self.line1, self.line2, f"{self.postal_code} {self.city}", self.country]
        if self.phone:
            lines.append(f"☎ {self.phone}")
        return "\n".join(line for line in lines if line)


async def get_details(db: Database | Transaction, guild_id: int, user_id: int) -> ShippingDetails | None:
    row = await db.fetchone(
        "SELECT name, line1, line2, city, postal_code, country, phone FROM shipping_details"
        " WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
    return None if row is None else ShippingDetails(*row)
