"""Show UTC instants in the server's timezone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def local_time(value: datetime, zone: ZoneInfo) -> str:
    """E.g. 'Mon 24 Nov 2026, 09:00 CET'."""
    return value.astimezone(zone).strftime("%a %d %b %Y, %H:%M %Z")
