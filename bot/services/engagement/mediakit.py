"""A member's media kit: their own results in the program, as measured here, to show other brands.

Only what Collective measured about this member: approved content by platform, sales through their codes (net of
refunds, per currency), events they were counted at, their tier, their streak of active weeks, and how long they
have been an ambassador. Nothing about anyone else, nothing estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.db import Database
from bot.errors import NotAllowed
from bot.services.engagement.profile import profile
from bot.services.program import members

# Members whose results a media kit may show: ambassadors now, and those paused (their history is theirs).
SHOWN = ("active", "paused")


@dataclass(frozen=True)
class SalesLine:
    currency: str
    orders: int
    net_minor: int  # net of discounts and refunds


@dataclass(frozen=True)
class MediaKit:
    display_name: str
    tier_name: str | None
    member_since: datetime | None  # approval
    days_in_program: int
    streak_weeks: int
    points_all: int
    content_by_platform: list[tuple[str, int]]  # approved pieces, most first
    sales: list[SalesLine]
    events_attended: int

    @property
    def content_total(self) -> int:
        return sum(n for _, n in self.content_by_platform)


async def media_kit(db: Database, guild_id: int, user_id: int, *, now: datetime, zone: ZoneInfo) -> MediaKit:
    member = await members.find_member(db, guild_id, user_id)
    if member is None or member.status not in SHOWN:
        raise NotAllowed("A media kit shows an ambassador's results; you're not an ambassador in this program.")
    seen = await profile(db, guild_id, user_id, now=now, zone=zone)
    platforms = await db.fetchall(
        """SELECT platform, COUNT(*) AS n FROM submissions WHERE guild_id = ? AND user_id = ? AND status = 'approved'
           GROUP BY platform ORDER BY n DESC, platform""",
        (guild_id, user_id),
    )
    sales = await db.fetchall(
        """SELECT currency, SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS orders, SUM(net_minor) AS net
           FROM sales WHERE guild_id = ? AND user_id = ? GROUP BY currency ORDER BY currency""",
        (guild_id, user_id),
    )
    attended = await db.fetchval(
        "SELECT COUNT(DISTINCT event_id) FROM event_attendance WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    tier_name = await db.fetchval(
        "SELECT name FROM tiers WHERE guild_id = ? AND key = ?", (guild_id, member.tier or "")
    )
    since = member.approved_at
    return MediaKit(
        display_name=member.display_name,
        tier_name=str(tier_name) if tier_name else None,
        member_since=since,
        days_in_program=max((now - since).days, 0) if since else 0,
        streak_weeks=seen.streak_weeks,
        points_all=seen.points_all,
        content_by_platform=[(str(r["platform"]), int(r["n"])) for r in platforms],
        sales=[SalesLine(str(r["currency"]), int(r["orders"] or 0), int(r["net"] or 0)) for r in sales],
        events_attended=int(attended or 0),
    )
