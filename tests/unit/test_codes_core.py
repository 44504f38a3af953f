from __future__ import annotations

import random
from datetime import datetime

import pytest

from bot.clock import FixedClock, to_db
from bot.db import Database
from bot.errors import Conflict, InvalidInput
from bot.services.engagement import points
from bot.services.sales import codes

GUILD = 7


async def _member(db: Database, user_id: int, name: str, now: datetime) -> None:
    await db.execute(
        "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
        " VALUES (?, ?, ?, 'active', ?, ?)",
        (GUILD, user_id, name, to_db(now), to_db(now)),
    )


def test_default_pattern_renders_a_valid_code() -> None:
    code = codes.render("GLOW{NAME}{RAND3}", prefix="", display_name="Zoë O'Brien", rng=random.Random(1))
    assert code.startswith("GLOWZOEOBRIE") and len(code) == len("GLOWZOEOBRIE") + 3
    assert codes.CODE_RE.fullmatch(code)
    assert not set(code[-3:]) & set("01IO")


def test_names_without_latin_letters_fall_back() -> None:
    assert codes.name_stem("王小明") == "AMB"


@pytest.mark.parametrize(
    "pattern", ["{NAME}", "{PREFIX}{NAME}{RAND9}", "lower{RAND3}", "{NAME}{NAME}{NAME}{NAME}{RAND6}"]
)
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidInput):
        codes.validate_pattern(pattern)


async def test_collisions_are_retried_and_lookups_ignore_case(db: Database, clock: FixedClock) -> None:
    await _member(db, 1, "Ann", clock.now())
    await _member(db, 2, "Ann", clock.now())
    async with db.transaction() as tx:
        first = await codes.issue_code(tx, GUILD, 1, "Ann", clock.now(), pattern="{NAME}{RAND2}", rng=random.Random(5))
    async with db.transaction() as tx:
        # The same seed renders the same first candidate: the collision must be retried, not fail.
        second = await codes.issue_code(tx, GUILD, 2, "Ann", clock.now(), pattern="{NAME}{RAND2}", rng=random.Random(5))
    assert first.code != second.code
    found = await codes.find_code(db, GUILD, first.code.lower())
    assert found is not None and found.user_id == 1


async def test_vanity_code_retires_the_old_one_and_refuses_taken_codes(db: Database, clock: FixedClock) -> None:
    await _member(db, 1, "Ann", clock.now())
    await _member(db, 2, "Ben", clock.now())
    async with db.transaction() as tx:
        old = await codes.issue_code(tx, GUILD, 1, "Ann", clock.now())
        await codes.set_vanity_code(tx, GUILD, 1, "annie", clock.now())
    current = await codes.current_code(db, GUILD, 1)
    assert current is not None and current.code == "ANNIE"
    retired = await codes.find_code(db, GUILD, old.code)
    assert retired is not None and retired.status == "retired"
    with pytest.raises(Conflict):
        async with db.transaction() as tx:
            await codes.set_vanity_code(tx, GUILD, 2, "Annie", clock.now())
    with pytest.raises(InvalidInput):
        async with db.transaction() as tx:
            await codes.set_vanity_code(tx, GUILD, 2, "no spaces", clock.now())


async def test_points_award_once_per_reference(db: Database, clock: FixedClock) -> None:
    async with db.transaction() as tx:
        assert await points.award(tx, GUILD, 1, 20, "sale", "sale:shopify:1", clock.now())
        assert not await points.award(tx, GUILD, 1, 20, "sale", "sale:shopify:1", clock.now())
        assert await points.award(tx, GUILD, 1, -20, "refund", "refund:shopify:1", clock.now())
        assert await points.award(tx, GUILD, 1, 5, "poll", "poll:3", clock.now())
    assert await points.balance(db, GUILD, 1) == 5
