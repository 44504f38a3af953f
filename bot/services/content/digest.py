"""What content adds to the weekly digest: approved pieces, open briefs, coming drops, and the review backlog."""

from __future__ import annotations

from datetime import timedelta

from bot import references as ref
from bot.clock import from_db, to_db
from bot.db import Database
from bot.services.digest.sections import DigestSection, DigestWindow, section_provider, weekly_metric
from bot.services.program.bindings import get_channel_id
from bot.text import plural

STALE_AFTER = timedelta(hours=48)


def _day(value: str, window: DigestWindow) -> str:
    return from_db(value).astimezone(window.zone).strftime("%a %d %b")


@section_provider("content")
async def content_sections(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
    sections: list[DigestSection] = []
    approved = await db.fetchall(
        """SELECT s.id, s.user_id, s.platform, s.link, s.showcase_message_id, b.title FROM submissions s
           LEFT JOIN briefs b ON b.id = s.brief_id
           WHERE s.guild_id = ? AND s.status = 'approved' AND s.reviewed_at >= ? AND s.reviewed_at < ?
           ORDER BY s.reviewed_at""",
        (guild_id, to_db(window.start), to_db(window.end)),
    )
    if approved:
        showcase = await get_channel_id(db, guild_id, "showcase")
        lines = [f"{plural(len(approved), 'piece')} of content approved this week — thank you, creators!"]
        highlights: list[tuple[str, str]] = []
        for row in approved:
            about = f" for “{row['title']}”" if row["title"] else ""
            lines.append(f"{ref.member(row['user_id'])} — {row['platform']}{about}: {row['link']}")
            if showcase and row["showcase_message_id"]:
                highlights.append(
                    (f"{row['platform']}{about}", ref.message(guild_id, showcase, row["showcase_message_id"]))
                )
        sections.append(DigestSection("content_approved", "Content approved", lines, order=40, highlights=highlights))

    briefs = await db.fetchall(
        "SELECT title, due_at FROM briefs WHERE guild_id = ? AND status = 'open' ORDER BY due_at", (guild_id,)
    )
    if briefs:
        lines = [f"“{row['title']}” — due {_day(row['due_at'], window)}" for row in briefs]
        sections.append(DigestSection("briefs_open", "Open briefs", lines, order=45))

    drops = await db.fetchall(
        "SELECT title, publish_at FROM drops WHERE guild_id = ? AND status = 'scheduled' AND publish_at >= ?"
        " ORDER BY publish_at",
        (guild_id, to_db(window.end)),
    )
    if drops:
        lines = [f"{_day(row['publish_at'], window)}: “{row['title']}”" for row in drops]
        sections.append(DigestSection("drops_upcoming", "Insider drops coming up", lines, order=50))

    stale = await db.fetchall(
        "SELECT id, user_id, created_at FROM submissions WHERE guild_id = ? AND status = 'pending'"
        " AND created_at <= ? ORDER BY created_at",
        (guild_id, to_db(window.end - STALE_AFTER)),
    )
    if stale:
        lines = [f"{plural(len(stale), 'submission')} waiting more than 48 hours — /review opens the oldest."]
        lines += [
            f"#{row['id']} by {ref.member(row['user_id'])}, since {_day(row['created_at'], window)}" for row in stale
        ]
        sections.append(DigestSection("review_backlog", "Review queue", lines, audience="moderators", order=20))
    return sections


@weekly_metric("content_approved", "Content approved")
async def content_approved(db: Database, guild_id: int, windows: list[DigestWindow]) -> list[int]:
    counts = []
    for window in windows:
        value = await db.fetchval(
            "SELECT COUNT(*) FROM submissions WHERE guild_id = ? AND status = 'approved'"
            " AND reviewed_at >= ? AND reviewed_at < ?",
            (guild_id, to_db(window.start), to_db(window.end)),
        )
        counts.append(int(value))
    return counts
