"""Gift cards in the fake shop — how an app gives store credit: `giftCardCreate` (an initial value in the shop's
currency, an optional code of 8-20 letters and digits, a note) answering the full code once (`giftCardCode`), and
`giftCards(query:)` searched by code (the search's default field), each card showing only its last characters
and a masked code afterwards, as Shopify does. Refusals are Shopify's 2025-01 ones (`GiftCardErrorCode`).
`spend(code, amount)` is the test's checkout: it draws on the balance of an enabled card.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from emulator.shop.clock import Clock
from emulator.shop.paging import page
from emulator.shop.state import ShopState, iso, money

_CODE = re.compile(r"[A-Za-z0-9]+")
_TERM = re.compile(r"(?:(\w+):)?(?:'([^']*)'|\"([^\"]*)\"|(\S+))")
_MAX_VALUE = Decimal("10000")  # a shop's default gift card limit, per card


@dataclass
class GiftCard:
    id: int
    code: str  # lower case: codes are not case-sensitive
    initial_value: Decimal
    balance: Decimal
    currency: str
    note: str | None
    created_at: datetime
    updated_at: datetime
    enabled: bool = True

    @property
    def gid(self) -> str:
        return f"gid://shopify/GiftCard/{self.id}"


def _error(code: str, field: list[str], message: str) -> dict[str, Any]:
    return {"giftCard": None, "giftCardCode": None, "userErrors": [{"code": code, "field": field, "message": message}]}


class GiftCardResolvers:
    """Mixed into FakeShopify: gift cards over its `state`, and `spend` for tests."""

    state: ShopState
    clock: Clock
    currency: str

    # ---- test API --------------------------------------------------------------------------------------

    @property
    def gift_cards(self) -> list[GiftCard]:
        return sorted(self.state.gift_cards.values(), key=lambda g: g.id)

    def gift_card_by_code(self, code: str) -> GiftCard | None:
        return next((g for g in self.state.gift_cards.values() if g.code == code.strip().lower()), None)

    def spend(self, code: str, amount: str | Decimal) -> Decimal:
        """A checkout paying ``amount`` with the card; returns the balance left. ``ValueError`` when it can't."""
        card = self.gift_card_by_code(code)
        value = Decimal(str(amount))
        if card is None or not card.enabled:
            raise ValueError("This gift card code is invalid")
        if value > card.balance:
            raise ValueError("The gift card's balance is lower than the amount")
        card.balance -= value
        card.updated_at = self.clock.now()
        return card.balance

    # ---- GraphQL ---------------------------------------------------------------------------------------

    def _gift_card_node(self, g: GiftCard) -> dict[str, Any]:
        last = g.code[-4:]
        return {
            "id": g.gid,
            "legacyResourceId": str(g.id),
            "enabled": g.enabled,
            "note": g.note,
            "lastCharacters": last,
            "maskedCode": f"•••• •••• •••• {last}",
            "createdAt": iso(g.created_at),
            "updatedAt": iso(g.updated_at),
            "deactivatedAt": None if g.enabled else iso(g.updated_at),
            "expiresOn": None,
            "initialValue": {"amount": money(g.initial_value), "currencyCode": g.currency},
            "balance": {"amount": money(g.balance), "currencyCode": g.currency},
            "customer": None,
            "order": None,
            "templateSuffix": None,
        }

    def _q_gift_cards(self, _info: Any, **args: Any) -> dict[str, Any]:
        found = self.gift_cards
        if args.get("reverse"):
            found.reverse()
        for m in _TERM.finditer(args.get("query") or ""):
            name, value = m.group(1), next(g for g in m.groups()[1:] if g is not None)
            if name is None:  # the default field: the code, whole
                found = [g for g in found if g.code == value.lower()]
            elif name.lower() == "status":
                found = [
                    g for g in found if (g.enabled and value == "enabled") or (not g.enabled and value == "disabled")
                ]
        return page(found, args, lambda g: str(g.id), self._gift_card_node)

    def _q_gift_card(self, _info: Any, id: str) -> dict[str, Any] | None:
        found = next((g for g in self.state.gift_cards.values() if g.gid == id), None)
        return None if found is None else self._gift_card_node(found)

    def _m_gift_card_create(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        try:
            value = Decimal(str(input["initialValue"]))
        except (InvalidOperation, KeyError):
            return _error("INVALID", ["initialValue"], "Initial value is invalid")
        if value <= 0:
            return _error("GREATER_THAN", ["initialValue"], "Initial value must be greater than 0")
        if value > _MAX_VALUE:
            return _error("GIFT_CARD_LIMIT_EXCEEDED", ["initialValue"], "Initial value exceeds the gift card limit")
        code = input.get("code")
        if code is None:
            code = secrets.token_hex(8)
        elif len(code) < 8:
            return _error("TOO_SHORT", ["code"], "Code is too short (minimum is 8 characters)")
        elif len(code) > 20:
            return _error("TOO_LONG", ["code"], "Code is too long (maximum is 20 characters)")
        elif not _CODE.fullmatch(code):
            return _error("INVALID", ["code"], "Code can only contain letters and numbers")
        if self.gift_card_by_code(code) is not None:
            return _error("TAKEN", ["code"], "Code has already been taken")
        now = self.clock.now()
        card = GiftCard(self.state.next_gift_card_id(), code.lower(), value, value, self.currency, input.get("note"),
                        now, now)  # fmt: skip
        self.state.gift_cards[card.id] = card
        return {"giftCard": self._gift_card_node(card), "giftCardCode": code, "userErrors": []}
