"""Which servers this process owns: its shards (``--shards 0-3 --shard-count 8``), and what owning means.

Discord puts a server on shard ``(guild_id >> 22) % shard_count``; a process connects only its shards, so it
sees only their servers' events and interactions. The same formula decides which scheduled work, outbox rows and
shop jobs it runs — as a Python test (``owns``) and as SQL (``owned_sql``), so a process selects only its own
rows instead of claiming and skipping the rest.

Without a shard list the process owns everything (one process, any number of shards, Discord's recommendation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
MAX_SHARDS = 16_384  # far past any bot: Discord allows 2,500 servers a shard


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """``"0-3"``, ``"0,2,5-7"`` → sorted shard ids; ValueError with a sentence otherwise."""
    ids: set[int] = set()
    for part in text.split(","):
        match = _RANGE.match(part)
        if match is None:
            raise ValueError(f"{text!r}: shards are numbers and ranges, e.g. 0-3 or 0,2,4-5")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ValueError(f"{part.strip()!r}: a range goes up, e.g. 0-3")
        if last >= MAX_SHARDS:
            raise ValueError(f"{part.strip()!r}: shard ids stop at {MAX_SHARDS - 1}")
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


def shard_of(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


def describe_ids(ids: tuple[int, ...]) -> str:
    """``(0, 1, 2, 3, 6)`` → ``"0-3,6"``: how an operator wrote it."""
    parts: list[str] = []
    start = prev = ids[0]
    for shard in (*ids[1:], None):
        if shard is not None and shard == prev + 1:
            prev = shard
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if shard is not None:
            start = prev = shard
    return ",".join(parts)


@dataclass(frozen=True)
class ShardPlan:
    """``shard_ids`` of ``shard_count``; both None: every shard, as many as Discord recommends."""

    shard_ids: tuple[int, ...] | None = None
    shard_count: int | None = None

    def __post_init__(self) -> None:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("shards: give the total too (--shard-count / sharding.shard_count)")
            if not self.shard_ids:
                raise ValueError("shards: name at least one shard")
            beyond = [shard for shard in self.shard_ids if shard >= self.shard_count]
            if beyond:
                last = self.shard_count - 1
                raise ValueError(f"shards {describe_ids(tuple(beyond))}: shard ids run from 0 to {last}")
        if self.shard_count is not None and not 1 <= self.shard_count <= MAX_SHARDS:
            raise ValueError(f"shard_count must be between 1 and {MAX_SHARDS}")

    @property
    def owns_all(self) -> bool:
        return self.shard_ids is None or len(self.shard_ids) == self.shard_count

    def owns(self, guild_id: int) -> bool:
        if self.shard_ids is None or self.shard_count is None or self.owns_all:
            return True
        return shard_of(guild_id, self.shard_count) in self.shard_ids

    def owned_sql(self, column: str = "guild_id") -> str:
        """A SQL condition true for the rows of owned servers (numbers only, validated: no parameters needed, so
        it splices into any statement on both engines; ``>>`` and ``%`` mean the same in SQLite and PostgreSQL)."""
        if self.owns_all:
            return "1 = 1"
        assert self.shard_ids is not None and self.shard_count is not None
        ids = ", ".join(str(shard) for shard in self.shard_ids)
        return f"(({column} >> 22) % {self.shard_count}) IN ({ids})"

    @property
    def label(self) -> str:
        """For logs and claims: ``shards 0-3 of 8``, or ``all shards``."""
        if self.shard_ids is None:
            return "all shards" if self.shard_count is None else f"all {self.shard_count} shards"
        return f"shards {describe_ids(self.shard_ids)} of {self.shard_count}"

    @property
    def slug(self) -> str:
        """For file names: ``shards-0-3-of-8``, or ``all``."""
        if self.shard_ids is None:
            return "all"
        return f"shards-{describe_ids(self.shard_ids).replace(',', '_')}-of-{self.shard_count}"

    def job_scope(self) -> str:
        """A process-wide job (the hourly catch-up) runs once per period for each set of shards — each process
        for its own servers — so its period is claimed under this suffix; '' when one process owns all."""
        return "" if self.owns_all else f"@{self.slug}"
