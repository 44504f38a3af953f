"""Snowflake ids and timestamps in Discord's formats."""

from __future__ import annotations

import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeGenerator:
    """Hands out strictly increasing snowflakes whose timestamp part is the current time.

    discord.py derives `created_at` from ids and orders history by them, so ids must both
    look real and never repeat within one emulator.
    """

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        # Several ids within one millisecond: bump the increment bits instead of colliding.
        self._last = max(candidate, self._last + 1)
        return self._last

    def next_tick(self) -> int:
        """An id that is alone in its millisecond (increment bits zero), later than every id so far.

        Discord shards by ``(guild_id >> 22) % num_shards``; guild ids made in a tight loop would
        otherwise share a millisecond, and so a shard. Ticks taken back to back are consecutive,
        so such guilds fall round-robin over the shards.
        """
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        self._last = max(now_ms, (self._last >> 22) + 1) << 22
        return self._last


def iso_now() -> str:
    """The current time as Discord writes timestamps (ISO 8601 with offset)."""
    return datetime.now(UTC).isoformat()


def snowflake_time(snowflake: int) -> datetime:
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)
