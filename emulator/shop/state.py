"""The fake shop's data: discounts, orders with their refunds and fulfillments, draft orders, products, webhook
subscriptions.

Plain dataclasses (gift cards': emulator/shop/gift_cards.py); `emulator.shop.shopify` turns them into the GraphQL
shapes and the webhook bodies.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.shop.gift_cards import GiftCard

ACTIVE = "ACTIVE"
EXPIRED = "EXPIRED"
SCHEDULED = "SCHEDULED"


def iso(moment: datetime) -> str:
    """Shopify's GraphQL DateTime: ISO 8601 in UTC with a `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(value: Decimal) -> str:
    """Money is a decimal string with two places, as in Shopify's examples ("10.00")."""
    return str(value.quantize(Decimal("0.01")))


@dataclass
class Discount:
    id: int  # DiscountCodeNode legacy id
    code_id: int  # DiscountRedeemCode legacy id
    code: str
    title: str
    starts_at: datetime
    ends_at: datetime | None
    created_at: datetime
    updated_at: datetime
    percentage: float | None = None  # 0.1 is 10 %, as in DiscountCustomerGetsValueInput.percentage
    amount: Decimal | None = None  # a fixed amount off
    applies_on_each_item: bool = False
    applies_once_per_customer: bool = False
    usage_limit: int | None = None
    combines_with: dict[str, bool] = field(
        default_factory=lambda: {"productDiscounts": False, "orderDiscounts": False, "shippingDiscounts": False}
    )
    minimum_subtotal: Decimal | None = None
    product_ids: list[str] = field(default_factory=list)  # customerGets.items.products: only these (gids); [] = all
    times_used: int = 0  # orders placed with the code (checked against usage_limit at checkout)

    @property
    def gid(self) -> str:
        return f"gid://shopify/DiscountCodeNode/{self.id}"

    def status_at(self, now: datetime) -> str:
        # Shopify derives the status from the dates: deactivating sets endsAt to now, activating clears it.
        if self.starts_at > now:
            return SCHEDULED
        if self.ends_at is not None and self.ends_at <= now:
            return EXPIRED
        return ACTIVE


@dataclass
class Refund:
    id: int
    created_at: datetime
    amount: Decimal

    @property
    def gid(self) -> str:
        return f"gid://shopify/Refund/{self.id}"


@dataclass
class Fulfillment:
    """A shipment of an order (the whole order: the fake fulfils everything at once)."""

    id: int
    created_at: datetime
    updated_at: datetime
    tracking_url: str | None
    delivered_at: datetime | None = None

    @property
    def gid(self) -> str:
        return f"gid://shopify/Fulfillment/{self.id}"


@dataclass
class Order:
    id: int
    number: int
    created_at: datetime
    updated_at: datetime
    currency: str
    total: Decimal  # what the customer paid: line items after the discount (the fake has no shipping or tax)
    discount: Decimal  # the discount the code gave
    code: str | None  # the discount code as the customer typed it (the shop's spelling)
    financial_status: str = "PAID"  # OrderDisplayFinancialStatus
    refunds: list[Refund] = field(default_factory=list)
    email: str | None = None  # the buyer's
    fulfillments: list[Fulfillment] = field(default_factory=list)  # emulator/shop/draft_orders.py
    shipping_address: dict[str, str | None] | None = None  # MailingAddressInput's fields, as given
    tags: list[str] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return f"gid://shopify/Order/{self.id}"

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal("0"))


@dataclass
class WebhookSubscription:
    id: int
    topic: str  # WebhookSubscriptionTopic, e.g. ORDERS_CREATE
    callback_url: str
    format: str
    created_at: datetime
    updated_at: datetime

    @property
    def gid(self) -> str:
        return f"gid://shopify/WebhookSubscription/{self.id}"


@dataclass
class Variant:
    id: int
    title: str
    price: Decimal

    @property
    def gid(self) -> str:
        return f"gid://shopify/ProductVariant/{self.id}"


@dataclass
class Product:
    id: int
    title: str
    handle: str
    status: str  # ACTIVE, DRAFT, ARCHIVED
    variants: list[Variant]
    created_at: datetime

    @property
    def gid(self) -> str:
        return f"gid://shopify/Product/{self.id}"


@dataclass
class DraftLine:
    variant_id: int | None
    title: str
    quantity: int
    price: Decimal  # the unit price before the discount


@dataclass
class DraftOrder:
    id: int
    created_at: datetime
    updated_at: datetime
    lines: list[DraftLine]
    discount_percentage: Decimal  # an order-level appliedDiscount as a percentage (0–100); 0 when none
    shipping_address: dict[str, str | None] | None
    tags: list[str]
    note: str | None
    email: str | None
    status: str = "OPEN"  # DraftOrderStatus
    order_id: int | None = None  # once completed
    completed_at: datetime | None = None

    @property
    def gid(self) -> str:
        return f"gid://shopify/DraftOrder/{self.id}"

    @property
    def name(self) -> str:
        return f"#D{self.id - 6_000_000}"

    @property
    def subtotal(self) -> Decimal:
        return sum((line.price * line.quantity for line in self.lines), Decimal("0"))

    @property
    def discount(self) -> Decimal:
        return (self.subtotal * self.discount_percentage / 100).quantize(Decimal("0.01"))


class ShopState:
    """One shop's records. Codes are unique per shop and compared case-insensitively, as Shopify does."""

    def __init__(self) -> None:
        self.discounts: dict[str, Discount] = {}  # key: code.upper()
        self.orders: dict[int, Order] = {}
        self.webhooks: dict[int, WebhookSubscription] = {}
        self.products: dict[int, Product] = {}
        self.draft_orders: dict[int, DraftOrder] = {}
        self.gift_cards: dict[int, GiftCard] = {}
        # Distinct ranges make ids of different kinds hard to confuse in a test failure.
        self._discount_ids = itertools.count(1_000_001)
        self._code_ids = itertools.count(2_000_001)
        self._order_ids = itertools.count(5_000_001)
        self._order_numbers = itertools.count(1001)
        self._refund_ids = itertools.count(7_000_001)
        self._webhook_ids = itertools.count(9_000_001)
        self._product_ids = itertools.count(8_000_001)
        self._variant_ids = itertools.count(4_000_001)
        self._draft_ids = itertools.count(6_000_001)
        self._fulfillment_ids = itertools.count(3_000_001)
        self._gift_card_ids = itertools.count(1_500_001)

    def next_discount_ids(self) -> tuple[int, int]:
        return next(self._discount_ids), next(self._code_ids)

    def next_order_ids(self) -> tuple[int, int]:
        return next(self._order_ids), next(self._order_numbers)

    def next_refund_id(self) -> int:
        return next(self._refund_ids)

    def next_webhook_id(self) -> int:
        return next(self._webhook_ids)

    def next_product_ids(self, variants: int) -> tuple[int, list[int]]:
        return next(self._product_ids), [next(self._variant_ids) for _ in range(variants)]

    def next_draft_id(self) -> int:
        return next(self._draft_ids)

    def next_fulfillment_id(self) -> int:
        return next(self._fulfillment_ids)

    def next_gift_card_id(self) -> int:
        return next(self._gift_card_ids)

    def variant(self, gid: str) -> tuple[Product, Variant] | None:
        for product in self.products.values():
            for variant in product.variants:
                if variant.gid == gid:
                    return product, variant
        return None

    def discount_by_code(self, code: str) -> Discount | None:
        return self.discounts.get(code.upper())

    def discount_by_gid(self, gid: str) -> Discount | None:
        return next((d for d in self.discounts.values() if d.gid == gid), None)
