"""Event attendance: check-in codes inside the window, voice presence, points exactly once, CSV, digest."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

import bot.services.events.digest  # noqa: F401 — registers the digest providers
from bot.clock import FixedClock
from bot.db import Database
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.services.digest.sections import DigestWindow, metric_providers, section_providers
from bot.services.engagement import points
from bot.services.events.attendance import CODE_ALPHABET, attendees_csv, check_in, new_code, record_voice
from bot.services.events.events import create_event
from bot.services.events.followup import create_followup_poll
from bot.services.events.rsvps import rsvp
from tests.unit.test_events import ALICE, BOB, CHEN, GUILD, MOD, START, add_member, draft

UTC_ZONE = ZoneInfo("UTC")
DURING = START + timedelta(minutes=30)


@pytest.fixture
async def people(db: Database) -> None:
    for user_id in (ALICE, BOB, CHEN):
        await add_member(db, user_id)
    await add_member(db, 20, status="applicant", tier=None)


def test_codes_are_short_and_unambiguous() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) > 190
    assert all(len(code) == 6 and set(code) <= set(CODE_ALPHABET) for code in codes)
    assert not set("01OIL") & set(CODE_ALPHABET)


async def test_check_in_inside_the_window_awards_points_once(db: Database, clock: FixedClock, people: None) -> None:
    event = await db.perform(
        create_event, GUILD, draft(points=40), created_by=MOD, now=clock.now(), checkin_code="ABC234"
    )
    attended = await db.perform(check_in, GUILD, CHEN, " abc-234 ", now=DURING, zone=UTC_ZONE)
    assert attended.event.id == event.id and attended.points == 40 and attended.source == "checkin"
    with pytest.raises(Conflict, match="already checked in"):
        await db.perform(check_in, GUILD, CHEN, "ABC234", now=DURING + timedelta(minutes=5), zone=UTC_ZONE)
    assert await points.balance(db, GUILD, CHEN) == 40
    rows = await db.fetchall("SELECT reference, reason FROM points_ledger")
    assert [(r["reference"], r["reason"]) for r in rows] == [(f"event:{event.id}:{CHEN}", "event")]


async def test_wrong_early_expired_and_cancelled_codes_are_refused(
    db: Database, clock: FixedClock, people: None
) -> None:
    event = await db.perform(create_event, GUILD, draft(), created_by=MOD, now=clock.now(), checkin_code="ABC234")
    with pytest.raises(InvalidInput, match="isn't right"):
        await db.perform(check_in, GUILD, ALICE, "ZZZ999", now=DURING, zone=UTC_ZONE)
    with pytest.raises(InvalidInput, match="isn't right"):
        await db.perform(check_in, GUILD, ALICE, "'; DROP TABLE", now=DURING, zone=UTC_ZONE)
    with pytest.raises(InvalidInput, match="opens when it starts"):
        await db.perform(check_in, GUILD, ALICE, "ABC234", now=START - timedelta(minutes=1), zone=UTC_ZONE)
    with pytest.raises(InvalidInput, match="expired"):
        await db.perform(check_in, GUILD, ALICE, "ABC234", now=event.ends_at, zone=UTC_ZONE)
    with pytest.raises(NotAllowed):
        await db.perform(check_in, GUILD, 20, "ABC234", now=DURING, zone=UTC_ZONE)
    # Another server's code is not this server's.
    with pytest.raises(InvalidInput, match="isn't right"):
        await db.perform(check_in, GUILD + 1, ALICE, "ABC234", now=DURING, zone=UTC_ZONE)
    assert await db.fetchval("SELECT COUNT(*) FROM event_attendance") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM points_ledger") == 0


async def test_voice_attendance_counts_ambassadors_in_the_window_once(
    db: Database, clock: FixedClock, people: None
) -> None:
    online = await db.perform(
        create_event,
        GUILD,
        draft(location=None, channel_id=777),
        created_by=MOD,
        now=clock.now(),
        checkin_code="ABC234",
    )
    assert await db.perform(record_voice, GUILD, 777, ALICE, START - timedelta(minutes=5)) == []  # before the start
    first = await db.perform(record_voice, GUILD, 777, ALICE, DURING)
    assert [(a.event.id, a.source, a.points) for a in first] == [(online.id, "voice", 30)]
    assert await db.perform(record_voice, GUILD, 777, ALICE, DURING + timedelta(minutes=10)) == []  # rejoin
    assert await db.perform(record_voice, GUILD, 777, 20, DURING) == []  # not an ambassador
    assert await db.perform(record_voice, GUILD, 778, BOB, DURING) == []  # another channel
    assert await points.balance(db, GUILD, ALICE) == 30
    # The code also works for an online event, but never awards twice.
    with pytest.raises(Conflict):
        await db.perform(check_in, GUILD, ALICE, "ABC234", now=DURING, zone=UTC_ZONE)


async def test_attendees_csv(db: Database, clock: FixedClock, people: None) -> None:
    await db.execute("UPDATE members SET display_name = '=HYPERLINK(\"x\")' WHERE user_id = ?", (BOB,))
    event = await db.perform(
        create_event, GUILD, draft(capacity=1), created_by=MOD, now=clock.now(), checkin_code="ABC234"
    )
    await db.perform(rsvp, GUILD, event.id, ALICE, going=True, now=clock.now())
    await db.perform(rsvp, GUILD, event.id, BOB, going=True, now=clock.now())
    await db.perform(check_in, GUILD, ALICE, "ABC234", now=DURING, zone=ZoneInfo("Europe/Berlin"))
    await db.perform(check_in, GUILD, CHEN, "ABC234", now=DURING, zone=UTC_ZONE)  # a walk-in without an RSVP
    found, text = await attendees_csv(db, GUILD, event.id, ZoneInfo("Europe/Berlin"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert found.id == event.id
    by_user = {int(r["user_id"]): r for r in rows}
    assert by_user[ALICE]["attended"] == "yes" and by_user[ALICE]["attended_at"] == "2026-12-05 19:30"
    assert by_user[ALICE]["rsvp"] == "going"
    assert by_user[BOB]["rsvp"] == "waitlisted" and by_user[BOB]["waitlist_position"] == "1"
    assert by_user[BOB]["attended"] == "no" and by_user[BOB]["name"].startswith("'=")
    assert by_user[CHEN]["rsvp"] == "" and by_user[CHEN]["source"] == "checkin"


async def test_digest_sections_and_metric(db: Database, clock: FixedClock, people: None) -> None:
    past = await db.perform(
        create_event, GUILD, draft(title="Lab tour"), created_by=MOD, now=clock.now(), checkin_code="ABC234"
    )
    await db.perform(check_in, GUILD, ALICE, "ABC234", now=DURING, zone=UTC_ZONE)
    await db.perform(
        create_event,
        GUILD,
        draft(title="Focus group", starts_at=START + timedelta(days=7), ends_at=START + timedelta(days=7, hours=1)),
        created_by=MOD,
        now=clock.now(),
        checkin_code="ABC235",
    )
    week = DigestWindow(START - timedelta(days=2), START + timedelta(days=5), UTC_ZONE)
    sections = await section_providers()["events"](db, GUILD, week)
    by_key = {s.key: s for s in sections}
    assert "Focus group" in by_key["events_upcoming"].lines[0]
    assert by_key["events_attendance"].lines == [f"**{past.title}** — 1 came (0 said they'd go)"]
    assert all(s.audience == "public" for s in sections)
    label, metric = metric_providers()["event_attendance"]
    assert label == "Event attendance"
    earlier = DigestWindow(week.start - timedelta(days=7), week.start, UTC_ZONE)
    assert await metric(db, GUILD, [earlier, week]) == [0, 1]


async def test_followup_poll_is_restricted_to_attendees(db: Database, clock: FixedClock, people: None) -> None:
    event = await db.perform(create_event, GUILD, draft(), created_by=MOD, now=clock.now(), checkin_code="ABC234")
    ask = {"question": "How was it?", "options": ["Loved it", "Fine"], "duration": "2d", "created_by": MOD}
    with pytest.raises(InvalidInput, match="hasn't started"):
        await db.perform(create_followup_poll, GUILD, event.id, now=clock.now(), **ask)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="Nobody has checked in"):
        await db.perform(create_followup_poll, GUILD, event.id, now=DURING, **ask)  # type: ignore[arg-type]
    await db.perform(check_in, GUILD, CHEN, "ABC234", now=DURING, zone=UTC_ZONE)
    poll_id, voters = await db.perform(create_followup_poll, GUILD, event.id, now=DURING, **ask)  # type: ignore[arg-type]
    assert voters == 1
    assert await db.fetchval("SELECT restricted FROM polls WHERE id = ?", (poll_id,)) == 1
    rows = await db.fetchall("SELECT user_id FROM poll_voters WHERE poll_id = ?", (poll_id,))
    assert [r["user_id"] for r in rows] == [CHEN]
