"""Start-up: process start to ready, with 10,000 ambassadors and 1,000 pending timers, beside a bare client.

    python -m bench.bench_startup            # 10,000 members and ambassadors, 1,000 pending timers
    python -m bench.bench_startup --quick    # small sizes: checks that it works

The emulator (in this process) holds a guild of N members; the database holds N ambassadors with history
and the pending timers. ``python -m bot run`` is started three times: once to sync its commands (a first
install, shown but not the figure), then three times as the restart an operator does; the figure is the median
restart from exec to the bot's "ready" log line (gateway READY, the guild and its members cached, the
scheduler started over the timers). The baseline: a bare discord.py client with the same intents, from
exec to on_ready against the same emulator guild. Both wait discord.py's ``guild_ready_timeout`` after the
last GUILD_CREATE before READY is dispatched (``discord.guild_ready_timeout``, 0.5 s; discord.py's own default
is 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.botproc import Running, prepare, start_bare, start_bot
from bench.generator import Sizes
from bench.report import Figure, emit

TARGET_S = 3.0


async def timed_start(starter: object, *args: object) -> tuple[float, Running]:
    running: Running = await starter(*args)  # type: ignore[operator]
    try:
        return await running.wait_ready(), running
    except BaseException:
        await running.stop()
        raise


async def main(quick: bool) -> None:
    sizes = (
        Sizes(members=300, points_rows=5_000, sales_rows=1_000, timers=30)
        if quick
        else Sizes(members=10_000, points_rows=100_000, sales_rows=20_000, timers=1_000)
    )
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder:
        started = time.perf_counter()
        world = await prepare(Path(folder), sizes)
        print(f"emulator guild of {sizes.members:,} members; database generated in {time.perf_counter() - started:.1f}s"
              f" ({world.summary.timers} pending timers)")  # fmt: skip
        try:
            first, running = await timed_start(start_bot, world.config)
            await running.stop()
            restarts = []
            errors: list[str] = running.errors()
            for _ in range(1 if quick else 3):
                took, running = await timed_start(start_bot, world.config)
                restarts.append(took)
                pending = await _pending_timers(world.db_path)
                await running.stop()
                errors += running.errors()
            bare = []
            for _ in range(1 if quick else 3):
                took, running = await timed_start(start_bare, world.emu)
                bare.append(took)
                await running.stop()
        finally:
            await world.emu.stop()
    ours, base = statistics.median(restarts), statistics.median(bare)
    print("| run | seconds to ready |\n|---|---|")
    print(f"| bot, first start (syncs its commands) | {first:.2f} |")
    for took in restarts:
        print(f"| bot, restart | {took:.2f} |")
    for took in bare:
        print(f"| bare discord.py client | {took:.2f} |")
    emit(Figure("startup", f"process start → ready, {sizes.members:,} ambassadors, {sizes.timers:,} timers", ours, "s",
                base, "bare discord.py client to on_ready", f"< {TARGET_S:g} s", ours < TARGET_S))  # fmt: skip
    if errors:
        raise SystemExit("FAILED: the bot logged errors:\n" + "\n".join(errors[:20]))
    if pending != world.summary.timers:
        raise SystemExit(f"FAILED: {world.summary.timers} timers were pending, {pending} after start-up")


async def _pending_timers(path: Path) -> int:
    from bot.db import Database

    async with await Database.open(path) as db:
        return int(await db.fetchval("SELECT COUNT(*) FROM timers WHERE status = 'pending'"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it works")
    asyncio.run(main(parser.parse_args().quick))
