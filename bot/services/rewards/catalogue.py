"""The rewards catalogue: what members can spend points on, as moderators set it up.

A reward has a title, a description, an optional image (a link, or an uploaded file kept in ``reward_images``), a
cost in points, a stock (``None``: unlimited; otherwise how many are *left*), an optional per-member limit and an
optional tier, and one of three kinds:

- ``code``: a single-use discount created in the shop at redemption — a fixed amount off, or 100% off one product —
  valid ``code_days`` days;
- ``role``: a Discord role for ``role_days`` days, taken back by a durable timer;
- ``perk``: something a moderator hands out (a call with the founder, a signed note): it waits in the
  moderators' queue until one marks it given;
- ``ship``: a product to ship — redeeming it puts it in the gifting fulfilment queue with the member's shipping
  details (a zero-value order when it names a variant of a connected Shopify store; moderators' ``/fulfilment``
  otherwise), see bot/services/rewards/shipped.py.

Retiring a reward takes it out of the catalogue; redemptions already made go on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotFound
from bot.services.inputs.links import check_link
from bot.services.inputs.typed_text import refuse_nul
from bot.services.program import audit, tiers
from bot.services.sales.payloads import PayloadError, currency_code, format_minor, to_minor
from bot.storage.statements import Row

Kind = Literal["code", "role", "perk", "ship"]
KINDS: tuple[Kind, ...] = ("code", "role", "perk", "ship")
PRODUCT_MAX = 200
TITLE_MAX = 100
DESCRIPTION_MAX = 1000
MAX_COST = 1_000_000
MAX_STOCK = 100_000
MAX_LIMIT = 1000
DEFAULT_CODE_DAYS = 30
MAX_DAYS = 365


@dataclass(frozen=True)
class RewardImage:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Reward:
    id: int
    guild_id: int
    title: str
    description: str
    image_url: str | None
    has_image: bool  # an uploaded image is stored (reward_images)
    cost: int
    stock: int | None  # left; None: unlimited
    per_member_limit: int | None
    tier: str | None
    kind: Kind
    code_amount_minor: int | None
    code_currency: str | None
    code_product_id: str | None
    code_product_title: str | None
    code_days: int | None
    role_id: int | None
    role_days: int | None
    ship_product: str | None
    ship_variant_ref: str | None
    status: Literal["active", "retired"]
    created_at: datetime

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def sold_out(self) -> bool:
        return self.stock is not None and self.stock <= 0

    def what(self) -> str:
        """What the member gets, in words (no Discord markup: the role is named by the caller)."""
        if self.kind == "code":
            days = f"valid {self.code_days} days"
            if self.code_product_id is not None:
                return f"a single-use code for a free {self.code_product_title or 'product'} ({days})"
            assert self.code_amount_minor is not None and self.code_currency is not None
            return f"a single-use code for {format_minor(self.code_amount_minor, self.code_currency)} off ({days})"
        if self.kind == "role":
            return f"a special role for {self.role_days} days"
        if self.kind == "ship":
            return f"{self.ship_product}, shipped to you"
        return "a perk a moderator hands out to you"


@dataclass(frozen=True)
class RewardFields:
    """What a moderator typed, checked. ``None`` in an edit leaves the value as it is."""

    title: str
    description: str
    image_url: str | None
    cost: int
    stock: int | None
    per_member_limit: int | None
    tier: str | None
    kind: Kind
    code_amount_minor: int | None = None
    code_currency: str | None = None
    code_product_id: str | None = None
    code_product_title: str | None = None
    code_days: int | None = None
    role_id: int | None = None
    role_days: int | None = None
    ship_product: str | None = None
    ship_variant_ref: str | None = None


def _reward(row: Row) -> Reward:
    return Reward(
        id=int(row["id"]), guild_id=int(row["guild_id"]), title=row["title"], description=row["description"],
        image_url=row["image_url"], has_image=bool(row["has_image"]), cost=int(row["cost"]), stock=row["stock"],
        per_member_limit=row["per_member_limit"], tier=row["tier"], kind=row["kind"],
        code_amount_minor=row["code_amount_minor"], code_currency=row["code_currency"],
        code_product_id=row["code_product_id"], code_product_title=row["code_product_title"],
        code_days=row["code_days"], role_id=row["role_id"], role_days=row["role_days"],
        ship_product=row["ship_product"], ship_variant_ref=row["ship_variant_ref"], status=row["status"],
        created_at=from_db(row["created_at"]),
    )  # fmt: skip


_SELECT = "SELECT r.*, EXISTS (SELECT 1 FROM reward_images i WHERE i.reward_id = r.id) AS has_image FROM rewards r"


# -- checking what moderators type ------------------------------------------------------------------------


def check_text(title: str, description: str | None) -> tuple[str, str]:
    title, text = title.strip(), (description or "").strip().replace("\\n", "\n")
    refuse_nul("reward", title, text)
    if not 1 <= len(title) <= TITLE_MAX:
        raise InvalidInput(f"A reward's title is 1–{TITLE_MAX} characters.")
    if len(text) > DESCRIPTION_MAX:
        raise InvalidInput(f"Keep the description under {DESCRIPTION_MAX} characters.")
    return title, text


def check_image_link(link: str | None) -> str | None:
    if link is None or not link.strip():
        return None
    return check_link(link).url


def check_numbers(cost: int, stock: int | None, limit: int | None) -> None:
    if not 1 <= cost <= MAX_COST:
        raise InvalidInput(f"The cost is 1 to {MAX_COST:,} points.")
    if stock is not None and not 0 <= stock <= MAX_STOCK:
        raise InvalidInput(f"Stock is 0 to {MAX_STOCK:,} (leave it empty for unlimited).")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"The per-member limit is 1 to {MAX_LIMIT:,} (leave it empty for no limit).")


def check_code_value(amount: str | None, currency: str | None, product_id: str | None) -> tuple[int | None, str | None]:
    """A shop-code reward gives a fixed amount off (``amount`` in ``currency``) or one product free: exactly one."""
    if (amount is None or not amount.strip()) == (product_id is None or not product_id.strip()):
        raise InvalidInput("A shop-code reward gives either a fixed amount off (amount and currency) or one product.")
    if product_id is not None and product_id.strip():
        return None, None
    assert amount is not None
    try:
        cur = currency_code((currency or "").strip().upper())
    except PayloadError:
        raise InvalidInput("Give the amount's currency as the shop's three-letter code, like EUR or USD.") from None
    try:
        minor = to_minor(amount.strip(), cur, "amount")
    except PayloadError:
        raise InvalidInput(f"`{amount[:20]}` isn't an amount in {cur}.") from None
    if minor <= 0:
        raise InvalidInput("The amount off must be more than zero.")
    return minor, cur


def check_ship_product(product: str | None) -> str:
    text = " ".join((product or "").split())
    refuse_nul("product", text)
    if not 1 <= len(text) <= PRODUCT_MAX:
        raise InvalidInput(f"A product-to-ship reward needs the product: 1–{PRODUCT_MAX} characters.")
    return text


def check_days(days: int | None, what: str) -> int:
    if days is None or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"{what} is 1 to {MAX_DAYS} days.")
    return days


async def check_tier(db: Database | Transaction, guild_id: int, tier: str | None) -> str | None:
    if tier is None or not tier.strip():
        return None
    return (await tiers.get_tier(db, guild_id, tier)).key


async def new_fields(
    db: Database | Transaction,
    guild_id: int,
    *,
    kind: Kind,
    title: str,
    description: str | None,
    image_link: str | None,
    cost: int,
    stock: int | None,
    per_member_limit: int | None,
    tier: str | None,
    amount: str | None = None,
    currency: str | None = None,
    product_id: str | None = None,
    product_title: str | None = None,
    valid_days: int | None = None,
    role_id: int | None = None,
    role_days: int | None = None,
    ship_product: str | None = None,
    ship_variant_ref: str | None = None,
) -> RewardFields:
    """A moderator's new reward, checked; ``InvalidInput`` says what is wrong (a role's place in Discord's role list
    is the caller's to check)."""
    if kind not in KINDS:
        raise InvalidInput("A reward is a shop code, a role, a perk or a product to ship.")
    title, text = check_text(title, description)
    check_numbers(cost, stock, per_member_limit)
    fields = RewardFields(title, text, check_image_link(image_link), cost, stock, per_member_limit,
                          await check_tier(db, guild_id, tier), kind)  # fmt: skip
    if kind == "code":
        minor, cur = check_code_value(amount, currency, product_id)
        days = check_days(DEFAULT_CODE_DAYS if valid_days is None else valid_days, "A code's validity")
        product = product_id.strip()[:200] if minor is None and product_id else None
        label = (product_title or "").strip()[:100] or None
        return replace(fields, code_amount_minor=minor, code_currency=cur, code_product_id=product,
                       code_product_title=label if product else None, code_days=days)  # fmt: skip
    if amount or product_id:
        raise InvalidInput("An amount or a product is only for shop-code rewards.")
    if kind == "ship":
        if role_id is not None:
            raise InvalidInput("A role is only for role rewards.")
        product = check_ship_product(ship_product)
        variant = (ship_variant_ref or "").strip()[:100] or None
        return replace(fields, ship_product=product, ship_variant_ref=variant)
    if ship_product:
        raise InvalidInput("A product to ship is only for rewards of the kind “product to ship”.")
    if kind == "role":
        if role_id is None:
            raise InvalidInput("A role reward needs the role to give.")
        return replace(fields, role_id=role_id, role_days=check_days(role_days, "How long the role is held"))
    if role_id is not None:
        raise InvalidInput("A role is only for role rewards.")
    return fields


