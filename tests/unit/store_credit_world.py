"""A statement ready to pay, for the store-credit tests: ann (ambassador 1, ann@example.com) sold in October,
November's run made her statement (10 % of 150.00 = 15.00 by default), the shop connected or not."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.db import Database
from bot.services.affiliates import runs, store_credit
from bot.services.sales import orders
from bot.services.sales.orders import SalesSettings
from bot.services.sales.payloads import OrderIn
from bot.services.shop import connection
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador, add_tier

ANN = 1
MOD = 900
SOLD = datetime(2026, 10, 1, 12, tzinfo=UTC)
RUN_AT = datetime(2026, 12, 2, 12, tzinfo=UTC)


async def statement_to_pay(
    db: Database,
    *,
    platform: str | None = "shopify",
    shop: str = "credit-test.myshopify.com",
    currency: str = "USD",
    net_minor: int = 15_000,
    email: str | None = "ann@example.com",
    method: str = "store_credit",
    guild_id: int = GUILD,
    user_id: int = ANN,
) -> runs.Statement:
    """The open statement of ``user_id`` in November's run, with their payout method chosen."""
    await add_tier(db, "affiliate", 1000, guild_id=guild_id)
    await add_ambassador(db, user_id, "Ann", SOLD, code=f"ANN{user_id}", tier="affiliate", email=email,
                         guild_id=guild_id)  # fmt: skip
    if platform is not None:
        await db.perform(connection.record_connection, guild_id, platform, shop, SOLD)
    item = OrderIn("generic", f"o-{user_id}", None, (f"ANN{user_id}",), currency, net_minor, 0, SOLD, True)
    async with db.transaction() as tx:
        await orders.record_order(tx, guild_id, item, source="webhook", now=SOLD, settings=SalesSettings())
        if method != "cash":
            await store_credit.set_method(tx, guild_id, user_id, method, SOLD)
    async with db.transaction() as tx:
        run = await runs.run_period(tx, guild_id, "2026-11", ZoneInfo("UTC"), RUN_AT, actor_id=MOD)
    (statement,) = [s for s in run.statements if s.user_id == user_id]
    return statement


async def pay(db: Database, statement: runs.Statement, reference: str = "store credit") -> runs.Statement:
    async with db.transaction() as tx:
        return await runs.mark_paid(tx, statement.guild_id, statement.id, reference, RUN_AT, actor_id=MOD)
