"""The fake WooCommerce store's records: API keys, coupons, orders with their refunds, webhooks.

Plain dataclasses; the route modules turn them into the REST API's JSON. WordPress keeps times to the second and
shows each date twice: in the site's timezone (``date_created``) and in GMT (``date_created_gmt``), both without an
offset. Coupons, orders and refunds are WordPress posts, so they draw their ids from one sequence; webhooks live in
a table of their own.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from emulator.shop.clock import Clock

Permission = Literal["read", "write", "read_write"]
DISCOUNT_TYPES = ("percent", "fixed_cart", "fixed_product")
WEBHOOK_STATUSES = ("active", "paused", "disabled")
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash")
PAID_STATUSES = ("processing", "completed", "on-hold")


def stamp(clock: Clock) -> datetime:
    """The store's current time as WordPress stores it: UTC, DATETIME columns without fractions of a second."""
    return clock.now().astimezone(UTC).replace(microsecond=0)


def wc_date(moment: datetime | None, offset: timedelta = timedelta(0)) -> str | None:
    """``wc_rest_prepare_date_response``: ``YYYY-MM-DDTHH:MM:SS`` with no offset (GMT, or local when shifted)."""
    if moment is None:
        return None
    return (moment.astimezone(UTC) + offset).strftime("%Y-%m-%dT%H:%M:%S")


def decimal_2(value: Decimal) -> str:
    """``wc_format_decimal($value, 2)``: money and amounts as strings with two places."""
    return str(value.quantize(Decimal("0.01")))


@dataclass
class ApiKey:
    """A REST API key (WooCommerce → Settings → Advanced → REST API) for a user who may manage the shop."""

    consumer_key: str
    consumer_secret: str
    permissions: Permission = "read_write"
    manages_shop: bool = True  # the key's user is an administrator or shop manager

    def allows(self, method: str) -> bool:
        if method in ("GET", "HEAD"):
            return self.permissions in ("read", "read_write")
        return self.permissions in ("write", "read_write")


@dataclass
class MetaItem:
    id: int
    key: str
    value: object


@dataclass
class Coupon:
    id: int
    code: str  # lower case: WooCommerce formats every code with wc_strtolower
    created: datetime
    modified: datetime
    amount: Decimal = Decimal("0")
    status: str = "publish"
    discount_type: str = "fixed_cart"
    description: str = ""
    expires: datetime | None = None
    usage_count: int = 0
    individual_use: bool = False
    product_ids: list[int] = field(default_factory=list)
    excluded_product_ids: list[int] = field(default_factory=list)
    usage_limit: int = 0  # 0 is "no limit" and shows as null
    usage_limit_per_user: int = 0
    limit_usage_to_x_items: int = 0
    free_shipping: bool = False
    product_categories: list[int] = field(default_factory=list)
    excluded_product_categories: list[int] = field(default_factory=list)
    exclude_sale_items: bool = False
    minimum_amount: Decimal = Decimal("0")
    maximum_amount: Decimal = Decimal("0")
    email_restrictions: list[str] = field(default_factory=list)
    used_by: list[str] = field(default_factory=list)
    meta_data: list[MetaItem] = field(default_factory=list)

    def expired_at(self, now: datetime) -> bool:
        # WC_Discounts::validate_coupon_expiry_date: expired once the current time is past date_expires.
        return self.expires is not None and now > self.expires

    def usable_at(self, now: datetime) -> bool:
        return self.status == "publish" and not self.expired_at(now)


@dataclass
class Refund:
    id: int
    created: datetime
    amount: Decimal  # positive here; the order lists it as a negative total
    reason: str = ""


@dataclass
class Order:
    id: int
    status: str
    currency: str
    created: datetime
    modified: datetime
    subtotal: Decimal  # the line items before the discount
    discount: Decimal
    code: str | None  # the coupon line's code, as the store keeps it (lower case)
    email: str
    order_key: str
    paid: datetime | None = None
    completed: datetime | None = None
    refunds: list[Refund] = field(default_factory=list)
    product_id: int = 11  # the one line item's product

    @property
    def number(self) -> str:
        return str(self.id)

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount  # the fake has no shipping, fees or tax

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal("0"))


@dataclass
class Webhook:
    id: int
    name: str
    status: str
    topic: str
    delivery_url: str
    secret: str
    created: datetime
    modified: datetime
    failure_count: int = 0

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1] if "." in self.topic else ""


class WooState:
    """One store's records. Coupons are found by code case-insensitively, trashed ones never."""

    def __init__(self) -> None:
        self.coupons: dict[int, Coupon] = {}
        self.orders: dict[int, Order] = {}
        self.webhooks: dict[int, Webhook] = {}
        self._post_ids = itertools.count(101)  # coupons, orders and refunds are posts: one id sequence
        self._webhook_ids = itertools.count(1)
        self._meta_ids = itertools.count(5001)
        self._line_ids = itertools.count(9001)

    def next_post_id(self) -> int:
        return next(self._post_ids)

    def next_webhook_id(self) -> int:
        return next(self._webhook_ids)

    def next_meta_id(self) -> int:
        return next(self._meta_ids)

    def next_line_id(self) -> int:
        return next(self._line_ids)

    def coupon_by_code(self, code: str, *, excluding: int | None = None) -> Coupon | None:
        """``wc_get_coupon_id_by_code``: the newest published-or-draft coupon with that code (never the trash)."""
        wanted = code.strip().lower()
        found = [c for c in self.coupons.values() if c.code == wanted and c.status != "trash" and c.id != excluding]
        return max(found, key=lambda c: c.id) if found else None
