"""What Collective needs from a brand's shop, whatever the platform: the seam between the bot and Shopify or
WooCommerce. ``ShopifyConnector`` (bot/shop/shopify_connector.py) and ``WooConnector`` (bot/shop/woocommerce_*.py)
implement it; code pushes (bot/shop/code_push.py), ``/shop sync``, the catch-up (bot/shop/catch_up.py), gift
orders (bot/shop/gift_orders.py) and store credit (bot/shop/store_credit.py) use only this. Every method raises
``bot.shop.errors.ShopError`` subclasses, never the transport's own exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from bot.services.gifting.addresses import ShippingDetails
from bot.services.sales.payloads import OrderIn
from bot.services.shop.discounts import CodeDiscount

Platform = Literal["shopify", "woocommerce"]

# Every discount Collective creates carries this in its title (Shopify) or description (WooCommerce): a code
# found in the shop with it is Collective's own and is adopted; one without it belongs to something else.
MARKER = "Collective ambassador code"


@dataclass(frozen=True)
class CodeSpec:
    """What the shop should hold for one ambassador code."""

    code: str
    discount: CodeDiscount
    active: bool  # paused and retired codes are deactivated (Shopify) or expired (WooCommerce), never deleted
    starts_at: datetime

    @property
    def title(self) -> str:
        return f"{MARKER} {self.code}"


@dataclass(frozen=True)
class RemoteCode:
    """A discount code as the shop holds it."""

    ref: str  # the shop's id: a DiscountCodeNode gid, a coupon id
    code: str
    title: str
    active: bool
    discount: CodeDiscount | None  # None when it is not a kind Collective makes (a BXGY, free shipping…)

    @property
    def ours(self) -> bool:
        return self.title.startswith(MARKER)


@dataclass(frozen=True)
class OrderPage:
    """One page of changed orders. ``reached``: every change before it has been read (the catch-up's cursor may
    move there once the page is in the ledger)."""

    orders: list[OrderIn]
    reached: datetime


@dataclass(frozen=True)
class ShopProduct:
    """A product in the store's catalogue, as a moderator picks it (a gift, a reward)."""

    ref: str  # the store's product id: a Product gid (Shopify), a product id (WooCommerce)
    title: str
    variant_ref: str | None  # what an order line names: the first variant's gid (Shopify), the product id (WooCommerce)
    price: Decimal | None  # in the store's currency


@dataclass(frozen=True)
class WebhookSubscription:
    id: str
    topic: str
    address: str


@dataclass(frozen=True)
class WebhookReport:
    kept: tuple[WebhookSubscription, ...]
    created: tuple[WebhookSubscription, ...]

    def describe(self) -> str:
        lines = [f"{s.topic} → {s.address} (already there)" for s in self.kept]
        lines += [f"{s.topic} → {s.address} (created)" for s in self.created]
        return "\n".join(lines)


