"""Dates and times typed by moderators, read in the server's timezone and returned in UTC."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.clock import ensure_utc
from bot.errors import InvalidInput

MIN_YEAR, MAX_YEAR = 2000, 2999
_LOCAL = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2}))?$")


def parse_local(text: str, zone: ZoneInfo, *, what: str = "date", default_time: time | None = None) -> datetime:
    """'2026-12-05 18:00' (or '2026-12-05' when ``default_time`` is given) in ``zone`` → aware UTC.

    A wall time that does not exist (inside a DST gap) resolves forward, as a person would expect.
    """
    example = "YYYY-MM-DD HH:MM" if default_time is None else "YYYY-MM-DD or YYYY-MM-DD HH:MM"
    match = _LOCAL.match((text or "").strip())
    if match is None or (default_time is None and match.group(4) is None):
        raise InvalidInput(f"Write the {what} as {example} (e.g. 2026-12-05 18:00), in server time.")
    year, month, day, hour, minute = match.groups()
    try:
        at = time(int(hour), int(minute)) if hour is not None else default_time
        assert at is not None
        local = datetime(int(year), int(month), int(day), at.hour, at.minute, tzinfo=zone)
        # Years far from now overflow datetime once shifted to UTC or by a reminder's offset.
        if not MIN_YEAR <= local.year <= MAX_YEAR:
            raise ValueError(local.year)
        return ensure_utc(local)
    except (ValueError, OverflowError):
        raise InvalidInput(f"The {what} `{text.strip()[:40]}` isn't a real date and time.") from None
