"""Fuzzing slash-command options at the service level: polls, events (create, edit, follow-up, check-in),
points adjust, codes (vanity code, manual sale), settings (each setting, tiers).

Each example either goes through or is refused with a clear ``bot.errors`` message and no write at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import CollectiveError
from bot.services.engagement import points
from bot.services.events import attendance as event_attendance
from bot.services.events import events
from bot.services.events import followup as event_followup
from bot.services.inputs.local_time import parse_local
from bot.services.polls import polls
from bot.services.program import program_settings, tiers
from bot.services.sales import codes
from bot.services.sales.orders import record_manual_sale
from tests.reliability.fuzz_strategies import FUZZ, any_text, attempt, date_like, form, integers, near, numbers
from tests.reliability.fuzz_world import ALICE, GUILD, MOD, ZONES, Program, add_member, build_program

DURATIONS = ["30m", "2h", "3d", "1d12h"]


@pytest.fixture
async def program(db: Database, clock: FixedClock) -> AsyncIterator[Program]:
    yield await build_program(db, clock.now())


POLL = form(
    question=(["Which scent next?"], near(["Which scent next?"], 400)),
    options=(["Rose | Vanilla | Citrus", "a|b"], near(["Rose | Vanilla | Citrus"], 1000)),
    duration=(DURATIONS, near(DURATIONS, 20)),
    comment=([None, "Why?"], near(["Why?"], 60)),
    tier=([None, "gold"], near(["gold"], 30)),
)


@FUZZ
@given(answers=POLL)
async def test_poll_create(program: Program, answers: dict[str, Any]) -> None:
    async def create() -> int:
        closes_at = program.now + polls.parse_duration(answers["duration"])
        async with program.db.transaction() as tx:
            return await polls.create_poll(
                tx, GUILD, question=answers["question"], options=answers["options"].split("|"), closes_at=closes_at,
                comment_prompt=answers["comment"], tier=answers["tier"], created_by=MOD, now=program.now,
            )  # fmt: skip

    outcome = await attempt(program.db, create)
    if not isinstance(outcome, CollectiveError):
        assert (await polls.get_poll(program.db, outcome, GUILD)).status == "open"


@FUZZ
@given(comment=st.one_of(st.none(), near(["Rose, because it lasts."], 700)))
async def test_poll_vote_comment(program: Program, comment: str | None) -> None:
    async with program.db.transaction() as tx:
        poll_id = await polls.create_poll(
            tx, GUILD, question="Scent?", options=["Rose", "Oud"], closes_at=program.now + timedelta(days=1),
            comment_prompt="Why?", created_by=MOD, now=program.now,
        )  # fmt: skip

    async def vote() -> polls.VoteOutcome:
        return await polls.vote(program.db, poll_id, ALICE, [0], now=program.now, points_per_vote=2, comment=comment)

    await attempt(program.db, vote)


STARTS = ["2026-12-01 18:00", "2026-12-02 09:00"]
ENDS = ["2026-12-01 20:00", "2026-12-02 12:00"]
EVENT = form(
    title=(["Spring launch"], near(["Spring launch"], 120)),
    description=([None, "Meet the team"], near(["Meet the team"], 1100)),
    start=(STARTS, date_like(STARTS)),
    end=(ENDS, date_like(ENDS)),
    location=(["Paris store"], near(["Paris store"], 120)),
    capacity=([10, 1], integers()),
    tier=([None, "gold"], near(["gold"], 30)),
    points=([0, 5], integers()),
    zone=(ZONES, st.sampled_from(ZONES)),
)


@FUZZ
@given(answers=EVENT)
async def test_event_create(program: Program, answers: dict[str, Any]) -> None:
    zone = answers["zone"]

    async def create() -> events.Event:
        draft = events.EventDraft(
            answers["title"], answers["description"] or "", parse_local(answers["start"], zone, what="start"),
            parse_local(answers["end"], zone, what="end"), answers["location"], None, answers["capacity"],
            answers["tier"], answers["points"],
        )  # fmt: skip
        code = await event_attendance.unused_code(program.db, GUILD)
        return await program.db.perform(
            events.create_event, GUILD, draft, created_by=MOD, now=program.now, checkin_code=code
        )

    outcome = await attempt(program.db, create)
    if not isinstance(outcome, CollectiveError):
        assert outcome.title == " ".join(answers["title"].split())


@FUZZ
@given(
    field=st.sampled_from(["title", "description", "location", "start", "end", "capacity", "points"]),
    text=any_text(1100),
    number=integers(),
)
async def test_event_edit(program: Program, field: str, text: str, number: int) -> None:
    """/event edit with one option given, on the event that starts in an hour."""

    async def edit() -> events.EditOutcome:
        changes: dict[str, object] = {}
        if field in ("start", "end"):
            changes[f"{field}s_at"] = parse_local(text, ZONES[0], what=field)
        elif field in ("capacity", "points"):
            changes[field] = number
        else:
            changes[field] = text
        return await program.db.perform(
            events.edit_event, GUILD, program.event_id, changes, actor_id=MOD, now=program.now
        )

    await attempt(program.db, edit)


@FUZZ
@given(
    question=near(["How was it?"], 400),
    options=near(["Great | Fine | Meh"], 1000),
    duration=near(DURATIONS, 20),
)
async def test_event_followup(program: Program, question: str, options: str, duration: str) -> None:
    later = program.now + timedelta(hours=2)

    async def ask() -> tuple[int, int]:
        return await program.db.perform(
            event_followup.create_followup_poll, GUILD, program.event_id, question=question,
            options=options.split("|"), duration=duration, created_by=MOD, now=later,
        )  # fmt: skip

    await attempt(program.db, ask)


@FUZZ
@given(code=near(["HELLO2", "hello-2"], 40))
async def test_checkin_code(program: Program, code: str) -> None:
    user = program.new_user()
    await add_member(program.db, user, program.now, tier="gold")
    later = program.now + timedelta(hours=2)

    async def check_in() -> event_attendance.Attendance:
        return await program.db.perform(event_attendance.check_in, GUILD, user, code, now=later, zone=ZONES[0])

    await attempt(program.db, check_in)


@FUZZ
@given(amount=integers(), reason=near(["Great pop-up help"], 300))
async def test_points_adjust(program: Program, amount: int, reason: str) -> None:
    async def adjust() -> points.Adjustment:
        async with program.db.transaction() as tx:
            return await points.adjust(tx, GUILD, ALICE, amount, reason, actor_id=MOD, now=program.now)

    await attempt(program.db, adjust)


@FUZZ
@given(code=near(["GLOW-ANNA", "alice10", "BOB_2026"], 60))
async def test_codes_set(program: Program, code: str) -> None:
    user = program.new_user()
    await add_member(program.db, user, program.now)

    async def set_code() -> codes.Code:
        async with program.db.transaction() as tx:
            return await codes.set_vanity_code(tx, GUILD, user, code, program.now, actor_id=MOD)

    outcome = await attempt(program.db, set_code)
    if not isinstance(outcome, CollectiveError):
        assert outcome.code == code.strip().upper()


SALE = form(
    order_id=(["POP-1", "#1001"], near(["POP-1"], 100)),
    code=(["ALICE10", "alice10"], near(["ALICE10"], 60)),
    amount=(["49.90", "12"], st.one_of(numbers(), near(["49.90", "0.01"], 60))),
    currency=(["EUR", "jpy"], near(["EUR", "KWD"], 20)),
)


@FUZZ
@given(answers=SALE)
async def test_codes_record(program: Program, answers: dict[str, str]) -> None:
    order_id = f"{answers.pop('order_id')}-{program.new_user()}"  # fresh ids, so a valid sale is recorded

    async def record() -> object:
        async with program.db.transaction() as tx:
            return await record_manual_sale(tx, GUILD, order_id=order_id, actor_id=MOD, now=program.now, **answers)

    await attempt(program.db, record)


@FUZZ
@given(key=st.one_of(st.sampled_from(sorted(program_settings.SETTINGS)), any_text(40)), value=any_text(150))
async def test_settings_change(program: Program, key: str, value: str) -> None:
    async def change() -> program_settings.SettingChange:
        async with program.db.transaction() as tx:
            return await program_settings.change_setting(tx, GUILD, key, value, program.now)

    await attempt(program.db, change)


TIER = form(
    key=(["silver", "gold"], near(["silver"], 40)),
    name=(["Silver"], near(["Silver"], 80)),
    commission=([None, "12.5"], near(["12.5", "10%"], 20)),
    perks=(["", "Early drops"], any_text(400)),
)


@FUZZ
@given(answers=TIER)
async def test_settings_tier(program: Program, answers: dict[str, Any]) -> None:
    async def upsert() -> tuple[tiers.Tier | None, tiers.Tier]:
        commission = 0 if answers["commission"] is None else tiers.parse_commission(answers["commission"])
        async with program.db.transaction() as tx:
            return await tiers.upsert_tier(tx, GUILD, answers["key"], answers["name"], commission, answers["perks"])

    await attempt(program.db, upsert)
