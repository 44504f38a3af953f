"""Recurring periods in a server's local time (weekly digest, daily backup) or UTC (hourly), returned in UTC.

A period is named by a stable key (``2026-W48``, ``2026-11-24``) so a job can claim it exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import ensure_utc


@dataclass(frozen=True)
class Period:
    key: str
    due_at: datetime  # UTC


@dataclass(frozen=True)
class PeriodWindow:
    current: Period  # the latest occurrence at or before now
    following: Period  # the first occurrence after now


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A wall time inside a DST gap resolves forward (fold=0), which is what a person would expect.
    return ensure_utc(datetime.combine(day, at, tzinfo=zone))


def weekly(now: datetime, zone: ZoneInfo, weekday: int, at: time) -> PeriodWindow:
    """Occurrences of ``weekday`` (0 = Monday) at ``at`` local time, keyed by their ISO week."""
    local = ensure_utc(now).astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    due = _at(day, at, zone)
    if due > ensure_utc(now):
        day -= timedelta(days=7)
        due = _at(day, at, zone)
    nxt = day + timedelta(days=7)
    return PeriodWindow(Period(_week_key(day), due), Period(_week_key(nxt), _at(nxt, at, zone)))


def daily(now: datetime, zone: ZoneInfo, at: time) -> PeriodWindow:
    local = ensure_utc(now).astimezone(zone)
    day = local.date()
    due = _at(day, at, zone)
    if due > ensure_utc(now):
        day -= timedelta(days=1)
        due = _at(day, at, zone)
    nxt = day + timedelta(days=1)
    return PeriodWindow(Period(day.isoformat(), due), Period(nxt.isoformat(), _at(nxt, at, zone)))


def _week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def hourly(now: datetime) -> PeriodWindow:
    """Every hour on the hour (UTC), keyed ``2026-11-24T10``."""
    start = ensure_utc(now).replace(minute=0, second=0, microsecond=0)
    nxt = start + timedelta(hours=1)
    return PeriodWindow(Period(f"{start:%Y-%m-%dT%H}", start), Period(f"{nxt:%Y-%m-%dT%H}", nxt))
