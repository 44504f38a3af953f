"""Submissions: content ambassadors made, checked on the way in and decided once by a moderator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot import references as ref
from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.content.briefs import Brief, check_eligible, get_brief
from bot.services.engagement import points
from bot.services.inputs.links import CheckedLink, check_link
from bot.services.program import audit
from bot.services.program.members import require_ambassador
from bot.storage.statements import Row
from bot.unit_of_work import TimerKind

STALE = TimerKind("submission-stale", "a reminder of a waiting submission")  # payload: {"submission_id": …}
STALE_AFTER = timedelta(hours=48)  # a pending submission this old is flagged to moderators

Status = Literal["pending", "approved", "changes_requested", "rejected"]
Verdict = Literal["approved", "changes_requested", "rejected"]
NOTE_MAX = 500
FEEDBACK_MAX = 1000
STATUS_LABELS: dict[str, str] = {
    "pending": "⏳ waiting for review",
    "approved": "✅ approved",
    "changes_requested": "✏️ changes requested",
    "rejected": "✖️ not accepted",
}


@dataclass(frozen=True)
class Upload:
    name: str
    url: str


@dataclass(frozen=True)
class Draft:
    """Checked input waiting for the member's reshare consent; nothing is stored yet."""

    user_id: int
    brief_id: int | None
    link: CheckedLink
    note: str | None
    upload: Upload | None
    resubmission_of: int | None


@dataclass(frozen=True)
class Submission:
    id: int
    guild_id: int
    user_id: int
    brief_id: int | None
    link: str
    platform: str
    note: str | None
    attachment_url: str | None
    attachment_name: str | None
    status: Status
    feedback: str | None
    reviewer_id: int | None
    reviewed_at: datetime | None
    resubmission_of: int | None
    points_awarded: int
    review_channel_id: int | None
    review_message_id: int | None
    showcase_message_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class ReviewOutcome:
    submission: Submission
    brief: Brief | None
    points_awarded: int


def _submission(row: Row) -> Submission:
    return Submission(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        brief_id=row["brief_id"],
        link=row["link"],
        platform=row["platform"],
        note=row["note"],
        attachment_url=row["attachment_url"],
        attachment_name=row["attachment_name"],
        status=row["status"],
        feedback=row["feedback"],
        reviewer_id=row["reviewer_id"],
        reviewed_at=from_db(row["reviewed_at"]) if row["reviewed_at"] else None,
        resubmission_of=row["resubmission_of"],
        points_awarded=row["points_awarded"],
        review_channel_id=row["review_channel_id"],
        review_message_id=row["review_message_id"],
        showcase_message_id=row["showcase_message_id"],
        created_at=from_db(row["created_at"]),
    )


async def _get(db: Database | Transaction, guild_id: int, submission_id: int) -> Submission:
    row = await db.fetchone("SELECT * FROM submissions WHERE guild_id = ? AND id = ?", (guild_id, submission_id))
    if row is None:
        raise NotFound("I can't find that submission.")
    return _submission(row)


async def get_submission(db: Database | Transaction, guild_id: int, submission_id: int) -> Submission:
    return await _get(db, guild_id, submission_id)


async def _check(db: Database | Transaction, guild_id: int, draft: Draft, now: datetime) -> None:
    """Every rule a submission must pass; run when drafting and again inside the storing transaction."""
    member = await require_ambassador(db, guild_id, draft.user_id)
    original = None
    if draft.resubmission_of is not None:
        original = await _get(db, guild_id, draft.resubmission_of)
        if original.user_id != draft.user_id:
            raise NotAllowed("You can only resubmit your own content.")
        if original.status != "changes_requested":
            raise Conflict("That submission isn't waiting for changes, so there's nothing to resubmit.")
        if await db.fetchval("SELECT 1 FROM submissions WHERE resubmission_of = ?", (original.id,)):
            raise Conflict("You already resubmitted this one; it's in the review queue.")
    elif draft.brief_id is not None:
        check_eligible(await get_brief(db, guild_id, draft.brief_id), member)
    same = await db.fetchone(
        "SELECT id, user_id FROM submissions WHERE guild_id = ? AND link_key = ? AND id != ? ORDER BY id LIMIT 1",
        (guild_id, draft.link.key, original.id if original else 0),
    )
    if same is not None:
        whose = "You already submitted" if same["user_id"] == draft.user_id else "Someone already submitted"
        raise Conflict(f"{whose} this link (submission #{same['id']}). Each piece of content can be submitted once.")


async def prepare(
    db: Database,
    guild_id: int,
    user_id: int,
    *,
    link: str,
    brief_id: int | None = None,
    note: str | None = None,
    upload: Upload | None = None,
    resubmission_of: int | None = None,
    now: datetime,
) -> Draft:
    """Check what the member handed in. Raises a clear error for anything we can't take; stores nothing."""
    checked = check_link(link)
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidInput(f"Your note is {len(note)} characters; keep it to {NOTE_MAX}.")
    if resubmission_of is not None:
        original = await _get(db, guild_id, resubmission_of)
        brief_id = original.brief_id
    draft = Draft(user_id, brief_id, checked, note, upload, resubmission_of)
    await _check(db, guild_id, draft, now)
    return draft


