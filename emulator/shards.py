"""Gateway sharding as Discord does it: which shard owns a guild, and which session an event goes to.

A session that IDENTIFYs with ``shard: [shard_id, num_shards]`` holds the guilds whose
``(guild_id >> 22) % num_shards == shard_id``; it gets READY/GUILD_CREATE and every later
guild-scoped dispatch only for those. Events with no guild (DMs, user updates) go to shard 0.
A session without ``shard`` holds everything, as an unsharded bot does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Gateway close codes Discord uses for sharding mistakes.
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011

# Events whose payload is the guild itself: its id is `id`, not `guild_id`.
_GUILD_OBJECT_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})


def shard_of(guild_id: int, num_shards: int) -> int:
    """The shard that owns a guild (Discord's formula)."""
    return (guild_id >> 22) % num_shards


class InvalidShard(ValueError):
    """IDENTIFY's `shard` is not `[shard_id, num_shards]` with 0 <= shard_id < num_shards."""


@dataclass(frozen=True)
class Shard:
    shard_id: int
    num_shards: int

    @classmethod
    def parse(cls, raw: object) -> Shard:
        if not isinstance(raw, list | tuple) or len(raw) != 2:
            raise InvalidShard(f"shard must be [shard_id, num_shards], got {raw!r}")
        shard_id, num_shards = raw
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (shard_id, num_shards)):
            raise InvalidShard(f"shard values must be integers, got {raw!r}")
        if num_shards < 1 or not 0 <= shard_id < num_shards:
            raise InvalidShard(f"shard {shard_id} is not within 0..{num_shards - 1}")
        return cls(shard_id, num_shards)

    def owns(self, guild_id: int | None) -> bool:
        """Whether this shard receives events for a guild (None: a DM or other non-guild event)."""
        if guild_id is None:
            return self.shard_id == 0
        return shard_of(guild_id, self.num_shards) == self.shard_id

    def as_list(self) -> list[int]:
        return [self.shard_id, self.num_shards]


def receives(shard: Shard | None, guild_id: int | None) -> bool:
    """Whether a session holding `shard` (None: unsharded) gets an event about `guild_id`."""
    return shard is None or shard.owns(guild_id)


def event_guild_id(event: str, data: dict[str, Any]) -> int | None:
    """The guild a dispatch belongs to, or None for DMs and events outside any guild."""
    raw = data.get("id") if event in _GUILD_OBJECT_EVENTS else data.get("guild_id")
    return int(raw) if raw is not None else None


def shards_needed(guild_count: int, max_guilds_per_shard: int | None) -> int:
    """The fewest shards that keep every shard within the limit (1 without a limit)."""
    if not max_guilds_per_shard:
        return 1
    return max(1, -(-guild_count // max_guilds_per_shard))
