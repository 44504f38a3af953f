"""A program with members holding points and a few rewards, for the rewards unit tests (a real migrated database)."""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.engagement import points
from bot.services.program.guild_settings import ensure_guild
from bot.services.rewards import catalogue
from bot.services.rewards.catalogue import RewardFields
from bot.services.shop import connection

GUILD = 7100
MODERATOR = 9


async def program(db: Database, now: datetime, *, shop: bool = True) -> None:
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), now)
    if shop:
        await db.perform(connection.record_connection, GUILD, "shopify", "rewards.myshopify.com", now)


async def member(db: Database, user_id: int, earned: int, now: datetime, *, tier: str | None = None,
                 status: str = "active") -> None:  # fmt: skip
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO members (guild_id, user_id, display_name, status, tier, status_changed_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (GUILD, user_id, f"member{user_id}", status, tier, to_db(now), to_db(now)),
        )
        if earned:
            await points.award(tx, GUILD, user_id, earned, "submission", f"submission:{user_id}", now)


def fields(kind: str = "perk", *, cost: int = 100, stock: int | None = None, limit: int | None = None,
           tier: str | None = None, **more: object) -> RewardFields:  # fmt: skip
    extra: dict[str, object] = {}
    if kind == "code" and "code_product_id" not in more:
        extra = {"code_amount_minor": 1000, "code_currency": "USD", "code_days": 30}
    if kind == "role":
        extra = {"role_id": 555, "role_days": 7}
    return RewardFields(
        title=f"A {kind} reward", description="Something nice", image_url=None, cost=cost, stock=stock,
        per_member_limit=limit, tier=tier, kind=kind, **{**extra, **more},  # type: ignore[arg-type]
    )  # fmt: skip


async def reward(db: Database, now: datetime, kind: str = "perk", **options: object) -> catalogue.Reward:
    return await db.perform(catalogue.create, GUILD, fields(kind, **options), None, now, actor_id=MODERATOR)  # type: ignore[arg-type]