class ShopConnector(Protocol):
    platform: Platform
    label: str  # the shop's domain or address: safe to show and log

    async def find_code(self, code: str) -> RemoteCode | None:
        """The discount the shop holds under ``code`` (case-insensitively), if any."""

    async def create_code(self, spec: CodeSpec) -> RemoteCode:
        """Create it; ``ShopUserErrors`` when the shop refuses (a taken code among them)."""

    async def update_code(self, ref: str, spec: CodeSpec) -> None:
        """Make the discount at ``ref`` give ``spec`` (value, conditions, title); activity via ``set_active``."""

    async def set_active(self, ref: str, active: bool) -> None:
        """Activate, or deactivate/expire, the discount at ``ref``. Doing it twice is harmless."""

    def orders_changed(self, since: datetime, until: datetime) -> AsyncIterator[OrderPage]:
        """Orders created or changed in ``[since, until)``, page by page, oldest change first, each with its
        codes and its refunds, parsed as strictly as a webhook body."""
        ...

    async def ensure_webhooks(self, address: str) -> WebhookReport:
        """The order and refund subscriptions the ledger needs, delivering to ``address``: kept or created."""

    # -- products --

    async def search_products(self, query: str, limit: int = 25) -> list[ShopProduct]:
        """Active products whose title contains ``query`` (all of them for an empty one), at most ``limit``."""

    # -- reward codes --

    async def create_single_use_code(self, spec: RewardCodeSpec) -> RemoteCode:
        """A code for a redeemed reward: usable once, by one customer, until ``spec.ends_at``; a fixed amount off the
        order or 100% off one product. ``ShopUserErrors`` when the shop refuses it."""
        ...

    # -- gift orders --

    async def find_gift_order(self, key: str) -> GiftOrder | None:
        """The gift order tagged ``key`` (its idempotency key), completed or not, if the shop holds one."""

    async def create_gift_order(self, spec: GiftOrderSpec) -> GiftOrder:
        """A draft of the gift's zero-value order (``ShopUserErrors`` when the shop refuses it)."""

    async def complete_gift_order(self, draft_ref: str) -> GiftOrder:
        """Turn the draft into an order the shop's fulfilment ships."""

    async def gift_shipment(self, order_ref: str) -> GiftShipment:
        """How far the gift order's fulfilment got."""

    # -- store credit --

    async def find_store_credit(self, code: str) -> StoreCredit | None:
        """The gift card or coupon the shop holds under ``code``, if any (a crash after the shop created it)."""

    async def create_store_credit(self, spec: StoreCreditSpec) -> StoreCredit:
        """A gift card (Shopify) or a ``fixed_cart`` coupon for one use by ``spec.email`` (WooCommerce) worth the
        amount. ``ShopError`` (not ``ShopUnavailable``) when ``spec.currency`` is not the shop's: no conversion."""


# -- reward codes --

# Every single-use reward code Collective creates carries this in its title (Shopify) or description (WooCommerce).
REWARD_MARKER = "Collective reward"


@dataclass(frozen=True)
class RewardCodeSpec:
    """A single-use code for one redemption: ``amount_minor`` off in ``currency``, or one ``product_id`` free."""

    code: str
    starts_at: datetime
    ends_at: datetime
    amount_minor: int | None = None
    currency: str | None = None
    product_id: str | None = None  # the shop's id for the product (a Product gid, or a WooCommerce product id)

    @property
    def title(self) -> str:
        return f"{REWARD_MARKER} {self.code}"


# -- gift orders --


@dataclass(frozen=True)
class GiftOrderSpec:
    """A gift as the shop should hold it: one unit of ``variant_ref``, 100 % off, shipped to ``address``."""

    key: str  # the idempotency key, kept on the order as a tag: one per member per campaign
    variant_ref: str
    what: str
    address: ShippingDetails
    note: str


@dataclass(frozen=True)
class GiftOrder:
    draft_ref: str
    order_ref: str | None  # None until the draft is completed
    order_name: str | None


@dataclass(frozen=True)
class GiftShipment:
    shipped: bool
    delivered: bool
    tracking_url: str | None


# -- store credit --

# Every gift card (its note) and coupon (its description) Collective creates for a statement carries this.
STORE_CREDIT_MARKER = "Collective store credit"


@dataclass(frozen=True)
class StoreCreditSpec:
    """The store credit a paid statement is owed: ``amount_minor`` in ``currency``, under ``code`` (chosen by
    Collective, secret: the idempotency key the shop is searched by before creating)."""

    statement_id: int
    code: str
    amount_minor: int
    currency: str
    email: str | None  # WooCommerce restricts the coupon to it; Shopify's gift card needs none

    @property
    def note(self) -> str:
        return f"{STORE_CREDIT_MARKER}: statement #{self.statement_id}"


@dataclass(frozen=True)
class StoreCredit:
    """A gift card (Shopify) or coupon (WooCommerce) as the shop holds it."""

    ref: str  # a GiftCard gid, a coupon id
    note: str

    @property
    def ours(self) -> bool:
        return self.note.startswith(STORE_CREDIT_MARKER)
