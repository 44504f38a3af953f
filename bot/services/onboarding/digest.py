"""Onboarding's part of the weekly digest: new ambassadors (everyone), and the queue's health (moderators)."""

from __future__ import annotations

from bot import references as ref
from bot.clock import to_db
from bot.db import Database
from bot.services.digest.sections import DigestSection, DigestWindow, section_provider, weekly_metric
from bot.unit_of_work import TimerKind

ROLE_SYNC_TIMER = TimerKind("role-sync", "a role assignment")


@section_provider("onboarding")
async def onboarding_sections(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
    start, end = to_db(window.start), to_db(window.end)
    joined = await db.fetchall(
        "SELECT user_id FROM members WHERE guild_id = ? AND status = 'active' AND approved_at >= ? AND approved_at < ?"
        " ORDER BY approved_at",
        (guild_id, start, end),
    )
    sections: list[DigestSection] = []
    if joined:
        lines = [f"Welcome {', '.join(ref.member(row[0]) for row in joined)}!"]
        sections.append(DigestSection("new_ambassadors", "New ambassadors this week", lines, order=10))
    pending = await db.fetchval(
        "SELECT COUNT(*) FROM applications WHERE guild_id = ? AND status = 'pending'", (guild_id,)
    )
    waiting = await db.fetchval(
        "SELECT COUNT(*) FROM applications WHERE guild_id = ? AND status = 'waitlisted'", (guild_id,)
    )
    role_failures = await db.fetchval(
        "SELECT COUNT(*) FROM timers WHERE guild_id = ? AND kind = ? AND status IN ('pending', 'failed')",
        (guild_id, ROLE_SYNC_TIMER.name),
    )
    dm_closed = await db.fetchval(
        "SELECT COUNT(*) FROM members WHERE guild_id = ? AND status = 'active' AND dm_closed = 1", (guild_id,)
    )
    lines = [f"Applications waiting for review: {pending}", f"Waitlist length: {waiting}"]
    if role_failures:
        lines.append(f"⚠️ Role assignments not yet done (retrying or failed): {role_failures}")
    if dm_closed:
        lines.append(f"Ambassadors with DMs closed (reach them in channels): {dm_closed}")
    sections.append(DigestSection("onboarding_queue", "Onboarding queue", lines, audience="moderators", order=90))
    return sections


@weekly_metric("new_ambassadors", "New ambassadors")
async def new_ambassadors(db: Database, guild_id: int, windows: list[DigestWindow]) -> list[int]:
    counts = []
    for window in windows:
        value = await db.fetchval(
            "SELECT COUNT(*) FROM audit_log WHERE guild_id = ? AND action IN ('application.approve', 'ambassador.add')"
            " AND created_at >= ? AND created_at < ?",
            (guild_id, to_db(window.start), to_db(window.end)),
        )
        counts.append(int(value))
    return counts
