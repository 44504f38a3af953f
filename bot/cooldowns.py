"""Per-member rate limits for commands and buttons: a token bucket per (server, member).

A member may act in a burst (``burst`` actions at once), then at ``per_second`` actions a second; beyond that
they are told to slow down and nothing runs. Moderators get a larger allowance: reviewing a queue is many
clicks. The bucket is checked centrally — the command tree's ``interaction_check`` and the shared
``BaseView`` / ``SafeDynamicItem`` bases — so every new command and button is covered without opting in.
Autocomplete (typing) and modal submits (which only follow a limited command or button) are not counted.

Time comes from ``time.monotonic`` (replaceable in tests): the limiter is about wall-clock bursts, not the
program's clock, which the demo and tests freeze.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import discord

from bot.checks import is_moderator
from bot.interaction_errors import reply_ephemeral


@dataclass(frozen=True)
class Allowance:
    burst: int  # actions allowed at once
    per_second: float  # sustained rate once the burst is spent


MEMBER = Allowance(burst=15, per_second=1.0)
MODERATOR = Allowance(burst=40, per_second=5.0)
_PRUNE_AT = 10_000  # buckets kept before full (idle) ones are forgotten


@dataclass
class _Bucket:
    tokens: float
    at: float


class Cooldowns:
    """Token buckets keyed by (guild_id, user_id); ``take`` answers how long to wait, or None to go ahead."""

    def __init__(
        self,
        member: Allowance = MEMBER,
        moderator: Allowance = MODERATOR,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.member = member
        self.moderator = moderator
        self.clock = clock
        self._buckets: dict[tuple[int, int, bool], _Bucket] = {}

    def take(self, guild_id: int, user_id: int, *, moderator: bool = False) -> float | None:
        allowance = self.moderator if moderator else self.member
        now = self.clock()
        key = (guild_id, user_id, moderator)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_AT:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(allowance.burst), now)
        elapsed = max(0.0, now - bucket.at)  # a clock never runs backwards here, even if swapped
        bucket.tokens = min(float(allowance.burst), bucket.tokens + elapsed * allowance.per_second)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / allowance.per_second

    def _prune(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            allowance = self.moderator if key[2] else self.member
            if bucket.tokens + (now - bucket.at) * allowance.per_second >= allowance.burst:
                del self._buckets[key]


def cooldowns_of(client: Any) -> Cooldowns | None:
    """The bot's limiter (kept on its command tree), or None for a client without one."""
    limiter = getattr(getattr(client, "tree", None), "cooldowns", None)
    return limiter if isinstance(limiter, Cooldowns) else None


def cooldown_message(wait: float) -> str:
    return f"⏳ Slow down — you're doing that too fast. Try again in {max(1, math.ceil(wait))} s."


async def admit(interaction: discord.Interaction[Any]) -> bool:
    """Take one action from the member's allowance; without one, answer with the cooldown and refuse."""
    limiter = cooldowns_of(interaction.client)
    if limiter is None or interaction.type is discord.InteractionType.autocomplete:
        return True
    moderator = await is_moderator(interaction.client, interaction.user)
    wait = limiter.take(interaction.guild_id or 0, interaction.user.id, moderator=moderator)
    if wait is None:
        return True
    await reply_ephemeral(interaction, cooldown_message(wait))
    return False
