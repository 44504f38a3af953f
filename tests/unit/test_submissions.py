"""Submissions against a real database: intake rules, one decision per submission, points exactly once."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.content import briefs, submissions
from bot.services.content import digest as content_digest
from bot.services.digest.sections import DigestWindow, metric_providers, section_providers
from bot.services.engagement import points
from tests.unit.test_briefs import ALICE, BOB, GUILD, MOD, UTC_ZONE, add_member, fields

LINK = "https://www.tiktok.com/@alice/video/7301"


async def open_brief(db: Database, clock: FixedClock, points_value: str = "40") -> briefs.Brief:
    now = clock.now()
    draft = await db.perform(briefs.create_draft, GUILD, MOD, fields(now, points=points_value), None, now)
    return await db.perform(briefs.publish, GUILD, draft.id, MOD, now)


async def submit(
    db: Database, clock: FixedClock, user_id: int = ALICE, link: str = LINK, **kw: object
) -> submissions.Submission:
    draft = await submissions.prepare(db, GUILD, user_id, link=link, now=clock.now(), **kw)  # type: ignore[arg-type]
    return await db.perform(submissions.submit, GUILD, draft, clock.now())


async def test_submit_and_approve_awards_points_once(db: Database, clock: FixedClock) -> None:
    await add_member(db, ALICE)
    brief = await open_brief(db, clock)
    sub = await submit(db, clock, brief_id=brief.id, note="my routine")
    assert (sub.status, sub.platform, sub.brief_id, sub.note) == ("pending", "TikTok", brief.id, "my routine")
    row = await db.fetchone("SELECT reshare_consent, consent_at FROM submissions WHERE id = ?", (sub.id,))
    assert row is not None and row["reshare_consent"] == 1 and row["consent_at"]

    outcome = await db.perform(submissions.decide, GUILD, sub.id, MOD, "approved", "Lovely light!", 50, clock.now())
    assert outcome.points_awarded == 40 and outcome.submission.status == "approved"
    assert await points.balance(db, GUILD, ALICE) == 40
    with pytest.raises(Conflict, match="already decided"):
        await db.perform(submissions.decide, GUILD, sub.id, MOD, "approved", None, 50, clock.now())
    assert await points.balance(db, GUILD, ALICE) == 40


async def test_free_form_submission_uses_the_default_points(db: Database, clock: FixedClock) -> None:
    await add_member(db, ALICE)
    sub = await submit(db, clock)
    outcome = await db.perform(submissions.decide, GUILD, sub.id, MOD, "approved", None, 50, clock.now())
    assert outcome.points_awarded == 50 and outcome.brief is None


async def test_concurrent_decisions_one_wins(db: Database, clock: FixedClock) -> None:
    await add_member(db, ALICE)
    sub = await submit(db, clock)
    results = await asyncio.gather(
        db.perform(submissions.decide, GUILD, sub.id, MOD, "approved", None, 50, clock.now()),
        db.perform(submissions.decide, GUILD, sub.id, MOD + 1, "rejected", "off brand", 50, clock.now()),
        return_exceptions=True,
    )
    assert sum(isinstance(r, submissions.ReviewOutcome) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert await db.fetchval("SELECT COUNT(*) FROM points_ledger") <= 1


async def test_intake_refusals_store_nothing(db: Database, clock: FixedClock) -> None:
    await add_member(db, ALICE)
    await add_member(db, BOB, status="applicant")
    brief = await open_brief(db, clock)
    with pytest.raises(InvalidInput):
        await submissions.prepare(db, GUILD, ALICE, link="ftp://x.com/a", now=clock.now())
    with pytest.raises(InvalidInput, match="note"):
        await submissions.prepare(db, GUILD, ALICE, link=LINK, note="x" * 501, now=clock.now())
    with pytest.raises(NotFound):
        await submissions.prepare(db, GUILD, ALICE, link=LINK, brief_id=999, now=clock.now())
    with pytest.raises(NotAllowed, match="ambassadors"):
        await submissions.prepare(db, GUILD, BOB, link=LINK, now=clock.now())
    await db.perform(briefs.close, GUILD, brief.id, None, clock.now())
    with pytest.raises(NotAllowed, match="closed"):
        await submissions.prepare(db, GUILD, ALICE, link=LINK, brief_id=brief.id, now=clock.now())
    assert await db.fetchval("SELECT COUNT(*) FROM submissions") == 0


async def test_duplicate_links_are_refused(db: Database, clock: FixedClock) -> None:
    await add_member(db, ALICE)
    await add_member(db, BOB)
    await submit(db, clock)
    with pytest.raises(Conflict, match="You already submitted"):
        await submit(db, clock, link=LINK + "?utm_source=copy")
    with pytest.raises(Conflict, match="Someone already submitted"):
        await submit(db, clock, user_id=BOB)
    # A draft checked before the first one was stored still cannot slip in.
    draft = await submissions.prepare(db, GUILD, BOB, link="https://x.com/bob/status/1", now=clock.now())
    await db.perform(submissions.submit, GUILD, draft, clock.now())
    with pytest.raises(Conflict):
        await db.perform(submissions.submit, GUILD, draft, clock.now())
    assert await db.fetchval("SELECT COUNT(*) FROM submissions") == 2


async def test_request_changes_then_resubmit_linked_to_the_original(db: Database, clock: FixedClock) -> None:
    await add_member(db, ALICE)
    await add_member(db, BOB)
    brief = await open_brief(db, clock)
    sub = await submit(db, clock, brief_id=brief.id)
    with pytest.raises(InvalidInput, match="required"):
        await db.perform(submissions.decide, GUILD, sub.id, MOD, "changes_requested", " ", 50, clock.now())
    await db.perform(submissions.decide, GUILD, sub.id, MOD, "changes_requested", "Show the label", 50, clock.now())
    assert [s.id for s in await submissions.resubmittable(db, GUILD, ALICE)] == [sub.id]
    with pytest.raises(NotAllowed):
        await submit(db, clock, user_id=BOB, link="https://x.com/b/1", resubmission_of=sub.id)
    await db.perform(briefs.close, GUILD, brief.id, None, clock.now())  # a requested change may still come in
    again = await submit(db, clock, resubmission_of=sub.id)  # the same link, edited content
    assert again.resubmission_of == sub.id and again.brief_id == brief.id and again.status == "pending"
    with pytest.raises(Conflict):
        await submit(db, clock, link="https://x.com/a/2", resubmission_of=sub.id)
    assert await submissions.resubmittable(db, GUILD, ALICE) == []


async def test_queue_queries_and_flags(db: Database, clock: FixedClock) -> None:
    await add_member(db, ALICE)
    first = await submit(db, clock)
    clock.advance(content_digest.STALE_AFTER)
    await submit(db, clock, link="https://instagram.com/p/2")
    assert (await submissions.oldest_pending(db, GUILD)) == first
    assert await submissions.pending_count(db, GUILD) == 2
    assert [s.id for s in await submissions.pending_since(db, GUILD, clock.now() - content_digest.STALE_AFTER)] == [
        first.id
    ]
    assert await db.perform(submissions.mark_flagged, first.id, clock.now())
    assert not await db.perform(submissions.mark_flagged, first.id, clock.now())
    assert [s.platform for s in await submissions.mine(db, GUILD, ALICE)] == ["Instagram", "TikTok"]
    assert await submissions.guild_of(db, first.id) == GUILD


async def test_digest_sections_and_metric(db: Database, clock: FixedClock) -> None:
    assert "content" in section_providers() and "content_approved" in metric_providers()
    await add_member(db, ALICE)
    brief = await open_brief(db, clock)
    start = clock.now()
    approved = await submit(db, clock, brief_id=brief.id)
    await db.perform(submissions.decide, GUILD, approved.id, MOD, "approved", None, 50, clock.now())
    await submit(db, clock, link="https://instagram.com/p/stale")
    clock.advance(content_digest.STALE_AFTER * 2)
    window = DigestWindow(start, clock.now(), UTC_ZONE)
    sections = {s.key: s for s in await content_digest.content_sections(db, GUILD, window)}
    assert "1 piece of content" in sections["content_approved"].lines[0]
    assert "Winter glow" in sections["briefs_open"].lines[0]
    assert sections["review_backlog"].audience == "moderators"
    assert await content_digest.content_approved(db, GUILD, [window, DigestWindow(start, start, UTC_ZONE)]) == [1, 0]
