"""Interaction burst: 500 members vote on one poll within one second, through the emulator.

    python -m bench.bench_burst            # 500 voters
    python -m bench.bench_burst --quick    # 50 voters: checks that it works
    python -m bench.bench_burst --engine postgresql   # the bot on PostgreSQL too, beside SQLite, same run

``python -m bot run`` runs as its own process against the emulator (in this process, with Discord's
3-second acknowledgement rule on). An open poll is in the database and its message, with the vote buttons,
in the guild's channel. 500 active ambassadors each click a button, the clicks spread evenly over one
second; each click's time to acknowledge is from the INTERACTION_CREATE dispatch to the bot's callback
reaching the emulator. Then the database is checked: every vote stored once, and its points awarded once.
The baseline: a bare discord.py client that only acknowledges (an ephemeral message, as the bot answers),
for the same clicks against the same emulator.

``--engine postgresql`` starts a throwaway PostgreSQL server (bench/postgres.py), copies the generated database
into it (the same rows), and runs the same burst against the bot on PostgreSQL after the bot on SQLite, then the
bare client; its figures are PostgreSQL's, each beside the bare client and beside SQLite's same-run figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.botproc import Running, World, prepare, start_bare, start_bot, write_config
from bench.generator import Sizes
from bench.postgres import (
    ENGINES,
    LABEL,
    RoundTrips,
    copy_sqlite_into,
    new_database,
    round_trip_us,
    throwaway_cluster,
)
from bench.report import Figure, emit
from bot.db import Database
from bot.services.polls import polls
from bot.services.program.guild_settings import get_settings
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


async def stored(target: Path | str, poll_id: int) -> tuple[int, int, int]:
    """(vote rows, distinct voters, poll points rows) for the poll, in a SQLite file or a PostgreSQL database."""
    async with await Database.open(target) as db:
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


@dataclass
class Outcome:
    """One client's burst: acknowledgement times, clicks not acknowledged, and (for the bot) what it stored."""

    times: list[float]
    failures: int
    errors: list[str] = field(default_factory=list)
    stored: tuple[int, int, int] | None = None
    detail: list[str] = field(default_factory=list)  # the first traceback the bot logged, in full
    probe: tuple[RoundTrips, float] | None = None  # votes one at a time in this process: where a vote's time goes


async def bot_burst(config: Path, target: Path | str, world: World, message: Message, voters: list[int],
                    poll_id: int) -> Outcome:  # fmt: skip
    running = await start_bot(config)
    times, failures = await run_one(running, world, message, voters)
    # The first traceback in full: the error lines alone ("Traceback (most recent call last):") say nothing.
    first = next((n for n, line in enumerate(running.lines) if "Traceback" in line), None)
    detail = running.lines[first : first + 30] if first is not None else []
    return Outcome(times, failures, running.errors(), await stored(target, poll_id), detail)


async def measure(engines: list[str], count: int) -> tuple[dict[str, Outcome], Outcome]:
    """The bot on each engine, then the bare client: the same clicks on the same poll message, one emulator.

    PostgreSQL gets a copy of the generated SQLite database taken before any bot ran, so both engines start from
    the same rows.
    """
    # Every 50th generated ambassador is paused; take the first `count` active ones as voters.
    sizes = Sizes(members=count + count // 40 + 1, points_rows=count * 20, sales_rows=count * 4, timers=20,
                  open_polls=1)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder, contextlib.ExitStack() as stack:
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
            targets: dict[str, tuple[Path, Path | str]] = {"sqlite": (world.config, world.db_path)}
            pristine: dict[str, Path | str] = {"sqlite": Path(folder) / "probe.db"}
            shutil.copyfile(world.db_path, pristine["sqlite"])
            if "postgresql" in engines:
                cluster = stack.enter_context(throwaway_cluster())
                dsn = await new_database(cluster, "burst")
                await copy_sqlite_into(world.db_path, dsn)
                probe_dsn = await new_database(cluster, "probe")
                await copy_sqlite_into(world.db_path, probe_dsn)
                pristine["postgresql"] = probe_dsn
                heartbeat = Path(folder) / "postgresql.db"  # the bot writes its heartbeat beside database.path
                targets["postgresql"] = (write_config(Path(folder), world.emu, heartbeat, dsn), dsn)
            ours = {engine: await bot_burst(*targets[engine], world, message, voters, poll_id) for engine in engines}
            bare = Outcome(*await run_one(await start_bare(world.emu), world, message, voters))
            probed = voters[: min(PROBE_VOTES, len(voters))]
            for engine in engines:
                ours[engine].probe = await probe_votes(pristine[engine], poll_id, world.guild.id, probed)
            if "postgresql" in engines:
                print(f"PostgreSQL: SELECT 1 round trip, median of 500 on an idle connection: "
                      f"{await round_trip_us(probe_dsn):.0f} µs")  # fmt: skip
        finally:
            await world.emu.stop()
    return ours, bare


PROBE_VOTES = 100


async def probe_votes(target: Path | str, poll_id: int, guild_id: int, voters: list[int]) -> tuple[RoundTrips, float]:
    """What one click costs the database with nothing else in flight: the cog's reads (the poll, the settings)
    and the vote's transaction, for ``voters`` one after another, on a pristine copy; (counts, seconds a click)."""
    async with await Database.open(target) as db:
        with RoundTrips(type(db), statements_too=True) as trips:
            started = time.perf_counter()
            for n, user in enumerate(voters):
                poll = await polls.get_poll(db, poll_id, guild_id)
                settings = await get_settings(db, poll.guild_id)
                await polls.vote(db, poll.id, user, [n % 3], now=datetime.now(UTC),
                                 points_per_vote=settings.points_poll_vote)  # fmt: skip
            took = (time.perf_counter() - started) / len(voters)
    return trips, took


