"""Fuzzing the modal forms at the service level: the /apply form and the reject reason, the brief form, the
/submit link and note and review feedback, the drop form.

Each example either goes through or is refused with a clear ``bot.errors`` message and no write at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import CollectiveError
from bot.services.content import briefs, drops, submissions
from bot.services.onboarding import applications as onboarding
from bot.services.onboarding.form import validate_form
from tests.reliability.fuzz_strategies import FUZZ, any_text, attempt, date_like, form, near
from tests.reliability.fuzz_world import ALICE, GUILD, MOD, ZONES, Program, add_member, build_program

LINKS = ["https://instagram.com/alice", "https://www.tiktok.com/@alice/video/12", "http://blog.example.org/p?x=1"]
DATES = ["2026-12-05", "2026-12-05 18:00", "2027-01-31 09:30"]


@pytest.fixture
async def program(db: Database, clock: FixedClock) -> AsyncIterator[Program]:
    yield await build_program(db, clock.now())


APPLICATION = form(
    social=(["\n".join(LINKS), LINKS[0]], near(LINKS, 500)),
    niche=(["skincare routines"], near(["skincare routines"], 150)),
    why=(["I have used the serum for two years."], near(["I have used the serum for two years."], 1100)),
    contact=(["#1042", "alice@example.com", ""], near(["#1042", "alice@example.com"], 150)),
    city=(["", "Lyon"], any_text(150)),
)


@FUZZ
@given(answers=APPLICATION)
async def test_the_application_form(program: Program, answers: dict[str, str]) -> None:
    user = program.new_user()

    async def apply() -> onboarding.Application:
        checked = validate_form(**answers)
        async with program.db.transaction() as tx:
            return await onboarding.submit_application(
                tx, GUILD, user, "applicant", checked, program.now, cooldown_days=0
            )

    outcome = await attempt(program.db, apply)
    if not isinstance(outcome, CollectiveError):
        stored = await onboarding.get_application(program.db, GUILD, outcome.id)
        assert stored.status == "pending" and stored.why == answers["why"].strip()


@FUZZ
@given(reason=near(["Not a fit for this season."], 700))
async def test_the_reject_reason(program: Program, reason: str) -> None:
    user = program.new_user()
    checked = validate_form(LINKS[0], "skincare", "I love the cleanser so much.", None, None)
    async with program.db.transaction() as tx:
        app = await onboarding.submit_application(tx, GUILD, user, "applicant", checked, program.now, cooldown_days=0)

    async def reject() -> onboarding.ApplicationDecision:
        async with program.db.transaction() as tx:
            return await onboarding.reject(tx, GUILD, app.id, MOD, program.now, reason)

    outcome = await attempt(program.db, reject)
    if not isinstance(outcome, CollectiveError):
        assert outcome.application.reason == reason.strip()


BRIEF = form(
    title=(["Winter glow"], near(["Winter glow"], 150)),
    what=(["A 20 s routine video"], near(["A 20 s routine video"], 1600)),
    deliverables=(["", "#GlowRoutine"], any_text(1100)),
    due=(DATES, date_like(DATES)),
    points=(["40", "0", "10000"], near(["40", "10000"], 30)),
    zone=(ZONES, st.sampled_from(ZONES)),
    tier=([None, "gold"], near(["gold"], 40)),
    edit=([False, True], st.booleans()),
)


@FUZZ
@given(answers=BRIEF)
async def test_the_brief_form(program: Program, answers: dict[str, Any]) -> None:
    edit, tier = answers.pop("edit"), answers.pop("tier")

    async def save() -> briefs.Brief:
        fields = briefs.check_fields(now=program.now, **answers)
        if edit:
            return await program.db.perform(briefs.edit, GUILD, program.brief_id, MOD, fields, program.now)
        return await program.db.perform(briefs.create_draft, GUILD, MOD, fields, tier, program.now)

    outcome = await attempt(program.db, save)
    if not isinstance(outcome, CollectiveError):
        assert outcome.title == answers["title"].strip() and outcome.due_at > program.now


SUBMISSION = form(
    link=(LINKS, near(LINKS, 2100)),
    note=([None, "", "First take"], any_text(600)),
    brief=([False, True], st.booleans()),
)


@FUZZ
@given(answers=SUBMISSION)
async def test_the_submission_link_and_note(program: Program, answers: dict[str, Any]) -> None:
    brief_id = program.brief_id if answers["brief"] else None

    async def hand_in() -> submissions.Submission:
        draft = await submissions.prepare(
            program.db, GUILD, ALICE, link=answers["link"], note=answers["note"], brief_id=brief_id, now=program.now
        )
        return await program.db.perform(submissions.submit, GUILD, draft, program.now)

    outcome = await attempt(program.db, hand_in)
    if not isinstance(outcome, CollectiveError):
        assert outcome.link == answers["link"].strip() and outcome.status == "pending"


@FUZZ
@given(
    feedback=st.one_of(st.none(), near(["Lovely lighting; shorter intro please."], 1100)),
    decision=st.sampled_from(["approved", "changes_requested", "rejected"]),
)
async def test_the_review_feedback(program: Program, feedback: str | None, decision: str) -> None:
    user = program.new_user()
    await add_member(program.db, user, program.now)
    draft = await submissions.prepare(program.db, GUILD, user, link=f"https://youtu.be/v{user}", now=program.now)
    sub = await program.db.perform(submissions.submit, GUILD, draft, program.now)

    async def decide() -> submissions.ReviewOutcome:
        return await program.db.perform(submissions.decide, GUILD, sub.id, MOD, decision, feedback, 10, program.now)  # type: ignore[arg-type]

    outcome = await attempt(program.db, decide)
    if not isinstance(outcome, CollectiveError):
        assert outcome.submission.status == decision


DROP = form(
    title=(["Behind the scenes"], near(["Behind the scenes"], 150)),
    body=(["The new jar.\\nKeep it secret."], near(["The new jar.\\nKeep it secret."], 3600)),
    publish=(DATES, date_like(DATES)),
    embargo=([None, "2027-02-01", "2027-02-01 10:00"], date_like(["2027-02-01", "2027-02-01 10:00"])),
    image_url=([None, "https://cdn.example.com/jar.png"], near(["https://cdn.example.com/jar.png"], 2100)),
    ask_ack=([None, False], st.one_of(st.none(), st.booleans())),
    zone=(ZONES, st.sampled_from(ZONES)),
)


@FUZZ
@given(answers=DROP)
async def test_the_drop_form(program: Program, answers: dict[str, Any]) -> None:
    async def schedule() -> drops.Drop:
        fields = drops.check_fields(now=program.now, **answers)
        return await program.db.perform(drops.create, GUILD, MOD, fields, None, program.now)

    outcome = await attempt(program.db, schedule)
    if not isinstance(outcome, CollectiveError):
        assert outcome.status == "scheduled" and outcome.publish_at >= program.now
