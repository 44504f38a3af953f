from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.periods import Period, daily, hourly, weekly

LONDON = ZoneInfo("Europe/London")


def test_weekly_current_and_following() -> None:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday
    window = weekly(now, ZoneInfo("UTC"), 0, time(9, 0))
    assert window.current.due_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert window.current.key == "2026-W48"
    assert window.following.due_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert window.following.key == "2026-W49"


def test_weekly_exactly_at_due_time_is_current() -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert weekly(now, ZoneInfo("UTC"), 0, time(9, 0)).current.due_at == now


def test_weekly_follows_local_time_across_dst() -> None:
    # Monday 09:00 London: 09:00 UTC in winter, 08:00 UTC after the clocks go forward on 29 March 2026.
    before = weekly(datetime(2026, 3, 24, 12, tzinfo=UTC), LONDON, 0, time(9, 0))
    assert before.current.due_at == datetime(2026, 3, 23, 9, 0, tzinfo=UTC)
    assert before.following.due_at == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_weekly_in_a_zone_ahead_of_utc() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    # Sunday 23:30 UTC is already Monday 08:30 in Tokyo: the Monday 09:00 digest is still ahead.
    window = weekly(datetime(2026, 11, 29, 23, 30, tzinfo=UTC), tokyo, 0, time(9, 0))
    assert window.following.due_at == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


def test_daily_keys() -> None:
    window = daily(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), ZoneInfo("UTC"), time(3, 0))
    assert window.current.key == "2026-11-23"
    assert window.following.key == "2026-11-24"


def test_hourly_periods_are_whole_utc_hours() -> None:
    window = hourly(datetime(2026, 11, 24, 10, 59, 59, 999, tzinfo=ZoneInfo("Europe/Berlin")))  # 09:59 UTC
    assert window.current == Period("2026-11-24T09", datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert window.following == Period("2026-11-24T10", datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert hourly(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)).following.key == "2027-01-01T00"