# -- storing ----------------------------------------------------------------------------------------------


def _columns(fields: RewardFields) -> dict[str, Any]:
    return {
        "title": fields.title, "description": fields.description, "image_url": fields.image_url,
        "cost": fields.cost, "stock": fields.stock, "per_member_limit": fields.per_member_limit,
        "tier": fields.tier, "kind": fields.kind, "code_amount_minor": fields.code_amount_minor,
        "code_currency": fields.code_currency, "code_product_id": fields.code_product_id,
        "code_product_title": fields.code_product_title, "code_days": fields.code_days, "role_id": fields.role_id,
        "role_days": fields.role_days, "ship_product": fields.ship_product, "ship_variant_ref": fields.ship_variant_ref,
    }  # fmt: skip


async def create(
    tx: Transaction,
    guild_id: int,
    fields: RewardFields,
    image: RewardImage | None,
    now: datetime,
    *,
    actor_id: int,
) -> Reward:
    check_numbers(fields.cost, fields.stock, fields.per_member_limit)
    columns = _columns(fields)
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    new_id = await tx.insert(
        f"INSERT INTO rewards ({names}, guild_id, created_by, created_at, updated_at) VALUES ({marks}, ?, ?, ?, ?)",
        (*columns.values(), guild_id, actor_id, to_db(now), to_db(now)),
    )
    reward_id = new_id
    if image is not None:
        await _store_image(tx, guild_id, reward_id, image)
    await audit.record(tx, guild_id, actor_id, "reward.create", None, now, reward=reward_id, title=fields.title,
                       kind=fields.kind, cost=fields.cost, stock=fields.stock)  # fmt: skip
    return await get_reward(tx, guild_id, reward_id)


