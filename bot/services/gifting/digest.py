"""What gifting brings to the weekly digest: gifts shipped this week (public), and gifts waiting to be shipped for
more than three days once their address was given (moderators). Never an address, only who and what."""

from __future__ import annotations

from datetime import timedelta

from bot import references as ref
from bot.clock import from_db, to_db
from bot.db import Database
from bot.services.digest.sections import DigestSection, DigestWindow, section_provider
from bot.text import plural

WAITING_TOO_LONG = timedelta(days=3)


@section_provider("gifting")
async def gifting_section(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
    rows = await db.fetchall(
        """SELECT what, COUNT(*) AS n FROM gifts WHERE guild_id = ? AND shipped_at >= ? AND shipped_at < ?
           GROUP BY what ORDER BY n DESC, what""",
        (guild_id, to_db(window.start), to_db(window.end)),
    )
    sections = []
    if rows:
        total = sum(int(row["n"]) for row in rows)
        lines = [f"{plural(total, 'gift')} shipped to ambassadors"] + [f"{r['what']} ×{r['n']}" for r in rows[:5]]
        sections.append(DigestSection("gifting", "📦 Gifts on their way", lines, order=63))
    waiting = await db.fetchall(
        """SELECT user_id, what, updated_at FROM gifts
           WHERE guild_id = ? AND state IN ('ready', 'ordered') AND updated_at < ?
           ORDER BY updated_at LIMIT 10""",
        (guild_id, to_db(window.end - WAITING_TOO_LONG)),
    )
    if waiting:
        lines = [
            f"{row['what']} for {ref.member(int(row['user_id']))}, waiting since "
            f"{ref.moment(from_db(row['updated_at']), 'R')}"
            for row in waiting
        ]
        sections.append(DigestSection("gifting_waiting", "Fulfilment waiting too long", lines,
                                      audience="moderators", order=63))  # fmt: skip
    return sections
