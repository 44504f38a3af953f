"""The roster: direct adds, tiers, pause / resume / remove, leaving, export and forget, on a real database."""

from __future__ import annotations

import csv
import io

import pytest

from bot.clock import FixedClock
from bot.config import ProgramDefaults
from bot.db import Database
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.engagement import points
from bot.services.onboarding import applications as onboarding
from bot.services.onboarding import roster
from bot.services.program import members, tiers
from bot.services.program.bindings import ROLE_AMBASSADOR
from bot.services.program.guild_settings import GuildSettings, ensure_guild, get_settings
from bot.services.sales import codes

GUILD = 12
MOD = 900


async def program(db: Database, clock: FixedClock, capacity: int = 30) -> GuildSettings:
    await db.perform(ensure_guild, GUILD, ProgramDefaults(capacity=capacity), clock.now())
    async with db.transaction() as tx:
        await tiers.upsert_tier(tx, GUILD, "ambassador", "Ambassador", 0, "free product")
        await tiers.upsert_tier(tx, GUILD, "creator", "Creator", tiers.parse_commission("12.5%"), "paid")
    return await get_settings(db, GUILD)


async def add(db: Database, clock: FixedClock, settings: GuildSettings, user_id: int, name: str) -> roster.StatusChange:
    async with db.transaction() as tx:
        return await roster.add_member(tx, GUILD, user_id, name, MOD, clock.now(), settings)


async def act(
    db: Database, clock: FixedClock, settings: GuildSettings, user_id: int, action: str
) -> roster.StatusChange:
    async with db.transaction() as tx:
        return await roster.change_status(tx, GUILD, user_id, action, MOD, clock.now(), settings)


async def test_add_tier_and_status_changes_follow_the_code(db: Database, clock: FixedClock) -> None:
    settings = await program(db, clock)
    added = await add(db, clock, settings, 1, "Ann")
    assert added.member.tier == "ambassador" and added.code is not None
    with pytest.raises(Conflict, match="already an ambassador"):
        await add(db, clock, settings, 1, "Ann")
    async with db.transaction() as tx:
        old, new, _ = await roster.change_tier(tx, GUILD, 1, "creator", MOD, clock.now())
    assert (old, new) == ("ambassador", "creator")
    with pytest.raises(NotFound):
        async with db.transaction() as tx:
            await roster.change_tier(tx, GUILD, 1, "platinum", MOD, clock.now())
    paused = await act(db, clock, settings, 1, "pause")
    assert paused.new_status == "paused" and paused.code is not None and paused.code.status == "paused"
    with pytest.raises(Conflict, match="status is paused"):
        await act(db, clock, settings, 1, "pause")
    resumed = await act(db, clock, settings, 1, "resume")
    assert resumed.code is not None and resumed.code.status == "active"
    removed = await act(db, clock, settings, 1, "remove")
    assert removed.new_status == "removed" and removed.code is None
    assert (await codes.code_history(db, GUILD, 1))[-1].status == "retired"


async def test_targets_that_are_not_ambassadors_are_refused(db: Database, clock: FixedClock) -> None:
    settings = await program(db, clock)
    with pytest.raises(NotFound, match="isn't part of the program"):
        await act(db, clock, settings, 5, "pause")
    async with db.transaction() as tx:
        form = onboarding.validate_form("https://x.example/a", "beauty", "I love it very much.", None, None)
        await onboarding.submit_application(tx, GUILD, 5, "Eve", form, clock.now(), cooldown_days=0)
    with pytest.raises(NotAllowed, match="isn't an ambassador"):
        await act(db, clock, settings, 5, "remove")
    with pytest.raises(NotAllowed):
        async with db.transaction() as tx:
            await roster.change_tier(tx, GUILD, 5, "creator", MOD, clock.now())
    assert (await members.get_member(db, GUILD, 5)).status == "applicant"
    with pytest.raises(InvalidInput):
        await roster.list_roster(db, GUILD, status="famous")


