"""Time in one place: always timezone-aware UTC inside, stored as fixed-width ISO text so it sorts.

Services take ``now`` as a parameter; the bot passes ``clock.now()`` and tests pass a fixed instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

_DB_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to (tests, the demo's scripted week)."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = ensure_utc(when)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


def ensure_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC inside Collective)")
    return value.astimezone(UTC)


def to_db(value: datetime) -> str:
    """``_DB_FORMAT`` written out by hand: strftime was a noticeable share of a webhook delivery's cost."""
    if value.tzinfo is not UTC:
        value = ensure_utc(value)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}Z"
    )


def from_db(value: str) -> datetime:
    return datetime.strptime(value, _DB_FORMAT).replace(tzinfo=UTC)