async def _store_image(tx: Transaction, guild_id: int, reward_id: int, image: RewardImage) -> None:
    await tx.execute(
        """INSERT INTO reward_images (reward_id, guild_id, name, content_type, data) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (reward_id) DO UPDATE SET name = excluded.name, content_type = excluded.content_type,
               data = excluded.data""",
        (reward_id, guild_id, image.name, image.content_type, image.data),
    )


@dataclass(frozen=True)
class Edit:
    """Changes to a reward; ``None`` leaves a value alone."""

    title: str | None = None
    description: str | None = None
    image_url: str | None = None
    cost: int | None = None
    stock: int | None = None
    unlimited: bool = False  # stock becomes unlimited
    per_member_limit: int | None = None
    no_limit: bool = False
    tier: str | None = None
    every_tier: bool = False


async def edit(
    tx: Transaction, guild_id: int, reward_id: int, change: Edit, image: RewardImage | None, now: datetime,
    *, actor_id: int,
) -> Reward:  # fmt: skip
    before = await get_reward(tx, guild_id, reward_id)
    if not before.active:
        raise Conflict(f"“{before.title}” is retired; create a new reward instead.")
    description = before.description if change.description is None else change.description
    title, description = check_text(change.title or before.title, description)
    after = replace(
        before,
        title=title,
        description=description,
        image_url=check_image_link(change.image_url) if change.image_url is not None else before.image_url,
        cost=before.cost if change.cost is None else change.cost,
        stock=None if change.unlimited else (before.stock if change.stock is None else change.stock),
        per_member_limit=None
        if change.no_limit
        else (before.per_member_limit if change.per_member_limit is None else change.per_member_limit),
        tier=None if change.every_tier else (await check_tier(tx, guild_id, change.tier) or before.tier),
    )
    check_numbers(after.cost, after.stock, after.per_member_limit)
    await tx.execute(
        """UPDATE rewards SET title = ?, description = ?, image_url = ?, cost = ?, stock = ?, per_member_limit = ?,
               tier = ?, updated_at = ? WHERE id = ?""",
        (after.title, after.description, after.image_url, after.cost, after.stock, after.per_member_limit,
         after.tier, to_db(now), reward_id),
    )  # fmt: skip
    if image is not None:
        await _store_image(tx, guild_id, reward_id, image)
    changed = {
        name: getattr(after, name)
        for name in ("title", "description", "image_url", "cost", "stock", "per_member_limit", "tier")
        if getattr(after, name) != getattr(before, name)
    }
    if image is not None:
        changed["image"] = image.name
    await audit.record(tx, guild_id, actor_id, "reward.edit", None, now, reward=reward_id, **changed)
    return await get_reward(tx, guild_id, reward_id)


