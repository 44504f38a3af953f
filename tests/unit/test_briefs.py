"""Briefs against a real database: form checks, draft → open → closed, opt-ins and reminder targets."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock, to_db
from bot.db import Database
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.content import briefs, submissions
from bot.services.program.members import find_member

GUILD, MOD, ALICE, BOB = 1, 10, 20, 30
UTC_ZONE = ZoneInfo("UTC")


async def add_member(db: Database, user_id: int, status: str = "active", tier: str | None = None) -> None:
    now = to_db(datetime(2026, 11, 1, tzinfo=UTC))
    await db.execute(
        "INSERT INTO members (guild_id, user_id, display_name, status, tier, status_changed_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (GUILD, user_id, f"user{user_id}", status, tier, now, now),
    )


def fields(now: datetime, due: str = "2026-12-05", points: str = "40") -> briefs.BriefFields:
    return briefs.check_fields("Winter glow", "A 20 s routine video", "#GlowRoutine", due, points, UTC_ZONE, now)


def test_parse_local_reads_dates_in_the_server_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert briefs.parse_local("2026-12-05 18:00", paris, default_time=time(9)) == datetime(2026, 12, 5, 17, tzinfo=UTC)
    assert briefs.parse_local("2026-12-05", paris, default_time=time(23, 59)) == datetime(
        2026, 12, 5, 22, 59, tzinfo=UTC
    )
    for bad in ("5/12/2026", "2026-02-30", "2026-12-05 25:00", "tomorrow"):
        with pytest.raises(InvalidInput):
            briefs.parse_local(bad, paris, default_time=time(9))


def test_form_checks(clock: FixedClock) -> None:
    now = clock.now()
    checked = fields(now)
    assert checked.due_at == datetime(2026, 12, 5, 23, 59, tzinfo=UTC) and checked.points == 40
    with pytest.raises(InvalidInput, match="future"):
        fields(now, due="2026-11-01")
    with pytest.raises(InvalidInput, match="whole number"):
        fields(now, points="lots")
    with pytest.raises(InvalidInput, match="between"):
        fields(now, points="-5")
    with pytest.raises(InvalidInput, match="title"):
        briefs.check_fields("x" * 101, "what", "", "2026-12-05", "1", UTC_ZONE, now)
    with pytest.raises(InvalidInput, match="What to make"):
        briefs.check_fields("t", "", "", "2026-12-05", "1", UTC_ZONE, now)


async def test_draft_publish_close(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    draft = await db.perform(briefs.create_draft, GUILD, MOD, fields(now), None, now)
    assert draft.status == "draft"
    opened = await db.perform(briefs.publish, GUILD, draft.id, MOD, now)
    assert opened.status == "open"
    again = await db.perform(briefs.publish, GUILD, draft.id, MOD, now)  # re-publishing an open brief is harmless
    assert again.status == "open"
    with pytest.raises(Conflict):
        await db.perform(briefs.cancel_draft, GUILD, draft.id, MOD, now)
    closed, changed = await db.perform(briefs.close, GUILD, draft.id, None, now)
    assert closed.status == "closed" and changed
    _, changed = await db.perform(briefs.close, GUILD, draft.id, None, now)
    assert not changed
    with pytest.raises(Conflict):
        await db.perform(briefs.publish, GUILD, draft.id, MOD, now)
    actions = [row["action"] for row in await db.fetchall("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["brief.publish", "brief.close"]


async def test_unknown_tier_and_brief(db: Database, clock: FixedClock) -> None:
    with pytest.raises(InvalidInput, match="tier"):
        await db.perform(briefs.create_draft, GUILD, MOD, fields(clock.now()), "gold", clock.now())
    with pytest.raises(NotFound):
        await briefs.get_brief(db, GUILD, 999)
    assert await db.fetchval("SELECT COUNT(*) FROM briefs") == 0


async def test_opt_in_rules(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    await add_member(db, ALICE)
    await add_member(db, BOB, tier="ambassador")
    await db.execute("INSERT INTO tiers (guild_id, key, name) VALUES (?, 'creator', 'Creator')", (GUILD,))
    alice = await find_member(db, GUILD, ALICE)
    bob = await find_member(db, GUILD, BOB)
    assert alice is not None and bob is not None
    draft = await db.perform(briefs.create_draft, GUILD, MOD, fields(now), None, now)
    with pytest.raises(NotAllowed):
        await db.perform(briefs.opt_in, GUILD, draft.id, alice, now)  # not published yet
    await db.perform(briefs.publish, GUILD, draft.id, MOD, now)
    assert (await db.perform(briefs.opt_in, GUILD, draft.id, alice, now))[1] is True
    assert (await db.perform(briefs.opt_in, GUILD, draft.id, alice, now))[1] is False
    assert await briefs.optin_count(db, draft.id) == 1

    creator_only = await db.perform(briefs.create_draft, GUILD, MOD, fields(now), "creator", now)
    await db.perform(briefs.publish, GUILD, creator_only.id, MOD, now)
    with pytest.raises(NotAllowed, match="`creator` tier"):
        await db.perform(briefs.opt_in, GUILD, creator_only.id, bob, now)
    assert [b.id for b in await briefs.open_briefs_for(db, GUILD, bob)] == [draft.id]


async def test_reminder_targets_skip_submitters_and_the_reminded(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    await add_member(db, ALICE)
    await add_member(db, BOB)
    brief = await db.perform(briefs.create_draft, GUILD, MOD, fields(now), None, now)
    await db.perform(briefs.publish, GUILD, brief.id, MOD, now)
    for user_id in (ALICE, BOB):
        member = await find_member(db, GUILD, user_id)
        assert member is not None
        await db.perform(briefs.opt_in, GUILD, brief.id, member, now)
    assert await briefs.reminder_targets(db, brief.id) == [ALICE, BOB]
    draft = await submissions.prepare(
        db, GUILD, BOB, link="https://tiktok.com/@bob/video/1", brief_id=brief.id, now=now
    )
    await db.perform(submissions.submit, GUILD, draft, now)
    assert await briefs.reminder_targets(db, brief.id) == [ALICE]
    await db.perform(briefs.mark_reminded, brief.id, ALICE, now)
    assert await briefs.reminder_targets(db, brief.id) == []
    assert briefs.reminder_at(brief.due_at, 2) == brief.due_at - timedelta(days=2)


async def test_edit_and_content_settings(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    brief = await db.perform(briefs.create_draft, GUILD, MOD, fields(now), None, now)
    edited = await db.perform(briefs.edit, GUILD, brief.id, MOD, fields(now, due="2026-12-10 18:00", points="75"), now)
    assert edited.points == 75 and edited.due_at == datetime(2026, 12, 10, 18, tzinfo=UTC)
    assert await briefs.get_content_settings(db, GUILD) == briefs.ContentSettings(2, True)
    updated = await db.perform(briefs.update_content_settings, GUILD, now, actor_id=MOD, reminder_days=3)
    assert updated == briefs.ContentSettings(3, True)
    assert await db.perform(
        briefs.update_content_settings, GUILD, now, actor_id=MOD, feature=False
    ) == briefs.ContentSettings(3, False)
    with pytest.raises(InvalidInput):
        await db.perform(briefs.update_content_settings, GUILD, now, actor_id=MOD, reminder_days=31)
