"""The fake shop's time and its query-cost bucket (Shopify's leaky bucket), both steppable by a test."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Seconds for the cost bucket and the current time for timestamps; tests pass a `ManualClock`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    def __init__(self, start: datetime | None = None) -> None:
        self.seconds = 0.0
        self.start = start or datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


class CostBucket:
    """Shopify's leaky bucket: requests draw their requested cost; it refills at `restore_rate` per second."""

    def __init__(self, clock: Clock, maximum: float, restore_rate: float) -> None:
        self.clock = clock
        self.maximum = maximum
        self.restore_rate = restore_rate
        self._available = maximum
        self._at = clock.monotonic()

    @property
    def available(self) -> float:
        now = self.clock.monotonic()
        self._available = min(self.maximum, self._available + (now - self._at) * self.restore_rate)
        self._at = now
        return self._available

    def take(self, cost: float) -> bool:
        if cost > self.available:
            return False
        self._available -= cost
        return True

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": float(self.maximum),
            "currentlyAvailable": float(int(self.available)),
            "restoreRate": float(self.restore_rate),
        }
