"""Memory: resident set size of the running bot with 10,000 members in its cache, beside a bare client.

    python -m bench.bench_memory            # a guild of 10,000 members, all of them ambassadors
    python -m bench.bench_memory --quick    # small sizes: checks that it works

``python -m bot run`` against the emulator (in this process) whose guild holds N members; once the bot
logs "ready" (every member cached from GUILD_CREATE, the scheduler started) and has settled for a few
seconds, its RSS is read from /proc. Then a few /profile and /code commands run so the figure includes a
working bot, not just an idle one, and RSS is read again. The baseline: a bare discord.py client with the
same intents caching the same guild, read the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from bench.botproc import Running, prepare, start_bare, start_bot
from bench.generator import Sizes
from bench.report import Figure, emit
from emulator import Emulator

TARGET_MB = 250.0
SETTLE_S = 3.0


async def settled_rss(running: Running, settle_s: float) -> float:
    await running.wait_ready()
    await asyncio.sleep(settle_s)  # let start-up garbage be collected and background start-up work finish
    return running.rss_mb()


async def exercise(emu: Emulator, guild_id: int, users: list[int]) -> int:
    """A few ambassadors look at their numbers; returns how many were answered."""
    await emu.wait_for_commands()
    answered = 0
    for user in users[:: max(1, len(users) // 20)]:
        actor = emu.actor(guild_id, user)
        for command in ("profile", "code"):
            reply = await actor.slash(command)
            answered += bool(reply.embeds or reply.content)
    return answered


async def main(quick: bool) -> None:
    members = 300 if quick else 10_000
    sizes = Sizes(members=members, points_rows=members * 10, sales_rows=members * 2, timers=min(members // 10, 1000))
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder:
        world = await prepare(Path(folder), sizes)
        try:
            running = await start_bot(world.config)
            try:
                idle = await settled_rss(running, 1.0 if quick else SETTLE_S)
                answered = await exercise(world.emu, world.guild.id, world.summary.user_ids)
                await asyncio.sleep(1)
                working = running.rss_mb()
            finally:
                await running.stop()
            errors = running.errors()
            bare = await start_bare(world.emu)
            try:
                base = await settled_rss(bare, 1.0 if quick else SETTLE_S)
            finally:
                await bare.stop()
        finally:
            await world.emu.stop()
    print(f"| process ({members:,} members cached) | RSS MB |\n|---|---|")
    print(f"| bot, ready and idle | {idle:.1f} |\n| bot, after {answered} /profile and /code replies | {working:.1f} |")
    print(f"| bare discord.py client | {base:.1f} |")
    emit(Figure("memory", f"bot RSS, {members:,} members cached", working, "MB", base,
                "bare discord.py client, same guild cached", f"< {TARGET_MB:g} MB", working < TARGET_MB))  # fmt: skip
    if errors:
        raise SystemExit("FAILED: the bot logged errors:\n" + "\n".join(errors[:20]))
    if answered == 0:
        raise SystemExit("FAILED: no command was answered")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it works")
    asyncio.run(main(parser.parse_args().quick))