def show_probe(engine: str, trips: RoundTrips, per_click: float, votes: int) -> None:
    line = (f"{LABEL[engine]}, {votes} votes one at a time: {per_click * 1000:.2f} ms a click, the vote's"
            f" transaction took {trips.batch_seconds / votes * 1000:.2f} ms")  # fmt: skip
    if trips.statements:
        awaited = trips.statement_seconds / trips.statements * 1e6
        line += (f" ({trips.statements / votes:.1f} statements + BEGIN/COMMIT, {trips.reads / votes:.1f} reads"
                 f" before it; {awaited:.0f} µs awaited a statement)")  # fmt: skip
    print(line)


def what_p99(outcome: Outcome, count: int) -> str:
    """The p99 figure's name; when clicks went unanswered it is over those answered, and says how many those were."""
    what = f"p99 time to acknowledge, {count} votes in 1 s"
    if outcome.failures:
        what += f" (of the {len(outcome.times)}/{count} acknowledged within {ACK_LIMIT_S:g} s)"
    return what


def problems_of(name: str, outcome: Outcome, count: int) -> list[str]:
    problems = []
    if outcome.failures or any(t > ACK_LIMIT_S for t in outcome.times):
        problems.append(f"{name}: {outcome.failures} clicks not acknowledged within {ACK_LIMIT_S:g} s")
    votes, distinct, awards = outcome.stored or (0, 0, 0)
    if not votes == distinct == awards == count:
        problems.append(
            f"{name}: votes lost or doubled: {votes} rows, {distinct} voters, {awards} awards for {count} clicks"
        )
    if outcome.errors:
        problems.append(
            f"{name}: the bot logged {len(outcome.errors)} error lines, the first:\n"
            + "\n".join([*outcome.errors[:5], "the first traceback:", *outcome.detail])
        )
    return problems


async def main(quick: bool, engine: str) -> None:
    count = 50 if quick else 500
    engines = ["sqlite"] if engine == "sqlite" else ["sqlite", "postgresql"]
    ours, bare = await measure(engines, count)
    print(f"{count} clicks on one poll within 1 s, bot as its own process, emulator with the 3 s rule")
    print("| client | acknowledged | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|")
    rows = [(f"Collective on {LABEL[e]}", ours[e]) for e in engines] + [("bare discord.py client", bare)]
    for name, outcome in rows:
        times = outcome.times
        print(f"| {name} | {len(times)}/{len(times) + outcome.failures} | {statistics.median(times) * 1000:.0f}"
              f" | {percentile(times, 0.99) * 1000:.0f} | {max(times) * 1000:.0f} |")  # fmt: skip
    problems: list[str] = []
    for e in engines:
        votes, distinct, awards = ours[e].stored or (0, 0, 0)
        print(f"{LABEL[e]}: stored {votes} vote rows, {distinct} voters, {awards} poll points rows"
              f" (expected {count} each)")  # fmt: skip
        problems += problems_of(LABEL[e], ours[e], count)
    for e in engines:
        probe = ours[e].probe
        if probe is not None:
            show_probe(e, probe[0], probe[1], probe[0].batches)
    base99, base50 = percentile(bare.times, 0.99) * 1000, statistics.median(bare.times) * 1000
    bare_what = "bare discord.py client acknowledging"
    target = f"< {TARGET_P99_S * 1000:g} ms"
    if engine == "sqlite":
        p99 = percentile(ours["sqlite"].times, 0.99) * 1000
        emit(Figure("interaction burst", what_p99(ours["sqlite"], count), p99, "ms", base99,
                    bare_what, target, p99 < TARGET_P99_S * 1000))  # fmt: skip
        emit(Figure("interaction burst", "p50 time to acknowledge", statistics.median(ours["sqlite"].times) * 1000,
                    "ms", base50, bare_what))  # fmt: skip
    else:
        scenario, on_sqlite = "interaction burst (PostgreSQL)", "Collective on SQLite (same run)"
        pg, lite = ours["postgresql"].times, ours["sqlite"].times
        p99, lite99 = percentile(pg, 0.99) * 1000, percentile(lite, 0.99) * 1000
        p50, lite50 = statistics.median(pg) * 1000, statistics.median(lite) * 1000
        what99 = what_p99(ours["postgresql"], count)
        emit(Figure(scenario, what99, p99, "ms", base99, bare_what, target, p99 < TARGET_P99_S * 1000))
        emit(Figure(scenario, what99, p99, "ms", lite99, on_sqlite))
        emit(Figure(scenario, "p50 time to acknowledge", p50, "ms", base50, bare_what))
        emit(Figure(scenario, "p50 time to acknowledge", p50, "ms", lite50, on_sqlite))
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it works")
    parser.add_argument(
        "--engine", choices=ENGINES, default="sqlite",
        help="postgresql: the bot on a throwaway PostgreSQL server too, beside SQLite and the bare client",
    )  # fmt: skip
    arguments = parser.parse_args()
    asyncio.run(main(arguments.quick, arguments.engine))
