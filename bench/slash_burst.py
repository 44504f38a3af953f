"""A burst of slash commands over many servers, timed as bench_burst.py times its clicks, and counted.

Each (server, member) runs the command once, the sends spread evenly over the window; time to acknowledge runs
from the INTERACTION_CREATE dispatch to the answer reaching the emulator (``Actor.slash`` returns when it is
answered). Afterwards ``callbacks_per_interaction`` reads the emulator's request log, so a scenario can check that
every interaction was answered exactly once — not twice by two processes, not silently dropped.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from emulator import Emulator

_CALLBACK = re.compile(r"^/interactions/(\d+)/[^/]+/callback$")


@dataclass
class Acks:
    """One burst: acknowledgement seconds per server, the interactions sent, and those not answered in time."""

    times_by_guild: dict[int, list[float]] = field(default_factory=dict)
    interaction_ids: list[int] = field(default_factory=list)
    failures: int = 0
    empty: int = 0  # answered, but with neither text nor an embed

    @property
    def times(self) -> list[float]:
        return sorted(t for times in self.times_by_guild.values() for t in times)


async def slash_burst(emu: Emulator, calls: Sequence[tuple[int, int]], command: str, window_s: float = 1.0) -> Acks:
    """Each (guild id, user id) in ``calls`` runs ``/command`` once, spread over ``window_s``."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    acks = Acks()

    async def run(n: int, guild_id: int, user_id: int) -> None:
        await asyncio.sleep(max(0.0, start + window_s * n / len(calls) - loop.time()))
        try:
            reply = await emu.actor(guild_id, user_id).slash(command)
        except AssertionError:  # not answered in time: the emulator refused the late callback
            acks.failures += 1
            return
        acks.times_by_guild.setdefault(guild_id, []).append(loop.time() - reply.record.created_at)
        acks.interaction_ids.append(reply.record.id)
        acks.empty += not (reply.embeds or reply.content)

    await asyncio.gather(*(run(n, guild, user) for n, (guild, user) in enumerate(calls)))
    return acks


def callbacks_per_interaction(emu: Emulator, interaction_ids: Sequence[int]) -> Counter[int]:
    """How many initial callbacks the emulator accepted for each of ``interaction_ids`` (1 each when all is well)."""
    wanted = set(interaction_ids)
    seen: Counter[int] = Counter(dict.fromkeys(wanted, 0))
    for request in emu.requests:
        found = _CALLBACK.match(request.path) if request.method == "POST" and request.status < 300 else None
        if found is not None and int(found.group(1)) in wanted:
            seen[int(found.group(1))] += 1
    return seen


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value ``fraction`` of the way up ``values`` (sorted), as bench_burst.py takes it."""
    return values[min(len(values) - 1, int(len(values) * fraction))] if values else float("nan")
