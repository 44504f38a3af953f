"""Two shard processes over one PostgreSQL under the interaction burst and a webhook burst at once.

    python -m bench.bench_shard_pair            # 500 votes over 20 servers + 2,000 orders (and 200 replays)
    python -m bench.bench_shard_pair --quick    # 50 votes over 4 servers + 200 orders (and 20 replays)

The emulator (in this process) holds the servers, alternating between shards 0 and 1 of 2; a throwaway PostgreSQL
server holds one database per world, each server with its program (bench/programs.py: ambassadors with a vanity
code each and one open poll, whose message with the vote buttons is in the server's channel). Two worlds on the same
emulator, one after the other:

- **one process**: ``python -m bot run`` without ``--shards``, its webhook server on one port;
- **the pair**: ``--shards 0 --shard-count 2`` and ``--shards 1 --shard-count 2`` over the same database, each with
  its own webhook server on its own port.

In each, once every process is ready: a second process fires signed Shopify orders/paid deliveries (50 in flight;
two in three carry an ambassador's code) at ``/webhooks/shopify/<server id>``, split over the processes' ports
regardless of shard (half of them reach the process that does not hold that server, as a shop's address would);
as soon as the first sale is recorded, the ambassadors press the vote buttons, spread evenly over one second and
over the servers of both shards. Checks, or the script exits non-zero: every press acknowledged within 3 s and
exactly once; every vote and its points stored once; every order stored once, each attributed sale and its points
once (replays change nothing), every answer a 200; and each sale's ``sale.recorded`` outbox row ends ``done``,
claimed once and by the process whose shard holds the sale's server (bench/claim_log.py notes every claim).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import claim_log
from bench.botproc import TOKEN, Running
from bench.interaction_bursts import Acks, callbacks_per_interaction, click_burst, percentile
from bench.lock_waits import LockWaits
from bench.postgres import new_database, throwaway_cluster
from bench.programs import POLL_OPTIONS, Program, Wanted, seed_programs
from bench.report import Figure, emit
from bench.shard_fleet import WEBHOOK_SECRET, fleet_config, start_bots, stop_all, wait_all_ready
from bench.split_deliveries import FIRST_ORDER_ID, Delivery, Fired, fire_from_second_process, order_body
from bot.db import Database
from bot.services.sales.ledger import SALE_RECORDED
from emulator import Emulator
from emulator.models import Message
from emulator.postgres_cluster import PostgresCluster
from emulator.shards import shard_of

ACK_LIMIT_S = 3.0
TARGET_P99_MS = 1000.0
OUTBOX_WAIT_S = 60.0


@dataclass(frozen=True)
class Load:
    servers: int
    ambassadors: int  # per server: the voters, and the codes orders carry
    votes: int
    orders: int
    replays: int
    concurrency: int = 50


@dataclass
class Measured:
    """One world's run: the votes' acknowledgements, the deliveries' answers, and what the database holds after."""

    name: str
    processes: int
    startups: list[float]
    acks: Acks
    fired: Fired
    crossed: int  # deliveries sent to a process whose shards do not hold their server
    callbacks: dict[int, int]
    stored: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    first_traceback: list[str] = field(default_factory=list)  # in full: the error lines alone say little
    lock_waits: str = ""  # what waited on row locks during the load, and behind what (bench/lock_waits.py)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post_polls(emu: Emulator, programs: Sequence[Program]) -> dict[int, Message]:
    """Each server's poll message with its vote buttons, as the bot would have posted it: guild id → message."""
    posted = {}
    for program in programs:
        channel_id = emu.state.guild(program.guild_id).system_channel_id
        assert channel_id is not None and program.poll_id is not None
        buttons = [{"type": 2, "style": 1, "label": label, "custom_id": f"collective:poll:vote:{program.poll_id}:{k}"}
                   for k, label in enumerate(POLL_OPTIONS)]  # fmt: skip
        posted[program.guild_id] = emu.state.add_message(
            channel_id, emu.state.bot.id, embeds=[{"title": "🗳️ Which scent next?"}],
            components=[{"type": 1, "components": buttons}],
        )  # fmt: skip
    return posted


async def link_polls(dsn: str, programs: Sequence[Program], posted: dict[int, Message]) -> None:
    async with await Database.open(dsn) as db, db.transaction() as tx:
        for program in programs:
            message = posted[program.guild_id]
            await tx.execute("UPDATE polls SET channel_id = ?, message_id = ? WHERE id = ?",
                             (message.channel_id, message.id, program.poll_id))  # fmt: skip


