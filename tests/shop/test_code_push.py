"""Code pushes against the fake Shopify over HTTP, with a real migrated database: what the shop ends up holding,
what Collective records, and what happens when the shop refuses or is away."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FixedClock, to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.errors import InvalidInput
from bot.services.program import tiers
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales import codes
from bot.services.shop import code_state, connection, discounts
from bot.shop.code_push import CodePusher, sync_codes
from bot.shop.errors import ShopAuthError, ShopScopeError, ShopUnavailable
from bot.shop.shopify_connector import ShopifyConnector
from emulator.shop import FakeShopify
from tests.conftest import START
from tests.shop.shopify_world import connected, running_shop

GUILD = 4242
TOKEN = "shpat_push_test"
DOMAIN = "push-test.myshopify.com"


@pytest.fixture
async def shop() -> AsyncIterator[FakeShopify]:
    async with running_shop(TOKEN, DOMAIN, START) as fake:
        yield fake


@pytest.fixture
async def connector(shop: FakeShopify) -> AsyncIterator[ShopifyConnector]:
    async with connected(shop, TOKEN, DOMAIN) as connector:
        yield connector


@pytest.fixture
async def program(db: Database, clock: FixedClock) -> Database:
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), clock.now())
    await db.perform(connection.record_connection, GUILD, "shopify", DOMAIN, clock.now())
    return db


async def ambassador(db: Database, user_id: int, name: str, now: Any, *, tier: str | None = None) -> codes.Code:
    async with db.transaction() as tx:
        await tx.execute(
            """INSERT INTO members (guild_id, user_id, display_name, status, tier, approved_at, status_changed_at,
                   created_at) VALUES (?, ?, ?, 'active', ?, ?, ?, ?)""",
            (GUILD, user_id, name, tier, to_db(now), to_db(now), to_db(now)),
        )
        return await codes.set_vanity_code(tx, GUILD, user_id, f"GLOW{name.upper()}", now)


def mutations(shop: FakeShopify) -> list[str]:
    return [str(b["query"]).split("(")[0].split()[-1] for b in shop.requests if "mutation" in str(b["query"])]


async def owed_rows(db: Database) -> list[tuple[str, str]]:
    rows = await db.fetchall("SELECT topic, key FROM outbox WHERE topic = ? ORDER BY id", (code_state.PUSH,))
    return [(r["topic"], r["key"]) for r in rows]


async def test_without_a_shop_a_code_change_owes_nothing(db: Database, clock: FixedClock) -> None:
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), clock.now())
    code = await ambassador(db, 1, "ana", clock.now())
    assert await code_state.shop_state(db, code.id) is None
    assert await owed_rows(db) == []


async def test_every_change_owes_a_push_with_a_new_version(program: Database, clock: FixedClock) -> None:
    code = await ambassador(program, 1, "ana", clock.now())
    assert await code_state.shop_state(program, code.id) == "pending"
    async with program.transaction() as tx:
        await codes.set_code_status(tx, GUILD, 1, "paused", clock.now())
        await codes.set_code_status(tx, GUILD, 1, "paused", clock.now())  # no change: nothing owed
        await codes.set_code_status(tx, GUILD, 1, "active", clock.now())
    assert await owed_rows(program) == [(code_state.PUSH, f"{code.id}:1"), (code_state.PUSH, f"{code.id}:2"),
                                        (code_state.PUSH, f"{code.id}:3")]  # fmt: skip


async def test_push_creates_once_then_follows_pause_resume_and_the_discount(
    program: Database, clock: FixedClock, shop: FakeShopify, connector: ShopifyConnector
) -> None:
    pusher = CodePusher(program, clock)
    code = await ambassador(program, 1, "ana", clock.now())
    assert (await pusher.push(connector, code.id)).outcome == "created"
    assert shop.discount_status("GLOWANA") == "ACTIVE" and await code_state.shop_state(program, code.id) == "live"
    assert (await pusher.push(connector, code.id)).outcome == "unchanged"
    assert mutations(shop) == ["CreateCode"]

    async with program.transaction() as tx:
        await codes.set_code_status(tx, GUILD, 1, "paused", clock.now())
    assert await code_state.shop_state(program, code.id) == "pending"
    assert (await pusher.push(connector, code.id)).outcome == "deactivated"
    assert shop.discount_status("GLOWANA") == "EXPIRED"
    async with program.transaction() as tx:
        await codes.set_code_status(tx, GUILD, 1, "active", clock.now())
    assert (await pusher.push(connector, code.id)).outcome == "activated"
    assert shop.discount_status("GLOWANA") == "ACTIVE"

    given = discounts.parse_discount("percentage", "20%", currency=None, once_per_customer=False, minimum=None,
                                     combines_order=True, combines_product=False, combines_shipping=True)  # fmt: skip
    async with program.transaction() as tx:
        assert await discounts.set_discount(tx, GUILD, None, given, clock.now(), actor_id=9) == 1
    assert (await pusher.push(connector, code.id)).outcome == "updated"
    held = shop.discounts["GLOWANA"]
    assert held.percentage == pytest.approx(0.2) and not held.applies_once_per_customer
    assert held.combines_with["orderDiscounts"] is True


async def test_a_late_push_never_marks_a_newer_change_live(program: Database, clock: FixedClock) -> None:
    code = await ambassador(program, 1, "ana", clock.now())
    async with program.transaction() as tx:
        await codes.set_code_status(tx, GUILD, 1, "paused", clock.now())  # version 2 owed
        await code_state.record_pushed(tx, code.id, 1, "gid://shopify/DiscountCodeNode/1", True, clock.now())
    assert await code_state.shop_state(program, code.id) == "pending"


async def test_a_tier_discount_applies_to_that_tier_only(program: Database, clock: FixedClock) -> None:
    async with program.transaction() as tx:
        await tiers.upsert_tier(tx, GUILD, "gold", "Gold", 0, "")
    await ambassador(program, 1, "ana", clock.now(), tier="gold")
    await ambassador(program, 2, "ben", clock.now())
    gold = discounts.CodeDiscount("percentage", 25)
    async with program.transaction() as tx:
        assert await discounts.set_discount(tx, GUILD, "gold", gold, clock.now(), actor_id=9) == 1
    assert await discounts.discount_for(program, GUILD, "gold") == gold
    assert await discounts.discount_for(program, GUILD, None) == discounts.DEFAULT


@pytest.mark.parametrize(
    ("kind", "value", "currency", "minimum", "says"),
    [
        ("percentage", "0", None, None, "1 to 100"),
        ("percentage", "101", None, None, "1 to 100"),
        ("percentage", "12.5", None, None, "whole number"),
        ("percentage", "9" * 5000, None, None, "whole number"),
        ("percentage", "²", None, None, "whole number"),
        ("fixed", "5", None, None, "needs its currency"),
        ("fixed", "5.001", "EUR", None, "isn't an amount"),
        ("fixed", "-5", "EUR", None, "isn't an amount"),
        ("fixed", "5", "EURO", None, "three-letter"),
        ("percentage", "10", None, "30", "needs its currency"),
    ],
)
def test_a_bad_discount_is_refused_with_a_reason(
    kind: Any, value: str, currency: str | None, minimum: str | None, says: str
) -> None:
    with pytest.raises(InvalidInput, match=says):
        discounts.parse_discount(kind, value, currency=currency, once_per_customer=True, minimum=minimum,
                                 combines_order=False, combines_product=False, combines_shipping=True)  # fmt: skip


async def test_a_code_taken_between_look_and_create_is_refused_in_the_shops_words(
    program: Database, clock: FixedClock, shop: FakeShopify, connector: ShopifyConnector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    real_run = shop.run

    def run(query: str, variables: dict[str, Any], operation: str | None = None) -> dict[str, Any]:
        if "discountCodeBasicCreate" in query and "GLOWANA" not in shop.discounts:
            shop.add_discount("GLOWANA", percentage=0.5, title="Staff discount")  # someone in the admin, just now
        return real_run(query, variables, operation)

    monkeypatch.setattr(shop, "run", run)
    code = await ambassador(program, 1, "ana", clock.now())
    result = await CodePusher(program, clock).push(connector, code.id)
    assert result.outcome == "refused" and "Staff discount" in (result.error or "")
    assert await code_state.shop_state(program, code.id) == "failed"
    refused = await program.fetchall("SELECT payload FROM outbox WHERE topic = ?", (code_state.REFUSED,))
    assert len(refused) == 1
    assert shop.discounts["GLOWANA"].title == "Staff discount"  # left alone


async def test_a_shop_that_is_away_or_refuses_the_token_leaves_the_push_owed(
    program: Database, clock: FixedClock, shop: FakeShopify, connector: ShopifyConnector
) -> None:
    pusher = CodePusher(program, clock)
    code = await ambassador(program, 1, "ana", clock.now())
    shop.faults.fail(503, times=None)
    with pytest.raises(ShopUnavailable):
        await pusher.push(connector, code.id)
    assert await code_state.shop_state(program, code.id) == "pending"
    shop.faults.rules.clear()
    shop.token = "rotated-by-the-brand"
    for _ in range(2):
        with pytest.raises(ShopAuthError):
            await pusher.push(connector, code.id)
    problems = await program.fetchall("SELECT payload FROM outbox WHERE topic = ?", (connection.PROBLEM,))
    assert len(problems) == 1 and "401" in problems[0]["payload"]  # told once, in words
    assert TOKEN not in problems[0]["payload"]
    shop.token = TOKEN
    clock.advance(timedelta(hours=1))
    assert (await pusher.push(connector, code.id)).outcome == "created"
    found = await connection.get_connection(program, GUILD)
    assert found is not None and found.problem is None


async def test_sync_repairs_what_differs_and_reports(
    program: Database, clock: FixedClock, shop: FakeShopify, connector: ShopifyConnector
) -> None:
    for user, name in enumerate(["ana", "ben", "cat"], start=1):
        await ambassador(program, user, name, clock.now())
    shop.add_discount("GLOWBEN", percentage=0.1, title="Made by hand last year")
    done: list[int] = []

    async def progress(index: int, total: int, _report: Any) -> None:
        done.append(index)
        assert total == 3

    pusher = CodePusher(program, clock)
    report = await sync_codes(pusher, program, connector, GUILD, clock.now(), progress=progress)
    assert done == [1, 2, 3] and report.checked == 3 and report.changed == {"created": 2, "adopted": 1}
    again = await sync_codes(pusher, program, connector, GUILD, clock.now())
    assert again.changed is None and again.refused == 0
    assert sorted(shop.discounts) == ["GLOWANA", "GLOWBEN", "GLOWCAT"]


async def test_a_missing_scope_is_told_once_and_the_push_waits(
    program: Database, clock: FixedClock, shop: FakeShopify, connector: ShopifyConnector
) -> None:
    shop.scopes = {"read_orders", "read_products", "read_discounts"}  # the brand forgot write_discounts
    code = await ambassador(program, 1, "ana", clock.now())
    pusher = CodePusher(program, clock)
    with pytest.raises(ShopScopeError, match="access scope"):
        await pusher.push(connector, code.id)
    assert await code_state.shop_state(program, code.id) == "pending" and "GLOWANA" not in shop.discounts
    problems = await program.fetchall("SELECT payload FROM outbox WHERE topic = ?", (connection.PROBLEM,))
    assert len(problems) == 1 and "write_discounts" in problems[0]["payload"]
    shop.scopes.add("write_discounts")  # fixed in the store's admin
    assert (await pusher.push(connector, code.id)).outcome == "created"
