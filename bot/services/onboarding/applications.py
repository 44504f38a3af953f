"""Applications and review decisions: who may apply, approve / waitlist / reject, capacity and the waitlist.

Each decision is one transaction guarded by a conditional UPDATE on the application's status, so when two
moderators press buttons at once exactly one decision is recorded and the other gets a ``Conflict`` that
says who decided what. Discord side effects (roles, the welcome DM, editing the review post) happen in the
cog after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot import references as ref
from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound

# The form lives beside this module; re-exported so callers need only `onboarding`.
from bot.services.onboarding.form import LIMITS as LIMITS
from bot.services.onboarding.form import ApplicationForm as ApplicationForm
from bot.services.onboarding.form import validate_form as validate_form
from bot.services.program import audit, members, tiers
from bot.services.program.audit import AuditEntry
from bot.services.program.guild_settings import GuildSettings
from bot.services.program.members import Member
from bot.services.sales import codes
from bot.services.sales.codes import Code
from bot.storage.statements import Row

AppStatus = Literal["pending", "waitlisted", "approved", "rejected", "withdrawn"]
DecisionKind = Literal["approved", "waitlisted", "rejected"]

REASON_LIMIT = 500
DECIDED = "application.decided"  # outbox: {"application_id", "outcome", "position"} → the decision's follow-ups


@dataclass(frozen=True)
class Application:
    id: int
    guild_id: int
    user_id: int
    status: AppStatus
    social_links: list[str]
    niche: str
    why: str
    order_ref: str | None
    city: str | None
    review_channel_id: int | None
    review_message_id: int | None
    decided_by: int | None
    decided_at: datetime | None
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class ApplicationDecision:
    outcome: DecisionKind
    application: Application
    member: Member
    old_status: str
    code: Code | None = None
    position: int | None = None  # waitlist position (1 = next)
    audit: AuditEntry | None = None


def _app(row: Row) -> Application:
    return Application(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        status=row["status"],
        social_links=[line for line in row["social_links"].splitlines() if line],
        niche=row["niche"],
        why=row["why"],
        order_ref=row["order_ref"],
        city=row["city"],
        review_channel_id=row["review_channel_id"],
        review_message_id=row["review_message_id"],
        decided_by=row["decided_by"],
        decided_at=from_db(row["decided_at"]) if row["decided_at"] else None,
        reason=row["reason"],
        created_at=from_db(row["created_at"]),
    )


# -- reading ---------------------------------------------------------------------------------------------


async def get_application(db: Database | Transaction, guild_id: int, application_id: int) -> Application:
    row = await db.fetchone("SELECT * FROM applications WHERE guild_id = ? AND id = ?", (guild_id, application_id))
    if row is None:
        raise NotFound("That application doesn't exist (any more).")
    return _app(row)


async def open_application(db: Database | Transaction, guild_id: int, user_id: int) -> Application | None:
    row = await db.fetchone(
        "SELECT * FROM applications WHERE guild_id = ? AND user_id = ? AND status IN ('pending', 'waitlisted')",
        (guild_id, user_id),
    )
    return None if row is None else _app(row)


async def pending_applications(db: Database | Transaction, guild_id: int) -> list[Application]:
    rows = await db.fetchall(
        "SELECT * FROM applications WHERE guild_id = ? AND status = 'pending' ORDER BY created_at, id", (guild_id,)
    )
    return [_app(row) for row in rows]


async def waitlist(db: Database | Transaction, guild_id: int) -> list[Application]:
    rows = await db.fetchall(
        "SELECT * FROM applications WHERE guild_id = ? AND status = 'waitlisted' ORDER BY waitlisted_at, id",
        (guild_id,),
    )
    return [_app(row) for row in rows]


async def waitlist_position(db: Database | Transaction, guild_id: int, application_id: int) -> int | None:
    ids = [a.id for a in await waitlist(db, guild_id)]
    return ids.index(application_id) + 1 if application_id in ids else None


# -- applying --------------------------------------------------------------------------------------------


async def check_eligibility(
    db: Database | Transaction, guild_id: int, user_id: int, now: datetime, cooldown: int
) -> None:
    """Raise with a clear answer when this person may not apply now."""
    member = await members.find_member(db, guild_id, user_id)
    if member is not None and member.status == "active":
        raise NotAllowed("You're already one of our ambassadors. 🎉")
    if member is not None and member.status == "paused":
        raise NotAllowed("You're already an ambassador (your membership is paused; a moderator can resume it).")
    existing = await open_application(db, guild_id, user_id)
    if existing is not None and existing.status == "waitlisted":
        position = await waitlist_position(db, guild_id, existing.id)
        raise Conflict(f"You're on the waitlist at position {position}; we'll message you when a seat frees up.")
    if existing is not None:
        raise Conflict(f"Your application from {ref.moment(existing.created_at, 'D')} is still waiting for review.")
    last = await db.fetchone(
        "SELECT decided_at FROM applications WHERE guild_id = ? AND user_id = ? AND status = 'rejected'"
        " ORDER BY decided_at DESC LIMIT 1",
        (guild_id, user_id),
    )
    if last is not None and cooldown > 0:
        again = from_db(last["decided_at"]) + timedelta(days=cooldown)
        if again > now:
            raise NotAllowed(f"You can apply again from {ref.moment(again, 'D')}.")


async def submit_application(
    tx: Transaction,
    guild_id: int,
    user_id: int,
    display_name: str,
    form: ApplicationForm,
    now: datetime,
    *,
    cooldown_days: int,
) -> Application:
    await check_eligibility(tx, guild_id, user_id, now, cooldown_days)
    stamp_now = to_db(now)
    await tx.execute(
        """INSERT INTO members (guild_id, user_id, display_name, status, email, city, status_changed_at, created_at)
           VALUES (?, ?, ?, 'applicant', ?, ?, ?, ?)
           ON CONFLICT (guild_id, user_id) DO UPDATE SET status = 'applicant', display_name = excluded.display_name,
               email = COALESCE(excluded.email, members.email), city = COALESCE(excluded.city, members.city),
               status_changed_at = excluded.status_changed_at""",
        (guild_id, user_id, display_name[:100], form.email, form.city, stamp_now, stamp_now),
    )
    new_id = await tx.insert(
        """INSERT INTO applications (guild_id, user_id, status, social_links, niche, why, order_ref, city, created_at)
           VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?)""",
        (guild_id, user_id, "\n".join(form.social_links), form.niche, form.why, form.order_ref, form.city, stamp_now),
    )
    return await get_application(tx, guild_id, new_id)


async def set_review_post(
    tx: Transaction, guild_id: int, application_id: int, channel_id: int, message_id: int
) -> None:
    await tx.execute(
        "UPDATE applications SET review_channel_id = ?, review_message_id = ? WHERE guild_id = ? AND id = ?",
        (channel_id, message_id, guild_id, application_id),
    )


# -- deciding --------------------------------------------------------------------------------------------


def _already(app: Application) -> str:
    who = ref.member(app.decided_by) if app.decided_by else "the bot"
    when = f" {ref.moment(app.decided_at, 'R')}" if app.decided_at else ""
    if app.status == "withdrawn":
        return "This application was withdrawn (the applicant left the server)."
    return f"Already {app.status} by {who}{when}; nothing changed."


async def _claim(
    tx: Transaction, app: Application, new_status: AppStatus, actor_id: int | None, now: datetime, **extra: str
) -> None:
    """The conditional UPDATE: only the decision that still sees the status it read wins."""
    sets = ", ".join(f"{column} = ?" for column in extra)
    changed = await tx.execute(
        f"UPDATE applications SET status = ?, decided_by = ?, decided_at = ?{', ' + sets if sets else ''}"
        " WHERE id = ? AND guild_id = ? AND status = ?",
        (new_status, actor_id, to_db(now), *extra.values(), app.id, app.guild_id, app.status),
    )
    if changed != 1:
        raise Conflict(_already(await get_application(tx, app.guild_id, app.id)))


async def require_open(
    db: Database | Transaction, guild_id: int, application_id: int, expected: AppStatus | None = None
) -> Application:
    """The application, if still open — and, when ``expected`` is given, still as the moderator saw it."""
    app = await get_application(db, guild_id, application_id)
    if app.status not in ("pending", "waitlisted") or (expected is not None and app.status != expected):
        raise Conflict(_already(app))
    return app


async def approve(
    tx: Transaction,
    guild_id: int,
    application_id: int,
    actor_id: int | None,
    now: datetime,
    settings: GuildSettings,
    *,
    expected: AppStatus | None = None,
) -> ApplicationDecision:
    """Approve, or — when the program is full — place a pending applicant on the waitlist."""
    app = await require_open(tx, guild_id, application_id, expected)
    seats = await members.seats_taken(tx, guild_id)
    if seats >= settings.capacity:
        if app.status == "waitlisted":
            position = await waitlist_position(tx, guild_id, app.id)
            raise Conflict(
                f"The program is full ({seats}/{settings.capacity}), so they stay on the waitlist at position "
                f"{position}. Free a seat or raise the capacity in /settings."
            )
        return await _to_waitlist(tx, app, actor_id, now, reason="program full")
    before = await members.get_member(tx, guild_id, app.user_id)
    await _claim(tx, app, "approved", actor_id, now)
    tier = before.tier or await tiers.default_tier(tx, guild_id)
    await tx.execute(
        """UPDATE members SET status = 'active', tier = ?, approved_at = ?, approved_by = ?, status_changed_at = ?
           WHERE guild_id = ? AND user_id = ?""",
        (tier, to_db(now), actor_id, to_db(now), guild_id, app.user_id),
    )
    code = await codes.issue_code(
        tx,
        guild_id,
        app.user_id,
        before.display_name,
        now,
        pattern=settings.code_pattern,
        prefix=settings.code_prefix,
        actor_id=actor_id,
    )
    entry = await audit.record(
        tx, guild_id, actor_id, "application.approve", app.user_id, now, application=app.id, code=code.code, tier=tier
    )
    after = await members.get_member(tx, guild_id, app.user_id)
    decided = await get_application(tx, guild_id, app.id)
    await _follow_up(tx, decided, "approved", now)
    return ApplicationDecision("approved", decided, after, before.status, code=code, audit=entry)


async def _to_waitlist(
    tx: Transaction, app: Application, actor_id: int | None, now: datetime, *, reason: str
) -> ApplicationDecision:
    before = await members.get_member(tx, app.guild_id, app.user_id)
    await _claim(tx, app, "waitlisted", actor_id, now, waitlisted_at=to_db(now))
    await members.set_status(tx, app.guild_id, app.user_id, "waitlisted", now)
    position = await waitlist_position(tx, app.guild_id, app.id)
    entry = await audit.record(
        tx, app.guild_id, actor_id, "application.waitlist", app.user_id, now, application=app.id, position=position,
        reason=reason,
    )  # fmt: skip
    after = await members.get_member(tx, app.guild_id, app.user_id)
    decided = await get_application(tx, app.guild_id, app.id)
    await _follow_up(tx, decided, "waitlisted", now, position=position)
    return ApplicationDecision("waitlisted", decided, after, before.status, position=position, audit=entry)


async def waitlist_application(
    tx: Transaction,
    guild_id: int,
    application_id: int,
    actor_id: int | None,
    now: datetime,
    *,
    expected: AppStatus | None = None,
) -> ApplicationDecision:
    app = await require_open(tx, guild_id, application_id, expected)
    if app.status == "waitlisted":
        raise Conflict(_already(app))
    return await _to_waitlist(tx, app, actor_id, now, reason="moderator")


def validate_reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("Please give the applicant a reason.")
    if len(text) > REASON_LIMIT:
        raise InvalidInput(f"The reason is too long: {len(text)} characters, {REASON_LIMIT} at most.")
    return text


async def reject(
    tx: Transaction,
    guild_id: int,
    application_id: int,
    actor_id: int | None,
    now: datetime,
    reason: str,
    *,
    expected: AppStatus | None = None,
) -> ApplicationDecision:
    text = validate_reason(reason)
    app = await require_open(tx, guild_id, application_id, expected)
    before = await members.get_member(tx, guild_id, app.user_id)
    await _claim(tx, app, "rejected", actor_id, now, reason=text)
    await members.set_status(tx, guild_id, app.user_id, "rejected", now)
    entry = await audit.record(
        tx, guild_id, actor_id, "application.reject", app.user_id, now, application=app.id, reason=text
    )
    after = await members.get_member(tx, guild_id, app.user_id)
    decided = await get_application(tx, guild_id, app.id)
    await _follow_up(tx, decided, "rejected", now)
    return ApplicationDecision("rejected", decided, after, before.status, audit=entry)


async def _follow_up(
    tx: Transaction, app: Application, outcome: DecisionKind, now: datetime, *, position: int | None = None
) -> None:
    """What must follow a decision on Discord (the review post redrawn; roles, code and welcome, or a DM) as an
    outbox row in the decision's own transaction: the deciding interaction delivers it at once to tell the
    moderator how it went, and a crash before that leaves it to the background delivery."""
    payload = {"application_id": app.id, "outcome": outcome, "position": position}
    await tx.emit(app.guild_id, DECIDED, now, payload, key=follow_up_key(app.id, outcome), inline=True)


def follow_up_key(application_id: int, outcome: DecisionKind) -> str:
    return f"{application_id}:{outcome}"


async def withdraw_open(tx: Transaction, guild_id: int, user_id: int, now: datetime) -> Application | None:
    """The applicant left the server: their open application is withdrawn (nothing to decide any more)."""
    app = await open_application(tx, guild_id, user_id)
    if app is None:
        return None
    await tx.execute("UPDATE applications SET status = 'withdrawn', decided_at = ? WHERE id = ?", (to_db(now), app.id))
    return await get_application(tx, guild_id, app.id)


# -- seats -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeatUpdate:
    free_seats: int
    next_up: Application | None  # who is next in line (when not promoted automatically)
    promoted: ApplicationDecision | None  # the auto-promotion, when the setting is on


async def seat_freed(
    tx: Transaction, guild_id: int, now: datetime, settings: GuildSettings, *, auto_promote: bool
) -> SeatUpdate:
    free = settings.capacity - await members.seats_taken(tx, guild_id)
    line = await waitlist(tx, guild_id)
    if free <= 0 or not line:
        return SeatUpdate(max(free, 0), None, None)
    if auto_promote:
        decision = await approve(tx, guild_id, line[0].id, None, now, settings)
        return SeatUpdate(free - 1, None, decision)
    return SeatUpdate(free, line[0], None)