def deliveries_for(programs: Sequence[Program], ports: Sequence[int], load: Load) -> tuple[list[Delivery], int]:
    """Order n goes to server n mod S, at the port of process (n div S) mod P: each server's orders reach every
    process in turn, so with two processes half of them arrive where the server's shard is not held. Returns the
    deliveries (replays last) and how many orders went to a process not holding their server."""
    out, crossed = [], 0
    for n in range(load.orders):
        program = programs[n % len(programs)]
        code = program.codes[n % load.ambassadors] if n % 3 else "UNKNOWN1"  # two in three carry a code
        process = n // len(programs) % len(ports)
        crossed += shard_of(program.guild_id, len(ports)) != process
        out.append(Delivery(f"http://127.0.0.1:{ports[process]}/webhooks/shopify/{program.guild_id}",
                            order_body(FIRST_ORDER_ID + n, code), f"evt-{n}"))  # fmt: skip
    return out + out[: load.replays], crossed  # the same event ids again: a shop's retries


Click = tuple[int, int, Message, str]  # guild id, user id, the message, the button's custom_id


def vote_clicks(programs: Sequence[Program], posted: dict[int, Message], votes: int) -> list[Click]:
    """``votes`` presses, servers in turn, each by a different ambassador of that server."""
    clicks = []
    for n in range(votes):
        program = programs[n % len(programs)]
        message = posted[program.guild_id]
        custom_id = message.components[0]["components"][n % len(POLL_OPTIONS)]["custom_id"]
        clicks.append((program.guild_id, program.ambassadors[n // len(programs)], message, custom_id))
    return clicks


async def first_sale(processes: Sequence[Running], timeout: float = 30.0) -> None:  # noqa: ASYNC109 a deadline
    """Until some process logged a recorded sale: the webhook burst is under way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any("sale recorded" in line for p in processes for line in p.lines) and loop.time() < deadline:
        await asyncio.sleep(0.01)


async def outbox_settled(dsn: str) -> tuple[int, int]:
    """Wait until no sale.recorded row is pending or running; (rows done, rows not done)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + OUTBOX_WAIT_S
    async with await Database.open(dsn) as db:
        while True:
            open_rows = await db.fetchval("SELECT COUNT(*) FROM outbox WHERE topic = 'sale.recorded'"
                                          " AND status IN ('pending', 'running')")  # fmt: skip
            if not open_rows or loop.time() > deadline:
                break
            await asyncio.sleep(0.2)
        done = await db.fetchval("SELECT COUNT(*) FROM outbox WHERE topic = 'sale.recorded' AND status = 'done'")
        total = await db.fetchval("SELECT COUNT(*) FROM outbox WHERE topic = 'sale.recorded'")
    return int(done), int(total) - int(done)


async def stored(dsn: str) -> dict[str, int]:
    counts = {
        "orders": "SELECT COUNT(*) FROM shop_orders",
        "sales": "SELECT COUNT(*) FROM sales WHERE kind = 'sale'",
        "sale points": "SELECT COUNT(*) FROM points_ledger WHERE reason = 'sale'",
        "votes": "SELECT COUNT(*) FROM poll_votes",
        "voters": "SELECT COUNT(DISTINCT (poll_id, user_id)) FROM poll_votes",
        "vote points": "SELECT COUNT(*) FROM points_ledger WHERE reason = 'poll'",
    }
    async with await Database.open(dsn) as db:
        return {name: int(await db.fetchval(sql)) for name, sql in counts.items()}


def deadlock_reports(server_log: Path) -> list[str]:
    """Each deadlock the server reported: its DETAIL names the statements of the processes involved."""
    lines = server_log.read_text(encoding="utf-8", errors="replace").splitlines()
    reports = []
    for n, line in enumerate(lines):
        if "deadlock detected" in line:
            detail = []
            for follow in lines[n + 1 : n + 12]:
                if "ERROR:" in follow or "LOG:" in follow:
                    break
                detail.append(follow)
            reports.append("\n".join([line, *detail]))
    return reports


def first_traceback(process: Running, lines: int = 40) -> list[str]:
    start = next((n for n, line in enumerate(process.lines) if "Traceback" in line), None)
    return [] if start is None else process.lines[max(0, start - 1) : start + lines]


def claimed(claims: Sequence[claim_log.Claim], pids: Sequence[int]) -> dict[str, int]:
    """Of the sale rows' claims: how many rows the process owning their server claimed (once), how many were claimed
    by another process, and how many more than once (a takeover, or a delivery repeated)."""
    per_row = Counter(c.outbox_id for c in claims)
    wrong = sum(1 for c in claims if c.pid != pids[shard_of(c.guild_id, len(pids))])
    return {"claimed by the owner": len(per_row) - wrong, "claimed by another process": wrong,
            "claimed twice": sum(1 for n in per_row.values() if n > 1)}  # fmt: skip


async def run_world(cluster: PostgresCluster, folder: Path, emu: Emulator, name: str, processes: int,
                    load: Load) -> Measured:  # fmt: skip
    dsn = await new_database(cluster, name)
    async with await Database.open(dsn) as db:
        await db.migrate()
    await claim_log.install(dsn)
    guilds = sorted(emu.state.guilds.values(), key=lambda g: g.id)
    servers = [(g.id, [u for u in g.members if u not in (emu.bot.id, g.owner_id)]) for g in guilds]
    programs = await seed_programs(dsn, servers, Wanted(load.ambassadors, codes=True, poll=True), datetime.now(UTC))
    posted = post_polls(emu, programs)
    await link_polls(dsn, programs, posted)
    ports = [free_port() for _ in range(processes)]
    configs = [fleet_config(folder, emu, dsn, f"{name}-{i}", webhook_port=port) for i, port in enumerate(ports)]
    bots = await start_bots(configs, processes)
    deliveries, crossed = deliveries_for(programs, ports, load)
    try:
        startups = await wait_all_ready(bots, 120.0)
        if processes > 1:
            await emu.wait_until_shards_connected(processes, 30.0)
        await asyncio.sleep(1.0)
        async with LockWaits(dsn) as waits:
            webhooks = asyncio.create_task(asyncio.to_thread(fire_from_second_process, deliveries, WEBHOOK_SECRET,
                                                             load.concurrency))  # fmt: skip
            await first_sale(bots)
            acks = await click_burst(emu, vote_clicks(programs, posted, load.votes))
            fired = await webhooks
        done, not_done = await outbox_settled(dsn)
    finally:
        await stop_all(bots)
    measured = Measured(name, processes, startups, acks, fired, crossed,
                        dict(callbacks_per_interaction(emu, acks.interaction_ids)))  # fmt: skip
    owners = [p.proc.pid for p in bots]
    measured.stored = {**await stored(dsn), "outbox done": done, "outbox not done": not_done,
                       **claimed(await claim_log.claims_of(dsn, SALE_RECORDED), owners)}  # fmt: skip
    measured.errors = [line for p in bots for line in p.errors()]
    measured.lock_waits = waits.summary()
    measured.first_traceback = next((first_traceback(p) for p in bots if first_traceback(p)), [])
    return measured


def problems_of(m: Measured, load: Load) -> list[str]:
    problems = []
    if m.acks.failures or any(t > ACK_LIMIT_S for t in m.acks.times):
        problems.append(f"{m.name}: {m.acks.failures} presses not acknowledged within {ACK_LIMIT_S:g} s")
    not_once = {i: n for i, n in m.callbacks.items() if n != 1}
    if not_once:
        problems.append(f"{m.name}: {len(not_once)} presses not answered exactly once")
    attributed = sum(1 for n in range(load.orders) if n % 3)
    expected = {"orders": load.orders, "sales": attributed, "sale points": attributed, "votes": load.votes,
                "voters": load.votes, "vote points": load.votes, "outbox done": attributed, "outbox not done": 0,
                "claimed by the owner": attributed, "claimed by another process": 0, "claimed twice": 0}  # fmt: skip
    wrong = {k: (m.stored.get(k), v) for k, v in expected.items() if m.stored.get(k) != v}
    if wrong:
        problems.append(f"{m.name}: lost or doubled (stored, expected): {wrong}")
    if m.fired.refused or set(m.fired.statuses) - {200, 500}:
        problems.append(f"{m.name}: webhook answers {dict(m.fired.statuses)}; {m.fired.refused} deliveries never"
                        " accepted")  # fmt: skip
    if m.errors:
        problems.append(f"{m.name}: {len(m.errors)} error lines logged, the first traceback:\n"
                        + "\n".join(m.first_traceback))  # fmt: skip
    return problems


def show(results: Sequence[Measured], load: Load) -> None:
    print(f"\n{load.votes} vote presses in 1 s over {load.servers} servers, during {load.orders:,} orders +"
          f" {load.replays} replays ({load.concurrency} in flight) split over the processes' webhook"
          " servers")  # fmt: skip
    print("| world | processes | ready s | presses acked | p50 ms | p99 ms | max ms | webhooks req/s | webhook p50 ms"
          " | webhook p99 ms | deliveries to the other shard's process |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for m in results:
        times = m.acks.times or [float("nan")]
        print(f"| {m.name} | {m.processes} | {max(m.startups):.2f} | {len(times)}/{len(times) + m.acks.failures}"
              f" | {statistics.median(times) * 1000:.0f} | {percentile(times, 0.99) * 1000:.0f}"
              f" | {max(times) * 1000:.0f} | {m.fired.rate:,.0f} | {m.fired.percentile_ms(0.5):.1f}"
              f" | {m.fired.percentile_ms(0.99):.1f} | {m.crossed:,} |")  # fmt: skip
    for m in results:
        print(f"{m.name}: stored {m.stored}")
        print(f"{m.name}: {m.lock_waits}")
        if m.fired.retried:
            print(f"{m.name}: {m.fired.retried} deliveries answered 500 and were retried as a shop retries"
                  f" (answers {dict(m.fired.statuses)})")  # fmt: skip


def emit_figures(single: Measured, pair: Measured, load: Load) -> None:
    scenario, one = "shard pair (PostgreSQL)", "one process on PostgreSQL, the same load (same run)"
    p99, one99 = percentile(pair.acks.times, 0.99) * 1000, percentile(single.acks.times, 0.99) * 1000
    what = f"p99 time to acknowledge, {load.votes} votes in 1 s over both shards, during the webhook burst"
    if pair.acks.failures or single.acks.failures:  # then over those answered, saying how many (as bench_burst)
        what += (f" (of those acknowledged within {ACK_LIMIT_S:g} s: {len(pair.acks.times)}/{load.votes},"
                 f" one process {len(single.acks.times)}/{load.votes})")  # fmt: skip
    emit(Figure(scenario, what, p99, "ms", one99, one, f"< {TARGET_P99_MS:g} ms", p99 < TARGET_P99_MS))
    emit(Figure(scenario, "p50 time to acknowledge", statistics.median(pair.acks.times) * 1000, "ms",
                statistics.median(single.acks.times) * 1000, one))  # fmt: skip
    emit(Figure(scenario, f"webhook throughput during the votes, {load.concurrency} in flight over both processes",
                pair.fired.rate, "req/s", single.fired.rate, one))  # fmt: skip
    emit(Figure(scenario, "webhook p99 latency during the votes", pair.fired.percentile_ms(0.99), "ms",
                single.fired.percentile_ms(0.99), one))  # fmt: skip


async def main(quick: bool) -> None:
    load = (Load(servers=4, ambassadors=13, votes=50, orders=200, replays=20) if quick
            else Load(servers=20, ambassadors=25, votes=500, orders=2_000, replays=200))  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder, throwaway_cluster() as cluster:
        emu = Emulator(token=TOKEN, ack_timeout=ACK_LIMIT_S, validate=False, recommended_shards=2)
        await emu.start()
        try:
            emu.create_guilds(load.servers, members_each=load.ambassadors + 5)
            single = await run_world(cluster, Path(folder), emu, "single", 1, load)
            pair = await run_world(cluster, Path(folder), emu, "pair", 2, load)
        finally:
            await emu.stop()
        deadlocks = deadlock_reports(cluster.server_log)
    print(f"both worlds in {time.perf_counter() - started:.1f}s")
    problems = problems_of(single, load) + problems_of(pair, load)
    show([single, pair], load)
    if deadlocks:
        print(f"PostgreSQL detected {len(deadlocks)} deadlocks; the first, from its log:\n" + deadlocks[0])
    if not (single.acks.times and pair.acks.times):
        raise SystemExit("FAILED: " + "; ".join(problems))
    emit_figures(single, pair, load)
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it works")
    asyncio.run(main(parser.parse_args().quick))
