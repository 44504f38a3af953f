"""Creating a paid statement's store credit in the shop, exactly once: a gift card (Shopify) or a one-use coupon
restricted to the ambassador's email (WooCommerce).

The code was chosen in the paid unit of work (bot/services/affiliates/store_credit.py), so every attempt — the
outbox's delivery after the commit, its retries, a restart after a crash — asks the shop for the same one:
``deliver`` first looks for it (a crash right after the shop created it leaves it there) and creates it only when
it is missing. What the shop says decides what follows, as for reward codes (bot/shop/reward_codes.py):
unreachable — ``ShopUnavailable`` propagates and the work is retried; a bad token or a missing scope — the
connection's problem is recorded (moderators hear once) and it is retried; a refusal of the credit itself (another
currency than the shop's, no email for the coupon) — recorded, and moderators are told to pay it another way.
Nothing here logs the code.
"""

from __future__ import annotations

import logging
from typing import Literal

from bot.clock import Clock
from bot.db import Database
from bot.services.affiliates import store_credit
from bot.services.affiliates.store_credit import Credit
from bot.services.shop import connection
from bot.shop.connector import ShopConnector, StoreCredit, StoreCreditSpec
from bot.shop.errors import ShopAuthError, ShopError, ShopScopeError, ShopUnavailable, ShopUserErrors

log = logging.getLogger(__name__)

Outcome = Literal["created", "adopted", "refused", "gone"]


async def _email(db: Database, credit: Credit) -> str | None:
    value = await db.fetchval(
        "SELECT email FROM members WHERE guild_id = ? AND user_id = ? AND forgotten_at IS NULL",
        (credit.guild_id, credit.user_id),
    )
    return str(value) if value else None


async def _find_or_create(connector: ShopConnector, spec: StoreCreditSpec) -> tuple[StoreCredit, bool]:
    """(the credit in the shop, whether it was already there). Raises ``ShopError`` subclasses."""
    found = await connector.find_store_credit(spec.code)
    if found is None:
        try:
            return await connector.create_store_credit(spec), False
        except ShopUserErrors as exc:
            if not any(error.code == "TAKEN" for error in exc.errors):
                raise
            found = await connector.find_store_credit(spec.code)  # made between our look and our create
            if found is None:
                raise
    if not found.ours:
        raise ShopError(f"the code chosen for it is already used by something else in {connector.label}")
    return found, True


async def deliver(db: Database, clock: Clock, connector: ShopConnector, statement_id: int) -> Outcome:
    credit = await store_credit.find_credit(db, statement_id)
    if credit is None or credit.status != "owed":
        return "gone"
    if credit.platform != connector.platform:
        problem = f"the statement was paid for a {credit.platform} shop, but the server's shop is now {connector.label}"
        await db.perform(store_credit.record_refused, statement_id, problem, clock.now())
        return "refused"
    spec = StoreCreditSpec(statement_id, credit.code, credit.amount_minor, credit.currency,
                           await _email(db, credit) if credit.platform == "woocommerce" else None)  # fmt: skip
    try:
        made, adopted = await _find_or_create(connector, spec)
    except (ShopAuthError, ShopScopeError) as exc:
        await db.perform(connection.record_problem, credit.guild_id, str(exc), clock.now())
        raise
    except ShopUnavailable:
        raise
    except ShopError as exc:
        await db.perform(store_credit.record_refused, statement_id, f"The shop couldn't create it: {exc}", clock.now())
        log.warning("shop refused the store credit of statement #%d in server %s: %s", statement_id, credit.guild_id,
                    type(exc).__name__)  # fmt: skip
        return "refused"
    now = clock.now()
    async with db.transaction() as tx:
        await store_credit.record_created(tx, statement_id, made.ref, now)
        await connection.record_problem(tx, credit.guild_id, None, now)
    log.info("store credit of statement #%d in server %s: %s", statement_id, credit.guild_id,
             "adopted" if adopted else "created")  # fmt: skip
    return "adopted" if adopted else "created"
