"""A small program in a real migrated database for the service-level fuzz tests: one server, an ambassador
with a code and a tier, an open brief, an event under way with one attendee, a pending submission.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.content import briefs, submissions
from bot.services.events import attendance as event_attendance
from bot.services.events import events
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales import codes

GUILD, MOD, ALICE = 9001, 10, 20
# Zones at the ends of the offset range: dates near year 1 or 9999 overflow in one of them.
ZONES = [ZoneInfo("UTC"), ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12"), ZoneInfo("Europe/Paris")]


@dataclass
class Program:
    db: Database
    now: datetime
    brief_id: int
    event_id: int
    submission_id: int
    fresh_ids: itertools.count[int]

    def new_user(self) -> int:
        return next(self.fresh_ids)


async def add_member(
    db: Database, user_id: int, now: datetime, status: str = "active", tier: str | None = None
) -> None:
    await db.execute(
        "INSERT INTO members (guild_id, user_id, display_name, status, tier, status_changed_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (GUILD, user_id, f"user{user_id}", status, tier, to_db(now), to_db(now)),
    )


async def build_program(db: Database, now: datetime) -> Program:
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), now)
    await db.execute(
        "INSERT INTO tiers (guild_id, key, name, commission_bp) VALUES (?, 'gold', 'Gold', 1000)", (GUILD,)
    )
    await add_member(db, ALICE, now, tier="gold")
    async with db.transaction() as tx:
        await codes.set_vanity_code(tx, GUILD, ALICE, "ALICE10", now)
    fields = briefs.check_fields("Winter glow", "A routine video", "#Glow", "2026-12-20", "40", ZONES[0], now)
    brief = await db.perform(briefs.create_draft, GUILD, MOD, fields, None, now)
    await db.perform(briefs.publish, GUILD, brief.id, MOD, now)
    draft = events.EventDraft("Pop-up", "", now + timedelta(hours=1), now + timedelta(hours=3), "Paris", None,
                              10, None, 5)  # fmt: skip
    event = await db.perform(events.create_event, GUILD, draft, created_by=MOD, now=now, checkin_code="HELLO2")
    await db.perform(event_attendance.check_in, GUILD, ALICE, "HELLO2", now=now + timedelta(hours=2), zone=ZONES[0])
    sub_draft = await submissions.prepare(db, GUILD, ALICE, link="https://www.tiktok.com/@a/video/1", now=now)
    sub = await db.perform(submissions.submit, GUILD, sub_draft, now)
    return Program(db, now, brief.id, event.id, sub.id, itertools.count(1000))
