"""Interaction burst: 500 members vote on one poll within one second, through the emulator.

    python -m bench.bench_burst            # 500 voters
    python -m bench.bench_burst --quick    # 50 voters: checks that it works

``python -m bot run`` runs as its own process against the emulator (in this process, with Discord's
3-second acknowledgement rule on). An open poll is in the database and its message, with the vote buttons,
in the guild's channel. 500 active ambassadors each click a button, the clicks spread evenly over one
second; each click's time to acknowledge is from the INTERACTION_CREATE dispatch to the bot's callback
reaching the emulator. Then the database is checked: every vote stored once, and its points awarded once.
The baseline: a bare discord.py client that only acknowledges (an ephemeral message, as the bot answers),
for the same clicks against the same emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from bench.botproc import Running, World, prepare, start_bare, start_bot
from bench.generator import Sizes
from bench.report import Figure, emit
from bot.db import Database
from emulator.models import Message

ACK_LIMIT_S = 3.0
TARGET_P99_S = 1.0


def post_poll(world: World, poll_id: int) -> Message:
    """The poll's message with its vote buttons, as the bot would have posted it, linked from the poll row."""
    emu = world.emu
    channel_id = world.guild.system_channel_id
    assert channel_id is not None
    buttons = [
        {"type": 2, "style": 1, "label": label, "custom_id": f"collective:poll:vote:{poll_id}:{k}"}
        for k, label in enumerate(("Rose", "Vanilla", "Citrus"))
    ]
    return emu.state.add_message(
        channel_id, emu.state.bot.id, embeds=[{"title": "🗳️ Which scent next?"}],
        components=[{"type": 1, "components": buttons}],
    )  # fmt: skip


async def burst(world: World, message: Message, voters: list[int], window_s: float = 1.0) -> tuple[list[float], int]:
    """Every voter clicks once, spread over ``window_s``; returns the acknowledgement times and the failures."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    times: list[float] = []
    failures = 0

    async def click(n: int, user: int) -> None:
        nonlocal failures
        await asyncio.sleep(max(0.0, start + window_s * n / len(voters) - loop.time()))
        actor = world.emu.actor(world.guild.id, user, message.channel_id)
        custom_id = message.components[0]["components"][n % 3]["custom_id"]
        try:
            reply = await actor.click(message, custom_id)
        except AssertionError:  # not acknowledged in time: the emulator refused the late callback
            failures += 1
            return
        times.append(loop.time() - reply.record.created_at)

    await asyncio.gather(*(click(n, user) for n, user in enumerate(voters)))
    return sorted(times), failures


def percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(len(values) * fraction))] if values else float("nan")


async def stored(path: Path, poll_id: int) -> tuple[int, int, int]:
    """(vote rows, distinct voters, poll points rows) for the poll."""
    async with await Database.open(path) as db:
        votes = await db.fetchval("SELECT COUNT(*) FROM poll_votes WHERE poll_id = ?", (poll_id,))
        voters = await db.fetchval("SELECT COUNT(DISTINCT user_id) FROM poll_votes WHERE poll_id = ?", (poll_id,))
        awards = await db.fetchval(
            "SELECT COUNT(*) FROM points_ledger WHERE reason = 'poll' AND reference LIKE ?", (f"poll:{poll_id}:%",)
        )
    return int(votes), int(voters), int(awards)


async def run_one(running: Running, world: World, message: Message, voters: list[int]) -> tuple[list[float], int]:
    try:
        await running.wait_ready()
        return await burst(world, message, voters)
    finally:
        await running.stop()


async def main(quick: bool) -> None:
    count = 50 if quick else 500
    # Every 50th generated ambassador is paused; take the first `count` active ones as voters.
    sizes = Sizes(members=count + count // 40 + 1, points_rows=count * 20, sales_rows=count * 4, timers=20,
                  open_polls=1)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder:
        world = await prepare(Path(folder), sizes)
        try:
            voters = [u for n, u in enumerate(world.summary.user_ids) if n % 50 != 49][:count]
            poll_id = world.summary.open_poll_ids[0]
            message = post_poll(world, poll_id)
            async with await Database.open(world.db_path) as db:
                await db.execute(
                    "UPDATE polls SET channel_id = ?, message_id = ? WHERE id = ?",
                    (message.channel_id, message.id, poll_id),
                )
            running = await start_bot(world.config)
            ours, our_failures = await run_one(running, world, message, voters)
            errors = running.errors()
            votes, distinct, awards = await stored(world.db_path, poll_id)
            bare, bare_failures = await run_one(await start_bare(world.emu), world, message, voters)
        finally:
            await world.emu.stop()
    print(f"{count} clicks on one poll within 1 s, bot as its own process, emulator with the 3 s rule")
    print("| client | acknowledged | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|")
    for name, times, failed in (("Collective", ours, our_failures), ("bare discord.py client", bare, bare_failures)):
        print(f"| {name} | {len(times)}/{len(times) + failed} | {statistics.median(times) * 1000:.0f}"
              f" | {percentile(times, 0.99) * 1000:.0f} | {max(times) * 1000:.0f} |")  # fmt: skip
    print(f"stored: {votes} vote rows, {distinct} voters, {awards} poll points rows (expected {count} each)")
    p99, base99 = percentile(ours, 0.99), percentile(bare, 0.99)
    emit(Figure("interaction burst", f"p99 time to acknowledge, {count} votes in 1 s", p99 * 1000, "ms",
                base99 * 1000, "bare discord.py client acknowledging", f"< {TARGET_P99_S * 1000:g} ms",
                p99 < TARGET_P99_S))  # fmt: skip
    emit(Figure("interaction burst", "p50 time to acknowledge", statistics.median(ours) * 1000, "ms",
                statistics.median(bare) * 1000, "bare discord.py client acknowledging"))  # fmt: skip
    problems = []
    if our_failures or any(t > ACK_LIMIT_S for t in ours):
        problems.append(f"{our_failures} clicks not acknowledged within {ACK_LIMIT_S:g} s")
    if not votes == distinct == awards == count:
        problems.append(f"votes lost or doubled: {votes} rows, {distinct} voters, {awards} awards for {count} clicks")
    if errors:
        problems.append("the bot logged errors:\n" + "\n".join(errors[:20]))
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it works")
    asyncio.run(main(parser.parse_args().quick))