async def test_capacity_applies_to_adds_and_resumes(db: Database, clock: FixedClock) -> None:
    settings = await program(db, clock, capacity=1)
    await add(db, clock, settings, 1, "Ann")
    with pytest.raises(Conflict, match="full"):
        await add(db, clock, settings, 2, "Bea")
    async with db.transaction() as tx:
        left = await roster.mark_left(tx, GUILD, 1, clock.now())
    assert left is not None and left.new_status == "left" and left.code is not None and left.code.status == "paused"
    await add(db, clock, settings, 2, "Bea")
    with pytest.raises(Conflict, match="full"):
        await act(db, clock, settings, 1, "resume")


async def test_leaving_withdraws_an_open_application(db: Database, clock: FixedClock) -> None:
    await program(db, clock)
    async with db.transaction() as tx:
        form = onboarding.validate_form("https://x.example/a", "beauty", "I love it very much.", None, None)
        app = await onboarding.submit_application(tx, GUILD, 7, "Gil", form, clock.now(), cooldown_days=0)
        change = await roster.mark_left(tx, GUILD, 7, clock.now())
    assert change is not None and change.old_status == "applicant"
    assert (await onboarding.get_application(db, GUILD, app.id)).status == "withdrawn"
    async with db.transaction() as tx:
        assert await roster.mark_left(tx, GUILD, 999, clock.now()) is None


async def test_export_has_numbers_and_is_safe_for_spreadsheets(db: Database, clock: FixedClock) -> None:
    settings = await program(db, clock)
    await add(db, clock, settings, 1, "=HYPERLINK(evil)")
    await add(db, clock, settings, 2, "Bea")
    async with db.transaction() as tx:
        await points.award(tx, GUILD, 2, 50, "submission", "submission:1", clock.now())
        await points.award(tx, GUILD, 2, 20, "sale", "sale:x:1", clock.now())
    text = await roster.export_csv(db, GUILD)
    rows = {row["user_id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows["2"]["points"] == "70" and rows["2"]["code"].startswith("BEA")
    assert rows["1"]["display_name"].startswith("'=")


async def test_forget_erases_personal_data_and_keeps_totals(db: Database, clock: FixedClock) -> None:
    settings = await program(db, clock)
    async with db.transaction() as tx:
        form = onboarding.validate_form("https://x.example/a", "beauty", "I love it very much.", "a@b.example", "Oslo")
        app = await onboarding.submit_application(tx, GUILD, 3, "Cat", form, clock.now(), cooldown_days=0)
        decision = await onboarding.approve(tx, GUILD, app.id, MOD, clock.now(), settings)
        await points.award(tx, GUILD, 3, 50, "submission", "submission:9", clock.now())
    assert decision.outcome == "approved"
    with pytest.raises(NotAllowed, match="still an ambassador"):
        async with db.transaction() as tx:
            await roster.forget(tx, GUILD, 3, MOD, clock.now())
    await act(db, clock, settings, 3, "remove")
    async with db.transaction() as tx:
        await roster.forget(tx, GUILD, 3, MOD, clock.now())
    member = await members.get_member(db, GUILD, 3)
    assert member.email is None and member.city is None and member.display_name == roster.FORGOTTEN_NAME
    erased = await onboarding.get_application(db, GUILD, app.id)
    assert erased.social_links == [] and erased.why == "" and erased.order_ref is None
    assert await points.balance(db, GUILD, 3) == 50


def test_role_plan_follows_status_and_tier() -> None:
    bound = {ROLE_AMBASSADOR: 10, "role:tier:creator": 20, "role:tier:ambassador": 30, "channel:review": 40}
    assert roster.role_plan("active", "creator", bound) == ({10, 20}, {30})
    assert roster.role_plan("paused", "creator", bound) == (set(), {10, 20, 30})
    assert roster.role_plan("active", None, {}) == (set(), set())
