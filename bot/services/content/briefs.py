"""Briefs: what the brand would love to see. Drafted, published, opted into, reminded about, closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.inputs.local_time import parse_local
from bot.services.inputs.typed_text import refuse_nul
from bot.services.program import audit, tiers
from bot.services.program.members import Member
from bot.storage.statements import Row
from bot.unit_of_work import TimerKind

REMINDER = TimerKind("brief-reminder", "a brief reminder")  # payload: {"brief_id": …}
CLOSE = TimerKind("brief-close", "closing a brief")  # payload: {"brief_id": …}

BriefStatus = Literal["draft", "open", "closed", "cancelled"]
TITLE_MAX = 100
WHAT_MAX = 1500
DELIVERABLES_MAX = 1000
POINTS_MAX = 10_000

# -- content settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentSettings:
    reminder_days_before: int = 2
    feature_in_showcase: bool = True


async def get_content_settings(db: Database | Transaction, guild_id: int) -> ContentSettings:
    row = await db.fetchone("SELECT * FROM content_settings WHERE guild_id = ?", (guild_id,))
    if row is None:
        return ContentSettings()
    return ContentSettings(row["reminder_days_before"], bool(row["feature_in_showcase"]))


async def update_content_settings(
    tx: Transaction,
    guild_id: int,
    now: datetime,
    *,
    actor_id: int | None,
    reminder_days: int | None = None,
    feature: bool | None = None,
) -> ContentSettings:
    if reminder_days is not None and not 0 <= reminder_days <= 30:
        raise InvalidInput("Reminders can be sent 0 to 30 days before the due date.")
    current = await get_content_settings(tx, guild_id)
    days = current.reminder_days_before if reminder_days is None else reminder_days
    show = current.feature_in_showcase if feature is None else feature
    await tx.execute(
        """INSERT INTO content_settings (guild_id, reminder_days_before, feature_in_showcase, updated_at)
           VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET
           reminder_days_before = excluded.reminder_days_before,
           feature_in_showcase = excluded.feature_in_showcase, updated_at = excluded.updated_at""",
        (guild_id, days, int(show), to_db(now)),
    )
    await audit.record(
        tx, guild_id, actor_id, "brief.settings", None, now, reminder_days_before=days, feature_in_showcase=show
    )
    return ContentSettings(days, show)


# -- briefs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BriefFields:
    title: str
    what_to_make: str
    deliverables: str
    due_at: datetime
    points: int


@dataclass(frozen=True)
class Brief:
    id: int
    guild_id: int
    title: str
    what_to_make: str
    deliverables: str
    due_at: datetime
    points: int
    tier: str | None
    status: BriefStatus
    channel_id: int | None
    message_id: int | None
    thread_id: int | None
    created_by: int

    @property
    def is_open(self) -> bool:
        return self.status == "open"


def _brief(row: Row) -> Brief:
    return Brief(
        id=row["id"],
        guild_id=row["guild_id"],
        title=row["title"],
        what_to_make=row["what_to_make"],
        deliverables=row["deliverables"],
        due_at=from_db(row["due_at"]),
        points=row["points"],
        tier=row["tier"],
        status=row["status"],
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        thread_id=row["thread_id"],
        created_by=row["created_by"],
    )


def check_fields(
    title: str, what: str, deliverables: str, due: str, points: str, zone: ZoneInfo, now: datetime
) -> BriefFields:
    """Validate the brief form; every problem is a clear message and nothing is stored."""
    title, what, deliverables = title.strip(), what.strip(), deliverables.strip()
    refuse_nul("brief", title, what, deliverables)
    if not title or len(title) > TITLE_MAX:
        raise InvalidInput(f"The title needs 1 to {TITLE_MAX} characters.")
    if not what or len(what) > WHAT_MAX:
        raise InvalidInput(f"'What to make' needs 1 to {WHAT_MAX} characters.")
    if len(deliverables) > DELIVERABLES_MAX:
        raise InvalidInput(f"'Deliverables & hashtags' can be at most {DELIVERABLES_MAX} characters.")
    due_at = parse_local(due, zone, default_time=time(23, 59), what="due date")
    if due_at <= now:
        raise InvalidInput("The due date has to be in the future.")
    try:
        value = int(points.strip())
    except ValueError:
        raise InvalidInput(f"Points must be a whole number, not `{points[:20]}`.") from None
    if not 0 <= value <= POINTS_MAX:
        raise InvalidInput(f"Points must be between 0 and {POINTS_MAX}.")
    return BriefFields(title, what, deliverables, due_at, value)


async def create_draft(
    tx: Transaction, guild_id: int, actor_id: int, fields: BriefFields, tier: str | None, now: datetime
) -> Brief:
    if tier is not None:
        known = await tx.fetchval("SELECT 1 FROM tiers WHERE guild_id = ? AND key = ?", (guild_id, tier))
        if not known:
            raise InvalidInput(f"There is no tier `{tier[:30]}` in this program.")
    new_id = await tx.insert(
        """INSERT INTO briefs (guild_id, title, what_to_make, deliverables, due_at, points, tier, status,
               created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?)""",
        (
            guild_id,
            fields.title,
            fields.what_to_make,
            fields.deliverables,
            to_db(fields.due_at),
            fields.points,
            tier,
            actor_id,
            to_db(now),
        ),
    )
    brief_id = new_id
    assert brief_id is not None
    return await _get(tx, guild_id, brief_id)


async def _get(db: Database | Transaction, guild_id: int, brief_id: int) -> Brief:
    row = await db.fetchone("SELECT * FROM briefs WHERE guild_id = ? AND id = ?", (guild_id, brief_id))
    if row is None:
        raise NotFound("I can't find that brief. Pick one from the list.")
    return _brief(row)


async def get_brief(db: Database | Transaction, guild_id: int, brief_id: int) -> Brief:
    return await _get(db, guild_id, brief_id)


async def publish(tx: Transaction, guild_id: int, brief_id: int, actor_id: int, now: datetime) -> Brief:
    """Draft → open. Publishing an open brief again is allowed (it re-posts a brief whose post failed)."""
    brief = await _get(tx, guild_id, brief_id)
    if brief.status in ("closed", "cancelled"):
        raise Conflict(f"This brief is already {brief.status}.")
    if brief.status == "draft":
        if brief.due_at <= now:
            raise InvalidInput("The due date has passed; use /brief edit or create a new brief.")
        await tx.execute(
            "UPDATE briefs SET status = 'open', published_at = ? WHERE id = ? AND status = 'draft'",
            (to_db(now), brief_id),
        )
        await audit.record(tx, guild_id, actor_id, "brief.publish", brief_id, now, title=brief.title)
        await _schedule_timers(tx, await _get(tx, guild_id, brief_id), now)
    return await _get(tx, guild_id, brief_id)


async def cancel_draft(tx: Transaction, guild_id: int, brief_id: int, actor_id: int, now: datetime) -> Brief:
    brief = await _get(tx, guild_id, brief_id)
    if brief.status != "draft":
        raise Conflict("This brief was already published; use /brief close instead.")
    await tx.execute("UPDATE briefs SET status = 'cancelled', closed_at = ? WHERE id = ?", (to_db(now), brief_id))
    await audit.record(tx, guild_id, actor_id, "brief.discard", brief_id, now, title=brief.title)
    return await _get(tx, guild_id, brief_id)


async def set_posted(tx: Transaction, brief_id: int, channel_id: int, message_id: int, thread_id: int | None) -> None:
    await tx.execute(
        "UPDATE briefs SET channel_id = ?, message_id = ?, thread_id = COALESCE(?, thread_id) WHERE id = ?",
        (channel_id, message_id, thread_id, brief_id),
    )


async def close(
    tx: Transaction, guild_id: int, brief_id: int, actor_id: int | None, now: datetime
) -> tuple[Brief, bool]:
    """Open → closed. Returns the brief and whether this call closed it (False: it already was)."""
    brief = await _get(tx, guild_id, brief_id)
    if brief.status == "draft":
        raise Conflict("This brief was never published; nothing to close.")
    changed = await tx.execute(
        "UPDATE briefs SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open'",
        (to_db(now), brief_id),
    )
    changed = changed == 1
    if changed:
        await audit.record(tx, guild_id, actor_id, "brief.close", brief_id, now, title=brief.title)
        for kind in (REMINDER, CLOSE):
            await tx.cancel_timer(guild_id, kind, f"brief:{brief_id}", now)
    return await _get(tx, guild_id, brief_id), changed


async def edit(
    tx: Transaction, guild_id: int, brief_id: int, actor_id: int, fields: BriefFields, now: datetime
) -> Brief:
    brief = await _get(tx, guild_id, brief_id)
    if brief.status not in ("draft", "open"):
        raise Conflict(f"This brief is {brief.status}; it can't be edited any more.")
    await tx.execute(
        "UPDATE briefs SET title = ?, what_to_make = ?, deliverables = ?, due_at = ?, points = ? WHERE id = ?",
        (fields.title, fields.what_to_make, fields.deliverables, to_db(fields.due_at), fields.points, brief_id),
    )
    await audit.record(tx, guild_id, actor_id, "brief.edit", brief_id, now, title=fields.title)
    edited = await _get(tx, guild_id, brief_id)
    if edited.is_open:
        await _schedule_timers(tx, edited, now)  # the due date may have moved
    return edited


async def _schedule_timers(tx: Transaction, brief: Brief, now: datetime) -> None:
    """The reminder (if still ahead) and the close of an open brief, created or moved to its due date."""
    key, payload = f"brief:{brief.id}", {"brief_id": brief.id}
    days = (await get_content_settings(tx, brief.guild_id)).reminder_days_before
    remind_at = reminder_at(brief.due_at, days)
    if remind_at > now:
        await tx.schedule(brief.guild_id, REMINDER, key, remind_at, now, payload, move_pending=True)
    await tx.schedule(brief.guild_id, CLOSE, key, brief.due_at, now, payload, move_pending=True)


async def list_briefs(
    db: Database, guild_id: int, statuses: tuple[BriefStatus, ...] = ("draft", "open", "closed")
) -> list[Brief]:
    marks = ",".join("?" for _ in statuses)
    rows = await db.fetchall(
        f"SELECT * FROM briefs WHERE guild_id = ? AND status IN ({marks})"
        " ORDER BY CASE status WHEN 'open' THEN 0 WHEN 'draft' THEN 1 ELSE 2 END, due_at, id",
        (guild_id, *statuses),
    )
    return [_brief(row) for row in rows]


async def open_briefs_for(db: Database, guild_id: int, member: Member | None) -> list[Brief]:
    """Open briefs a member may take part in (all open briefs when ``member`` is None)."""
    briefs = await list_briefs(db, guild_id, ("open",))
    if member is None:
        return briefs
    return [b for b in briefs if tiers.admits(b.tier, member.tier)]


def check_eligible(brief: Brief, member: Member) -> None:
    if brief.status == "draft":
        raise NotAllowed(f"The brief “{brief.title}” hasn't been published yet.")
    if brief.status != "open":
        raise NotAllowed(f"The brief “{brief.title}” is {brief.status}; it no longer accepts opt-ins or submissions.")
    tiers.require(brief.tier, member.tier, f"The brief “{brief.title}”")


async def opt_in(tx: Transaction, guild_id: int, brief_id: int, member: Member, now: datetime) -> tuple[Brief, bool]:
    """Record "I'm in". Returns the brief and False when they had already opted in."""
    brief = await _get(tx, guild_id, brief_id)
    check_eligible(brief, member)
    changed = await tx.execute(
        "INSERT INTO brief_optins (guild_id, brief_id, user_id, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (brief_id, user_id) DO NOTHING",
        (guild_id, brief_id, member.user_id, to_db(now)),
    )
    return brief, changed == 1


async def optin_count(db: Database, brief_id: int) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM brief_optins WHERE brief_id = ?", (brief_id,)))


async def submission_count(db: Database, brief_id: int) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM submissions WHERE brief_id = ?", (brief_id,)))


def reminder_at(due_at: datetime, days_before: int) -> datetime:
    return due_at - timedelta(days=days_before)


async def reminder_targets(db: Database, brief_id: int) -> list[int]:
    """Opted-in members not yet reminded who have not submitted anything for the brief."""
    rows = await db.fetchall(
        """SELECT o.user_id FROM brief_optins o
           WHERE o.brief_id = ? AND o.reminded_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.brief_id = o.brief_id AND s.user_id = o.user_id)
           ORDER BY o.created_at, o.user_id""",
        (brief_id,),
    )
    return [int(row["user_id"]) for row in rows]


async def mark_reminded(tx: Transaction, brief_id: int, user_id: int, now: datetime) -> None:
    await tx.execute(
        "UPDATE brief_optins SET reminded_at = ? WHERE brief_id = ? AND user_id = ? AND reminded_at IS NULL",
        (to_db(now), brief_id, user_id),
    )


async def search(db: Database, guild_id: int, typed: str, statuses: tuple[BriefStatus, ...]) -> list[Brief]:
    """For autocomplete: briefs whose title contains what was typed, at most 25."""
    needle = typed.strip().lower()
    found = [b for b in await list_briefs(db, guild_id, statuses) if needle in b.title.lower() or needle == str(b.id)]
    return found[:25]