async def submit(tx: Transaction, guild_id: int, draft: Draft, now: datetime) -> Submission:
    """Store the submission with the member's reshare consent. The rules are checked again: time has passed."""
    await _check(tx, guild_id, draft, now)
    # Two confirmations of the same link can race past the check: the unique index keeps one, the other
    # inserts nothing (DO NOTHING rather than an error, which would abort a PostgreSQL transaction).
    submission_id = await tx.fetchval(
        """INSERT INTO submissions (guild_id, user_id, brief_id, link, link_key, platform, note,
                   attachment_url, attachment_name, reshare_consent, consent_at, status, resubmission_of,
                   created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 'pending', ?, ?)
               ON CONFLICT DO NOTHING RETURNING id""",
        (
            guild_id,
            draft.user_id,
            draft.brief_id,
            draft.link.url,
            draft.link.key,
            draft.link.platform,
            draft.note,
            draft.upload.url if draft.upload else None,
            draft.upload.name if draft.upload else None,
            to_db(now),
            draft.resubmission_of,
            to_db(now),
        ),
    )
    if submission_id is None:
        raise Conflict("This link was just submitted; each piece of content can be submitted once.")
    payload = {"submission_id": submission_id}
    await tx.schedule(guild_id, STALE, f"submission:{submission_id}", now + STALE_AFTER, now, payload)
    return await _get(tx, guild_id, submission_id)


async def set_review_message(tx: Transaction, submission_id: int, channel_id: int, message_id: int) -> None:
    await tx.execute(
        "UPDATE submissions SET review_channel_id = ?, review_message_id = ? WHERE id = ?",
        (channel_id, message_id, submission_id),
    )


async def set_showcase_message(tx: Transaction, submission_id: int, message_id: int) -> None:
    await tx.execute("UPDATE submissions SET showcase_message_id = ? WHERE id = ?", (message_id, submission_id))


async def decide(
    tx: Transaction,
    guild_id: int,
    submission_id: int,
    reviewer_id: int,
    decision: Verdict,
    feedback: str | None,
    default_points: int,
    now: datetime,
) -> ReviewOutcome:
    """One decision per submission, whoever clicks first; approval awards the points in the same transaction."""
    feedback = (feedback or "").strip() or None
    if feedback is not None and len(feedback) > FEEDBACK_MAX:
        raise InvalidInput(f"Feedback can be at most {FEEDBACK_MAX} characters.")
    if decision != "approved" and feedback is None:
        raise InvalidInput("Tell the ambassador why, so they can grow: the reason is required.")
    current = await _get(tx, guild_id, submission_id)
    if current.status != "pending":
        who = f" by {ref.member(current.reviewer_id)}" if current.reviewer_id else ""
        raise Conflict(f"Submission #{submission_id} was already decided{who}: {STATUS_LABELS[current.status]}.")
    brief = await get_brief(tx, guild_id, current.brief_id) if current.brief_id else None
    awarded = 0
    if decision == "approved":
        value = brief.points if brief is not None else default_points
        if value and await points.award(
            tx,
            guild_id,
            current.user_id,
            value,
            "submission",
            f"submission:{submission_id}",
            now,
            actor_id=reviewer_id,
        ):
            awarded = value
    changed = await tx.execute(
        """UPDATE submissions SET status = ?, feedback = ?, reviewer_id = ?, reviewed_at = ?, points_awarded = ?
           WHERE id = ? AND status = 'pending'""",
        (decision, feedback, reviewer_id, to_db(now), awarded, submission_id),
    )
    if changed != 1:  # cannot happen under the writer lock; kept as a guard
        raise Conflict(f"Submission #{submission_id} was already decided.")
    await audit.record(
        tx,
        guild_id,
        reviewer_id,
        f"submission.{decision}",
        current.user_id,
        now,
        submission_id=submission_id,
        points=awarded,
    )
    return ReviewOutcome(await _get(tx, guild_id, submission_id), brief, awarded)


async def mine(db: Database, guild_id: int, user_id: int) -> list[Submission]:
    rows = await db.fetchall(
        "SELECT * FROM submissions WHERE guild_id = ? AND user_id = ? ORDER BY created_at DESC, id DESC",
        (guild_id, user_id),
    )
    return [_submission(row) for row in rows]


async def oldest_pending(db: Database, guild_id: int) -> Submission | None:
    row = await db.fetchone(
        "SELECT * FROM submissions WHERE guild_id = ? AND status = 'pending' ORDER BY created_at, id LIMIT 1",
        (guild_id,),
    )
    return None if row is None else _submission(row)


async def pending_count(db: Database, guild_id: int) -> int:
    return int(
        await db.fetchval("SELECT COUNT(*) FROM submissions WHERE guild_id = ? AND status = 'pending'", (guild_id,))
    )


async def pending_since(db: Database, guild_id: int, before: datetime) -> list[Submission]:
    rows = await db.fetchall(
        "SELECT * FROM submissions WHERE guild_id = ? AND status = 'pending' AND created_at <= ?"
        " ORDER BY created_at, id",
        (guild_id, to_db(before)),
    )
    return [_submission(row) for row in rows]


async def mark_flagged(tx: Transaction, submission_id: int, now: datetime) -> bool:
    """Claim the "waiting too long" flag for a still-pending submission; False when not needed or done."""
    changed = await tx.execute(
        "UPDATE submissions SET flagged_at = ? WHERE id = ? AND status = 'pending' AND flagged_at IS NULL",
        (to_db(now), submission_id),
    )
    return changed == 1


async def resubmittable(db: Database, guild_id: int, user_id: int) -> list[Submission]:
    rows = await db.fetchall(
        """SELECT * FROM submissions s WHERE guild_id = ? AND user_id = ? AND status = 'changes_requested'
           AND NOT EXISTS (SELECT 1 FROM submissions r WHERE r.resubmission_of = s.id) ORDER BY created_at DESC""",
        (guild_id, user_id),
    )
    return [_submission(row) for row in rows]


async def guild_of(db: Database, submission_id: int) -> int:
    """The server a submission belongs to (a button in a DM carries only the submission's id)."""
    value = await db.fetchval("SELECT guild_id FROM submissions WHERE id = ?", (submission_id,))
    if value is None:
        raise NotFound("I can't find that submission.")
    return int(value)
