"""Tiers that move by themselves: promotion at once, delayed demotion, pins, idempotence — on a real database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.clock import FixedClock, to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.errors import Conflict, InvalidInput
from bot.services.engagement import points
from bot.services.onboarding import roster
from bot.services.program import members, tier_rules, tiers
from bot.services.program.guild_settings import ensure_guild, get_settings

GUILD = 12
MOD = 900
ALICE = 1


async def program(db: Database, clock: FixedClock) -> None:
    await db.perform(ensure_guild, GUILD, ProgramDefaults(capacity=30), clock.now())
    async with db.transaction() as tx:
        await tiers.upsert_tier(tx, GUILD, "ambassador", "Ambassador", 0, "free product")
        await tiers.upsert_tier(tx, GUILD, "creator", "Creator", 1000, "paid")
        await tier_rules.set_rule(tx, GUILD, "creator", None, 100, 30, MOD, clock.now())
    settings = await get_settings(db, GUILD)
    async with db.transaction() as tx:
        await roster.add_member(tx, GUILD, ALICE, "alice", MOD, clock.now(), settings)


async def earn(db: Database, clock: FixedClock, amount: int, ref: str) -> None:
    async with db.transaction() as tx:
        await points.award(tx, GUILD, ALICE, amount, "adjustment", ref, clock.now())


async def evaluate(db: Database, clock: FixedClock) -> tier_rules.Evaluation:
    async with db.transaction() as tx:
        return await tier_rules.evaluate(tx, GUILD, clock.now())


async def tier_of(db: Database) -> str | None:
    return (await members.get_member(db, GUILD, ALICE)).tier


async def moved_rows(db: Database) -> list[dict[str, object]]:
    rows = await db.fetchall("SELECT payload FROM outbox WHERE topic = ? ORDER BY id", (tier_rules.MOVED,))
    return [json.loads(r["payload"]) for r in rows]


async def test_promotion_at_once_audited_and_owed_one_dm(db: Database, clock: FixedClock) -> None:
    await program(db, clock)
    assert (await evaluate(db, clock)).moves == []
    await earn(db, clock, 120, "a:1")
    result = await evaluate(db, clock)
    assert [(m.user_id, m.old, m.new, m.direction) for m in result.moves] == [
        (ALICE, "ambassador", "creator", "promoted")
    ]
    assert await tier_of(db) == "creator"
    entry = await db.fetchone("SELECT actor_id, details FROM audit_log WHERE action = 'ambassador.tier'")
    assert entry is not None and entry["actor_id"] is None
    assert json.loads(entry["details"])["reason"] == tier_rules.REASON
    # idempotent: the same day again moves nobody and owes nothing more
    assert (await evaluate(db, clock)).moves == []
    assert await moved_rows(db) == [{"user_id": ALICE, "old": "ambassador", "new": "creator", "direction": "promoted"}]


async def test_demotion_waits_a_whole_window_plus_the_grace(db: Database, clock: FixedClock) -> None:
    await program(db, clock)
    async with db.transaction() as tx:
        await tier_rules.set_grace(tx, GUILD, 5, MOD, clock.now())
    await earn(db, clock, 120, "a:1")
    await evaluate(db, clock)
    assert await tier_of(db) == "creator"
    clock.advance(timedelta(days=31))  # the points fall out of the 30-day window: below from today
    assert (await evaluate(db, clock)).below == [ALICE]
    clock.advance(timedelta(days=34))  # below for 34 days < 30 + 5
    assert (await evaluate(db, clock)).moves == []
    assert await tier_of(db) == "creator"
    clock.advance(timedelta(days=1))  # 35 days: the whole window plus the grace
    result = await evaluate(db, clock)
    assert [(m.new, m.direction) for m in result.moves] == [("ambassador", "demoted")]
    assert await tier_of(db) == "ambassador"
    assert [r["direction"] for r in await moved_rows(db)] == ["promoted", "demoted"]


async def test_meeting_the_rule_again_resets_the_count(db: Database, clock: FixedClock) -> None:
    await program(db, clock)
    await earn(db, clock, 120, "a:1")
    await evaluate(db, clock)
    clock.advance(timedelta(days=31))
    await evaluate(db, clock)  # below since day 31
    clock.advance(timedelta(days=20))
    await earn(db, clock, 100, "a:2")
    await evaluate(db, clock)  # meets it again: no longer below
    clock.advance(timedelta(days=31))
    await evaluate(db, clock)  # below again from today, not from day 31
    clock.advance(timedelta(days=29))
    assert (await evaluate(db, clock)).moves == []
    assert await tier_of(db) == "creator"


async def test_a_pinned_member_is_left_alone_both_ways(db: Database, clock: FixedClock) -> None:
    await program(db, clock)
    async with db.transaction() as tx:
        await tier_rules.set_pin(tx, GUILD, ALICE, True, MOD, clock.now())
    await earn(db, clock, 500, "a:1")
    assert (await evaluate(db, clock)).moves == []
    assert await tier_of(db) == "ambassador"
    async with db.transaction() as tx:
        await roster.change_tier(tx, GUILD, ALICE, "creator", MOD, clock.now())
    clock.advance(timedelta(days=200))
    assert (await evaluate(db, clock)).moves == []
    assert await tier_of(db) == "creator"
    with pytest.raises(Conflict):
        async with db.transaction() as tx:
            await tier_rules.set_pin(tx, GUILD, ALICE, True, MOD, clock.now())
    async with db.transaction() as tx:
        await tier_rules.set_pin(tx, GUILD, ALICE, False, MOD, clock.now())
    await evaluate(db, clock)  # unpinned: below from today, demoted only after the window
    assert await tier_of(db) == "creator"


async def test_orders_count_and_preview_changes_nothing(db: Database, clock: FixedClock) -> None:
    await program(db, clock)
    async with db.transaction() as tx:
        await tier_rules.set_rule(tx, GUILD, "creator", 2, None, 90, MOD, clock.now())
        when = to_db(clock.now() - timedelta(days=5))
        for n in (1, 2):
            await tx.execute(
                """INSERT INTO sales (guild_id, kind, shop, order_id, entry_ref, code_id, code, user_id, gross_minor,
                       discount_minor, net_minor, currency, occurred_at, recorded_at, source)
                   SELECT ?, 'sale', 'shopify', ?, 'sale', id, code, ?, 1000, 100, 900, 'EUR', ?, ?, 'manual' FROM codes
                   WHERE guild_id = ? AND user_id = ?""",
                (GUILD, f"o{n}", ALICE, when, when, GUILD, ALICE),
            )
    moves, _waiting, _below = await tier_rules.plan(db, GUILD, clock.now())
    assert [(m.user_id, m.new) for m in moves] == [(ALICE, "creator")]
    assert await tier_of(db) == "ambassador"


async def test_rule_validation(db: Database, clock: FixedClock) -> None:
    await program(db, clock)
    async with db.transaction() as tx:
        with pytest.raises(InvalidInput):
            await tier_rules.set_rule(tx, GUILD, "creator", 1, None, 0, MOD, clock.now())
        assert await tier_rules.set_rule(tx, GUILD, "creator", None, None, 90, MOD, clock.now()) is None
    assert await tier_rules.list_rules(db, GUILD) == {}
