"""Applications, decisions, capacity and the waitlist against a real migrated database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.config import ProgramDefaults
from bot.db import Database
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.references import member
from bot.services.onboarding import applications as onboarding
from bot.services.program import members, program_settings
from bot.services.program.guild_settings import GuildSettings, ensure_guild, get_settings
from bot.services.sales import codes
from bot.ui.markup import render

GUILD = 11
MOD, MOD2 = 900, 901


def form(**overrides: str) -> onboarding.ApplicationForm:
    values = {
        "social": "https://instagram.com/ann",
        "niche": "skincare",
        "why": "I have used the serum for two years.",
        "contact": "Ann@Example.com",
        "city": "Porto",
    }
    values.update(overrides)
    return onboarding.validate_form(values["social"], values["niche"], values["why"], values["contact"], values["city"])


async def program(db: Database, clock: FixedClock, capacity: int = 30) -> GuildSettings:
    await db.perform(ensure_guild, GUILD, ProgramDefaults(capacity=capacity), clock.now())
    return await get_settings(db, GUILD)


async def submit(db: Database, clock: FixedClock, user_id: int, name: str = "Ann") -> onboarding.Application:
    async with db.transaction() as tx:
        return await onboarding.submit_application(tx, GUILD, user_id, name, form(), clock.now(), cooldown_days=30)


async def approve(
    db: Database, clock: FixedClock, app_id: int, settings: GuildSettings
) -> onboarding.ApplicationDecision:
    async with db.transaction() as tx:
        return await onboarding.approve(tx, GUILD, app_id, MOD, clock.now(), settings)


def test_the_form_is_validated() -> None:
    parsed = form(social="https://a.example/x, http://b.example/y", contact="#1042")
    assert parsed.social_links == ["https://a.example/x", "http://b.example/y"] and parsed.order_ref == "1042"
    assert form().email == "ann@example.com"
    for bad in ("instagram.com/ann", "ftp://files.example/x", "javascript:alert(1)", "https://nohost"):
        with pytest.raises(InvalidInput, match="web link"):
            form(social=bad)
    with pytest.raises(InvalidInput, match="Up to 5"):
        form(social=" ".join(f"https://x.example/{i}" for i in range(6)))
    with pytest.raises(InvalidInput, match="too long"):
        form(why="x" * 1001)
    with pytest.raises(InvalidInput, match="Please fill in"):
        form(niche="  ")
    with pytest.raises(InvalidInput, match="email"):
        form(contact="ann@")
    assert form(contact="", city="").city is None


async def test_apply_then_approve_issues_a_code_and_records_who(db: Database, clock: FixedClock) -> None:
    settings = await program(db, clock)
    app = await submit(db, clock, 1)
    assert app.status == "pending" and app.social_links == ["https://instagram.com/ann"]
    decision = await approve(db, clock, app.id, settings)
    assert decision.outcome == "approved" and decision.code is not None and decision.old_status == "applicant"
    member = await members.get_member(db, GUILD, 1)
    assert member.status == "active" and member.email == "ann@example.com" and member.approved_at == clock.now()
    assert await db.fetchval("SELECT approved_by FROM members WHERE user_id = 1") == MOD
    current = await codes.current_code(db, GUILD, 1)
    assert current is not None and current.code.startswith("ANN")
    assert decision.audit is not None and decision.audit.action == "application.approve"


async def test_eligibility(db: Database, clock: FixedClock) -> None:
    settings = await program(db, clock)
    app = await submit(db, clock, 1)
    with pytest.raises(Conflict, match="still waiting"):
        await submit(db, clock, 1)
    await approve(db, clock, app.id, settings)
    with pytest.raises(NotAllowed, match="already one of our ambassadors"):
        await submit(db, clock, 1)
    rejected = await submit(db, clock, 2, "Bea")
    async with db.transaction() as tx:
        await onboarding.reject(tx, GUILD, rejected.id, MOD, clock.now(), "Not this time")
    with pytest.raises(NotAllowed, match="apply again from"):
        await submit(db, clock, 2, "Bea")
    clock.advance(timedelta(days=31))
    again = await submit(db, clock, 2, "Bea")
    assert again.status == "pending"


async def test_reject_needs_a_reason_and_tells_it(db: Database, clock: FixedClock) -> None:
    await program(db, clock)
    app = await submit(db, clock, 1)
    with pytest.raises(InvalidInput):
        async with db.transaction() as tx:
            await onboarding.reject(tx, GUILD, app.id, MOD, clock.now(), " ")
    with pytest.raises(InvalidInput, match="too long"):
        async with db.transaction() as tx:
            await onboarding.reject(tx, GUILD, app.id, MOD, clock.now(), "x" * 501)
    async with db.transaction() as tx:
        decision = await onboarding.reject(tx, GUILD, app.id, MOD, clock.now(), "More skincare content, please")
    assert decision.application.reason == "More skincare content, please"
    assert (await members.get_member(db, GUILD, 1)).status == "rejected"


async def test_the_second_decision_gets_a_conflict_naming_the_first(db: Database, clock: FixedClock) -> None:
    settings = await program(db, clock)
    app = await submit(db, clock, 1)

    async def decide_approve() -> onboarding.ApplicationDecision:
        async with db.transaction() as tx:
            return await onboarding.approve(tx, GUILD, app.id, MOD, clock.now(), settings, expected="pending")

    async def decide_waitlist() -> onboarding.ApplicationDecision:
        async with db.transaction() as tx:
            return await onboarding.waitlist_application(tx, GUILD, app.id, MOD2, clock.now(), expected="pending")

    results = await asyncio.gather(decide_approve(), decide_waitlist(), return_exceptions=True)
    wins = [r for r in results if isinstance(r, onboarding.ApplicationDecision)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1
    assert render(f"{member(MOD)} ") == f"<@{MOD}> " and member(MOD) in losses[0].user_message
    assert "nothing changed" in losses[0].user_message
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'application.%'") == 1


async def test_capacity_waitlist_and_seat_freed(db: Database, clock: FixedClock) -> None:
    settings = await program(db, clock, capacity=1)
    first, second, third = [await submit(db, clock, uid, f"M{uid}") for uid in (1, 2, 3)]
    await approve(db, clock, first.id, settings)
    clock.advance(timedelta(minutes=1))
    waiting = await approve(db, clock, second.id, settings)
    assert waiting.outcome == "waitlisted" and waiting.position == 1
    clock.advance(timedelta(minutes=1))
    async with db.transaction() as tx:
        later = await onboarding.waitlist_application(tx, GUILD, third.id, MOD, clock.now())
    assert later.position == 2
    # Approving from the waitlist while still full is refused with the position.
    with pytest.raises(Conflict, match="position 1"):
        await approve(db, clock, second.id, settings)
    async with db.transaction() as tx:
        full = await onboarding.seat_freed(tx, GUILD, clock.now(), settings, auto_promote=True)
    assert full.free_seats == 0 and full.next_up is None and full.promoted is None
    # A seat frees: moderators learn who is next; with auto-promote the next is approved.
    await db.perform(members.mark_dm_closed, GUILD, 1)
    async with db.transaction() as tx:
        await members.set_status(tx, GUILD, 1, "removed", clock.now())
        update = await onboarding.seat_freed(tx, GUILD, clock.now(), settings, auto_promote=False)
    assert update.next_up is not None and update.next_up.user_id == 2 and update.promoted is None
    async with db.transaction() as tx:
        update = await onboarding.seat_freed(tx, GUILD, clock.now(), settings, auto_promote=True)
    assert update.promoted is not None and update.promoted.member.user_id == 2
    assert update.promoted.audit is not None and update.promoted.audit.actor_id is None
    assert await onboarding.waitlist_position(db, GUILD, third.id) == 1


async def test_settings_changes_are_validated(db: Database, clock: FixedClock) -> None:
    await program(db, clock)
    async with db.transaction() as tx:
        change = await program_settings.change_setting(tx, GUILD, "capacity", " 40 ", clock.now())
        await program_settings.change_setting(tx, GUILD, "auto_promote", "on", clock.now())
        await program_settings.change_setting(tx, GUILD, "digest_day", "fri", clock.now())
        await program_settings.change_setting(tx, GUILD, "code_pattern", "glow{rand4}", clock.now())
    assert (change.old, change.new) == (30, 40)
    switches = await program_settings.get_onboarding_settings(db, GUILD)
    assert switches.auto_promote and not switches.auto_approve and switches.reapply_cooldown_days == 30
    saved = await get_settings(db, GUILD)
    assert saved.digest_weekday == 4 and saved.code_pattern == "GLOW{RAND4}"
    bad = [("capacity", "0"), ("timezone", "Mars/Base"), ("digest_time", "25:00"), ("code_prefix", "TOO-LONG!"),
           ("auto_approve", "maybe"), ("code_pattern", "{NAME}"), ("nope", "1")]  # fmt: skip
    for key, value in bad:
        with pytest.raises(InvalidInput):
            async with db.transaction() as tx:
                await program_settings.change_setting(tx, GUILD, key, value, clock.now())
    assert (await get_settings(db, GUILD)).capacity == 40
