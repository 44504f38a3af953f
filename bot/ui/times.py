"""Moments as members read them.

``when`` is the default: a Discord timestamp (``<t:unix:f>``), which every client shows in the reader's own
language and time zone. ``local_time`` writes the server's zone out by hand, only where markup is not rendered
(button labels, choice names) or where a moderator types a time in the server's zone and should read it back so.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from discord.utils import TimestampStyle, format_dt


def when(value: datetime, style: TimestampStyle = "f") -> str:
    """E.g. '<t:1795338000:f>' — shown as '24 November 2026 09:00' in the reader's zone; 'R' for 'in 2 days'."""
    return format_dt(value, style)


def local_time(value: datetime, zone: ZoneInfo) -> str:
    """E.g. 'Mon 24 Nov 2026, 09:00 CET'."""
    return value.astimezone(zone).strftime("%a %d %b %Y, %H:%M %Z")
