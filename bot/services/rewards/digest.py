"""What rewards bring to the weekly digest: what was redeemed this week (public), and perks a moderator has yet
to hand out after more than three days (moderators)."""

from __future__ import annotations

from datetime import timedelta

from bot import references as ref
from bot.clock import from_db, to_db
from bot.db import Database
from bot.services.digest.sections import DigestSection, DigestWindow, section_provider
from bot.text import plural

WAITING_TOO_LONG = timedelta(days=3)


@section_provider("rewards")
async def rewards_section(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
    rows = await db.fetchall(
        """SELECT r.title AS title, COUNT(*) AS n FROM redemptions d JOIN rewards r ON r.id = d.reward_id
           WHERE d.guild_id = ? AND d.created_at >= ? AND d.created_at < ? AND d.status != 'cancelled'
           GROUP BY r.id ORDER BY n DESC, r.title""",
        (guild_id, to_db(window.start), to_db(window.end)),
    )
    sections = []
    if rows:
        total = sum(int(row["n"]) for row in rows)
        lines = [f"{plural(total, 'reward')} redeemed with points"]
        lines += [f"{row['title']} ×{row['n']}" for row in rows[:5]]
        sections.append(DigestSection("rewards", "🎁 Rewards redeemed", lines, order=62))
    waiting = await db.fetchall(
        """SELECT d.user_id, d.created_at, r.title FROM redemptions d JOIN rewards r ON r.id = d.reward_id
           WHERE d.guild_id = ? AND d.kind = 'perk' AND d.status = 'pending' AND d.created_at < ?
           ORDER BY d.created_at LIMIT 10""",
        (guild_id, to_db(window.end - WAITING_TOO_LONG)),
    )
    if waiting:
        lines = [
            f"{row['title']} for {ref.member(int(row['user_id']))}, "
            f"redeemed {ref.moment(from_db(row['created_at']), 'R')}"
            for row in waiting
        ]
        sections.append(DigestSection("rewards_waiting", "Perks waiting to be handed out", lines,
                                      audience="moderators", order=62))  # fmt: skip
    return sections