async def retire(tx: Transaction, guild_id: int, reward_id: int, now: datetime, *, actor_id: int) -> Reward:
    reward = await get_reward(tx, guild_id, reward_id)
    if not reward.active:
        raise Conflict(f"“{reward.title}” is already retired.")
    await tx.execute(
        "UPDATE rewards SET status = 'retired', retired_at = ?, updated_at = ? WHERE id = ?",
        (to_db(now), to_db(now), reward_id),
    )
    await audit.record(tx, guild_id, actor_id, "reward.retire", None, now, reward=reward_id, title=reward.title)
    return replace(reward, status="retired")


# -- reading ----------------------------------------------------------------------------------------------


async def find_reward(db: Database | Transaction, guild_id: int, reward_id: int) -> Reward | None:
    row = await db.fetchone(f"{_SELECT} WHERE r.guild_id = ? AND r.id = ?", (guild_id, reward_id))
    return None if row is None else _reward(row)


async def get_reward(db: Database | Transaction, guild_id: int, reward_id: int) -> Reward:
    found = await find_reward(db, guild_id, reward_id)
    if found is None:
        raise NotFound("There's no such reward in this program.")
    return found


async def catalogue(db: Database, guild_id: int, member_tier: str | None) -> list[Reward]:
    """What this member may redeem: active rewards of their tier or of every tier, cheapest first (sold-out ones
    too, so members see what comes back)."""
    rows = await db.fetchall(
        f"{_SELECT} WHERE r.guild_id = ? AND r.status = 'active' AND (r.tier IS NULL OR r.tier = ?)"
        " ORDER BY r.cost, r.id",
        (guild_id, member_tier),
    )
    return [_reward(row) for row in rows]


async def all_rewards(db: Database, guild_id: int, *, include_retired: bool = False) -> list[Reward]:
    rows = await db.fetchall(
        f"{_SELECT} WHERE r.guild_id = ? AND (? = 1 OR r.status = 'active') ORDER BY r.status, r.cost, r.id",
        (guild_id, int(include_retired)),
    )
    return [_reward(row) for row in rows]


async def search(db: Database, guild_id: int, typed: str, *, active_only: bool = True) -> list[Reward]:
    """Rewards whose title holds ``typed`` (autocomplete), at most 25."""
    pattern = "%" + typed.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await db.fetchall(
        f"{_SELECT} WHERE r.guild_id = ? AND (? = 0 OR r.status = 'active')"
        " AND lower(r.title) LIKE lower(?) ESCAPE '\\' ORDER BY r.status, r.title LIMIT 25",
        (guild_id, int(active_only), pattern),
    )
    return [_reward(row) for row in rows]


async def image_of(db: Database, reward_id: int) -> RewardImage | None:
    row = await db.fetchone("SELECT name, content_type, data FROM reward_images WHERE reward_id = ?", (reward_id,))
    return None if row is None else RewardImage(row["name"], row["content_type"], bytes(row["data"]))
