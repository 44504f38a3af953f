"""Bursts of interactions over many servers — slash commands, button presses — timed as bench_burst.py times its
clicks, and counted.

Each (server, member) acts once, the sends spread evenly over the window; time to acknowledge runs from the
INTERACTION_CREATE dispatch to the answer reaching the emulator (the Actor returns when it is answered).
Afterwards ``callbacks_per_interaction`` reads the emulator's request log, so a scenario can check that every
interaction was answered exactly once — not twice by two processes (the second refused), not silently dropped."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from emulator import Emulator
from emulator.driver import Actor, Reply
from emulator.models import Message

_CALLBACK = re.compile(r"^/interactions/(\d+)/[^/]+/callback$")


@dataclass
class Acks:
    """One burst: acknowledgement seconds per server, the interactions sent, and those not answered in time."""

    times_by_guild: dict[int, list[float]] = field(default_factory=dict)
    interaction_ids: list[int] = field(default_factory=list)
    failures: int = 0
    empty: int = 0  # answered, but with neither text nor an embed
    wall_s: float = 0.0  # from the first send to the last answer

    @property
    def times(self) -> list[float]:
        return sorted(t for times in self.times_by_guild.values() for t in times)


async def slash_burst(emu: Emulator, calls: Sequence[tuple[int, int]], command: str, window_s: float = 1.0) -> Acks:
    """Each (guild id, user id) in ``calls`` runs ``/command`` once, spread over ``window_s``."""
    return await _spread(emu, [(guild, user, lambda a: a.slash(command)) for guild, user in calls], window_s)


async def click_burst(emu: Emulator, clicks: Sequence[tuple[int, int, Message, str]], window_s: float = 1.0) -> Acks:
    """Each (guild id, user id, message, custom_id) in ``clicks`` presses that button once, spread over ``window_s``."""
    return await _spread(
        emu, [(guild, user, _press(message, custom_id)) for guild, user, message, custom_id in clicks], window_s
    )


def _press(message: Message, custom_id: str) -> Callable[[Actor], Awaitable[Reply]]:
    return lambda actor: actor.in_channel(message.channel_id).click(message, custom_id)


async def _spread(
    emu: Emulator, acts: Sequence[tuple[int, int, Callable[[Actor], Awaitable[Reply]]]], window_s: float
) -> Acks:
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    acks = Acks()

    async def run(n: int, guild_id: int, user_id: int, act: Callable[[Actor], Awaitable[Reply]]) -> None:
        await asyncio.sleep(max(0.0, start + window_s * n / len(acts) - loop.time()))
        try:
            reply = await act(emu.actor(guild_id, user_id))
        except AssertionError:  # not answered in time: the emulator refused the late callback
            acks.failures += 1
            return
        acks.times_by_guild.setdefault(guild_id, []).append(loop.time() - reply.record.created_at)
        acks.interaction_ids.append(reply.record.id)
        acks.empty += not (reply.embeds or reply.content)

    await asyncio.gather(*(run(n, *act) for n, act in enumerate(acts)))
    acks.wall_s = loop.time() - start
    return acks


def callbacks_per_interaction(emu: Emulator, interaction_ids: Sequence[int]) -> Counter[int]:
    """How many initial callbacks the emulator received for each of ``interaction_ids``, refused ones included (a
    second answer is refused with 40060): 1 each when every interaction was answered exactly once."""
    wanted = set(interaction_ids)
    seen: Counter[int] = Counter(dict.fromkeys(wanted, 0))
    for request in emu.requests:
        found = _CALLBACK.match(request.path) if request.method == "POST" else None
        if found is not None and int(found.group(1)) in wanted:
            seen[int(found.group(1))] += 1
    return seen


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value ``fraction`` of the way up ``values`` (sorted), as bench_burst.py takes it."""
    return values[min(len(values) - 1, int(len(values) * fraction))] if values else float("nan")
