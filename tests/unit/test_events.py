"""Events service: validation, create/edit/cancel, RSVPs with a waitlist that moves up, reminder timers."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock, to_db
from bot.db import Database
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.services.events.events import (
    EventDraft,
    cancel_event,
    counts,
    create_event,
    edit_event,
    is_current_timer,
    reminder_plan,
)
from bot.services.events.rsvps import (
    claim_reminder,
    members_with_status,
    my_rsvps,
    rsvp,
)
from bot.services.inputs.local_time import parse_local

GUILD = 1
MOD = 10
ALICE, BOB, CHEN, DANA = 11, 12, 13, 14
START = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)


async def add_member(db: Database, user_id: int, status: str = "active", tier: str | None = "ambassador") -> None:
    stamp = to_db(datetime(2026, 11, 1, tzinfo=UTC))
    await db.execute(
        "INSERT INTO members (guild_id, user_id, display_name, status, tier, status_changed_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (GUILD, user_id, f"user{user_id}", status, tier, stamp, stamp),
    )


def draft(**changes: object) -> EventDraft:
    base = EventDraft(
        title="Holiday meetup",
        description="Mince pies and new serums",
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        location="Glow HQ, Berlin",
        channel_id=None,
        capacity=1,
        tier=None,
        points=30,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def people(db: Database) -> None:
    for user_id in (ALICE, BOB, CHEN, DANA):
        await add_member(db, user_id)


def test_parse_local_reads_server_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_local("2026-12-05 18:00", berlin, what="start") == datetime(2026, 12, 5, 17, 0, tzinfo=UTC)
    assert parse_local(" 2026-07-01T09:30 ", berlin, what="start") == datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="YYYY-MM-DD HH:MM"):
        parse_local("tomorrow 6pm", berlin, what="start")
    with pytest.raises(InvalidInput, match="isn't a real date"):
        parse_local("2026-02-30 10:00", berlin, what="start")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"starts_at": datetime(2026, 11, 1, tzinfo=UTC)}, "start must be in the future"),
        ({"ends_at": START}, "end must be after the start"),
        ({"ends_at": START + timedelta(days=8)}, "at most 7 days"),
        ({"capacity": 0}, "Capacity must be between"),
        ({"location": None}, "either a location"),
        ({"channel_id": 555}, "either a location"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 101}, "at most 100"),
        ({"points": -1}, "points must be between"),
        ({"tier": "creator"}, "no tier `creator`"),
    ],
)
async def test_create_refuses_bad_input_and_writes_nothing(
    db: Database, clock: FixedClock, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await db.perform(create_event, GUILD, draft(**changes), created_by=MOD, now=clock.now(), checkin_code="ABC234")
    assert await db.fetchval("SELECT COUNT(*) FROM events") == 0


async def test_create_stores_event_code_and_audit(db: Database, clock: FixedClock) -> None:
    event = await db.perform(
        create_event, GUILD, draft(title="  Holiday   meetup "), created_by=MOD, now=clock.now(), checkin_code="ABC234"
    )
    assert event.title == "Holiday meetup" and event.status == "scheduled" and not event.online
    assert await db.fetchval("SELECT code FROM event_checkin_codes WHERE event_id = ?", (event.id,)) == "ABC234"
    assert await db.fetchval("SELECT action FROM audit_log") == "event.create"


async def test_rsvp_up_to_capacity_then_waitlist_moves_up(db: Database, clock: FixedClock, people: None) -> None:
    event = await db.perform(
        create_event, GUILD, draft(capacity=1), created_by=MOD, now=clock.now(), checkin_code="ABC234"
    )
    now = clock.now()
    first = await db.perform(rsvp, GUILD, event.id, ALICE, going=True, now=now)
    assert first.status == "going" and first.changed
    second = await db.perform(rsvp, GUILD, event.id, CHEN, going=True, now=now)
    third = await db.perform(rsvp, GUILD, event.id, BOB, going=True, now=now)
    assert (second.status, second.position) == ("waitlisted", 1)
    assert (third.status, third.position) == ("waitlisted", 2)
    again = await db.perform(rsvp, GUILD, event.id, CHEN, going=True, now=now)
    assert again.status == "waitlisted" and not again.changed and again.position == 1

    dropped = await db.perform(rsvp, GUILD, event.id, ALICE, going=False, now=now)
    assert dropped.status == "declined" and dropped.promoted == [CHEN]
    assert await members_with_status(db, event.id, "going") == [CHEN]
    assert (await my_rsvps(db, GUILD, BOB))[event.id] == ("waitlisted", 1)
    assert await counts(db, event.id) == dropped.counts

    # Alice changes her mind: the event is full, so she joins the back of the waitlist.
    back = await db.perform(rsvp, GUILD, event.id, ALICE, going=True, now=now)
    assert (back.status, back.position) == ("waitlisted", 2)
    # A waitlisted member dropping out frees no seat.
    assert (await db.perform(rsvp, GUILD, event.id, BOB, going=False, now=now)).promoted == []
    assert (await my_rsvps(db, GUILD, ALICE))[event.id] == ("waitlisted", 1)


async def test_rsvp_rules(db: Database, clock: FixedClock, people: None) -> None:
    await add_member(db, 20, status="applicant", tier=None)
    await db.execute("INSERT INTO tiers (guild_id, key, name) VALUES (?, 'creator', 'Creator')", (GUILD,))
    event = await db.perform(create_event, GUILD, draft(), created_by=MOD, now=clock.now(), checkin_code="ABC234")
    with pytest.raises(NotAllowed, match="ambassadors"):
        await db.perform(rsvp, GUILD, event.id, 20, going=True, now=clock.now())
    vip = await db.perform(
        create_event, GUILD, draft(tier="Creator"), created_by=MOD, now=clock.now(), checkin_code="ABC235"
    )
    assert vip.tier == "creator"
    with pytest.raises(NotAllowed, match="`creator` tier"):
        await db.perform(rsvp, GUILD, vip.id, ALICE, going=True, now=clock.now())
    with pytest.raises(Conflict, match="already started"):
        await db.perform(rsvp, GUILD, event.id, ALICE, going=True, now=START)
    await db.perform(cancel_event, GUILD, event.id, actor_id=MOD, now=clock.now())
    with pytest.raises(Conflict, match="cancelled"):
        await db.perform(rsvp, GUILD, event.id, ALICE, going=True, now=clock.now())


async def test_concurrent_rsvps_never_overfill(db: Database, clock: FixedClock, people: None) -> None:
    event = await db.perform(
        create_event, GUILD, draft(capacity=2), created_by=MOD, now=clock.now(), checkin_code="ABC234"
    )
    outcomes = await asyncio.gather(
        *(db.perform(rsvp, GUILD, event.id, user, going=True, now=clock.now()) for user in (ALICE, BOB, CHEN, DANA))
    )
    assert sorted(o.status for o in outcomes) == ["going", "going", "waitlisted", "waitlisted"]
    assert (await counts(db, event.id)).going == 2


async def test_edit_validates_and_larger_capacity_moves_people_up(
    db: Database, clock: FixedClock, people: None
) -> None:
    event = await db.perform(
        create_event, GUILD, draft(capacity=1), created_by=MOD, now=clock.now(), checkin_code="ABC234"
    )
    for user in (ALICE, BOB, CHEN):
        await db.perform(rsvp, GUILD, event.id, user, going=True, now=clock.now())
    with pytest.raises(InvalidInput, match="end must be after"):
        await db.perform(edit_event, GUILD, event.id, {"ends_at": START}, actor_id=MOD, now=clock.now())
    with pytest.raises(InvalidInput, match="switch between in person and online"):
        await db.perform(edit_event, GUILD, event.id, {"channel_id": 99}, actor_id=MOD, now=clock.now())
    outcome = await db.perform(
        edit_event,
        GUILD,
        event.id,
        {"capacity": 2, "starts_at": START + timedelta(days=1), "ends_at": START + timedelta(days=1, hours=2)},
        actor_id=MOD,
        now=clock.now(),
    )
    assert outcome.promoted == [BOB] and outcome.moved and outcome.after.capacity == 2
    # Under way: the start may stay in the past, the end can still move.
    during = START + timedelta(days=1, minutes=30)
    later = await db.perform(
        edit_event, GUILD, event.id, {"ends_at": START + timedelta(days=1, hours=3)}, actor_id=MOD, now=during
    )
    assert later.after.ends_at == START + timedelta(days=1, hours=3) and not later.promoted


async def test_cancel_twice_is_a_conflict(db: Database, clock: FixedClock) -> None:
    event = await db.perform(create_event, GUILD, draft(), created_by=MOD, now=clock.now(), checkin_code="ABC234")
    cancelled = await db.perform(cancel_event, GUILD, event.id, actor_id=MOD, now=clock.now())
    assert cancelled.status == "cancelled"
    with pytest.raises(Conflict, match="already cancelled"):
        await db.perform(cancel_event, GUILD, event.id, actor_id=MOD, now=clock.now())
    with pytest.raises(Conflict, match="cancelled"):
        await db.perform(edit_event, GUILD, event.id, {"title": "New"}, actor_id=MOD, now=clock.now())


async def test_reminder_plan_and_claims(db: Database, clock: FixedClock, people: None) -> None:
    event = await db.perform(create_event, GUILD, draft(), created_by=MOD, now=clock.now(), checkin_code="ABC234")
    plan = reminder_plan(event, clock.now())
    assert [(label, due) for label, _key, due in plan] == [
        ("day", START - timedelta(days=1)),
        ("hour", START - timedelta(hours=1)),
        ("start", START),
    ]
    # Created less than a day ahead: no day-before reminder.
    assert [label for label, _k, _d in reminder_plan(event, START - timedelta(hours=5))] == ["hour", "start"]
    key = plan[0][1]
    assert is_current_timer(event, key)
    moved = replace(event, starts_at=START + timedelta(hours=1))
    assert not is_current_timer(moved, key)  # a stale timer of the old start time
    assert await db.perform(claim_reminder, event, ALICE, key, clock.now())
    assert not await db.perform(claim_reminder, event, ALICE, key, clock.now())
