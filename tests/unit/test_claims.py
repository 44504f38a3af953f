"""Several processes over one database: each runs only its servers' scheduled work and outbox rows, never one
timer twice, and takes over what a dead process left claimed once its lease ends (at once when it starts holding
those servers). Each "process" here is its own ``Database`` connection, ``Scheduler`` and ``Outbox`` with its
own holder name, run against the same database — on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.claims import Claimant, release_scheduled_orphans, renew_leases
from bot.clock import FixedClock, SystemClock, to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.outbox import Outbox, OutboxItem
from bot.periods import PeriodWindow, hourly
from bot.scheduler import RecurringJob, RunContext, Scheduler, Timer
from bot.services.program.guild_settings import GuildSettings, ensure_guild
from bot.sharding import ShardPlan, shard_of
from bot.unit_of_work import TimerKind

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
GRACE = timedelta(hours=1)
EVEN = 2 << 22  # on shard 0 of 2
ODD = 3 << 22  # on shard 1 of 2
REMINDER = TimerKind("reminder", "a reminder")
TOPIC = "sale.recorded"
Open = Callable[[], Awaitable[Database]]


@pytest.fixture
async def connect(db_target: Path | str) -> AsyncIterator[Open]:
    """A new connection to the test's database per call: one per simulated process."""
    opened: list[Database] = []

    async def _open() -> Database:
        database = await Database.open(db_target)
        await database.migrate()
        opened.append(database)
        return database

    yield _open
    for database in opened:
        await database.close()


def claimant(name: str, shards: tuple[int, ...] | None = None, count: int | None = None) -> Claimant:
    return Claimant(holder=name, lease=timedelta(seconds=30), plan=ShardPlan(shards, count))


class Process:
    """One process's scheduler, recording what it ran."""

    def __init__(self, db: Database, clock: FixedClock, who: Claimant) -> None:
        self.ran: list[tuple[int, int, int]] = []  # (guild, timer id, attempt)
        self.scheduler = Scheduler(db, clock, grace=GRACE, claimant=who)
        self.scheduler.register_timer(REMINDER, self.on_timer)

    async def on_timer(self, timer: Timer, now: datetime) -> None:
        await asyncio.sleep(0)  # let the other process interleave between claims
        self.ran.append((timer.guild_id, timer.id, timer.attempt))


async def schedule(db: Database, guild_id: int, key: str, due: datetime) -> int:
    async with db.transaction() as tx:
        return await tx.schedule(guild_id, REMINDER, key, due, NOW - timedelta(hours=1))


def test_the_shard_formula_is_discords() -> None:
    assert (shard_of(EVEN, 2), shard_of(ODD, 2)) == (0, 1)
    plan = ShardPlan((1,), 2)
    assert not plan.owns(EVEN) and plan.owns(ODD)
    assert ShardPlan().owns(EVEN) and ShardPlan((0, 1), 2).owns_all


async def test_each_process_runs_only_the_timers_of_its_shards(connect: Open) -> None:
    clock = FixedClock(NOW)
    first, second = await connect(), await connect()
    ids = {guild: [await schedule(first, guild, f"{guild}:{n}", NOW - timedelta(minutes=n)) for n in range(5)]
           for guild in (EVEN, ODD)}  # fmt: skip
    zero = Process(first, clock, claimant("p0", (0,), 2))
    one = Process(second, clock, claimant("p1", (1,), 2))
    await asyncio.gather(zero.scheduler.run_due(NOW), one.scheduler.run_due(NOW))
    assert sorted(timer for guild, timer, _ in zero.ran if guild == EVEN) == sorted(ids[EVEN])
    assert {guild for guild, _, _ in zero.ran} == {EVEN}
    assert sorted(timer for _, timer, _ in one.ran) == sorted(ids[ODD])
    assert {guild for guild, _, _ in one.ran} == {ODD}


async def test_two_processes_claiming_at_once_never_run_a_timer_twice(connect: Open) -> None:
    clock = FixedClock(NOW)
    first, second = await connect(), await connect()
    ids = [await schedule(first, EVEN, f"t{n}", NOW - timedelta(seconds=n)) for n in range(40)]
    a, b = Process(first, clock, claimant("a")), Process(second, clock, claimant("b"))
    await asyncio.gather(a.scheduler.run_due(NOW), b.scheduler.run_due(NOW))
    ran = [timer for _, timer, _ in a.ran + b.ran]
    assert sorted(ran) == sorted(ids)  # every timer, each once
    assert a.ran and b.ran  # both took part: the claims really raced


async def claim_as_dead(db: Database, timer_id: int, lease_until: datetime) -> None:
    await db.execute(
        "UPDATE timers SET status = 'running', attempts = 1, claimed_by = 'gone:1:dead', lease_until = ? WHERE id = ?",
        (to_db(lease_until), timer_id),
    )


async def test_a_dead_processs_timer_is_taken_over_when_its_lease_ends(connect: Open) -> None:
    db = await connect()
    timer_id = await schedule(db, EVEN, "once", NOW - timedelta(minutes=1))
    await claim_as_dead(db, timer_id, NOW + timedelta(seconds=30))
    alive = Process(db, FixedClock(NOW), claimant("alive"))
    await alive.scheduler.run_due(NOW + timedelta(seconds=29))
    assert alive.ran == []  # the lease still runs: its holder may be working on it
    assert await alive.scheduler.next_wakeup(NOW) == NOW + timedelta(seconds=30)  # woken when it ends
    await alive.scheduler.run_due(NOW + timedelta(seconds=31))
    assert alive.ran == [(EVEN, timer_id, 2)]  # a retry: handlers that post look for their post first
    row = await db.fetchone("SELECT status, claimed_by, lease_until FROM timers WHERE id = ?", (timer_id,))
    assert row is not None and (row[0], row[1], row[2]) == ("done", None, None)


async def test_holding_the_servers_takes_their_claims_back_at_once(connect: Open) -> None:
    db = await connect()
    mine = await schedule(db, EVEN, "mine", NOW - timedelta(minutes=1))
    theirs = await schedule(db, ODD, "theirs", NOW - timedelta(minutes=1))
    for timer_id in (mine, theirs):
        await claim_as_dead(db, timer_id, NOW + timedelta(minutes=5))
    # This process holds shard 0's lock: the claim on shard 0's timer is a dead process's; shard 1 is not ours.
    timers, _ = await release_scheduled_orphans(db, claimant("new", (0,), 2), NOW)
    assert timers == 1
    rows = await db.fetchall("SELECT id, status FROM timers WHERE id IN (?, ?)", (mine, theirs))
    statuses = {row[0]: row[1] for row in rows}
    assert statuses == {mine: "pending", theirs: "running"}


def _hourly(_: GuildSettings | None, now: datetime) -> PeriodWindow:
    return hourly(now)


async def test_job_periods_run_once_per_server_across_processes_and_a_dead_claim_is_taken_over(
    connect: Open,
) -> None:
    first, second = await connect(), await connect()
    for guild in (EVEN, ODD):
        await first.perform(ensure_guild, guild, ProgramDefaults(), NOW - timedelta(days=1))
    runs: list[tuple[str, int, int]] = []

    def process(db: Database, who: Claimant) -> Scheduler:
        scheduler = Scheduler(db, FixedClock(NOW), grace=GRACE, claimant=who)

        async def handler(ctx: RunContext) -> None:
            await asyncio.sleep(0)
            runs.append((who.holder, ctx.guild_id, ctx.attempt))

        scheduler.register_job(RecurringJob("tally", _hourly, handler))
        return scheduler

    a, b = process(first, claimant("a")), process(second, claimant("b"))
    await asyncio.gather(a.run_due(NOW), b.run_due(NOW))
    assert sorted(guild for _, guild, _ in runs) == [EVEN, ODD]  # each server's period once, by either process

    # Next hour, "a" claims EVEN's period and dies before finishing.
    later = NOW + timedelta(hours=1)
    await first.execute(
        "INSERT INTO job_runs (guild_id, job, period_key, due_at, status, attempts, claimed_at, claimed_by,"
        " lease_until) VALUES (?, 'tally', ?, ?, 'claimed', 1, ?, 'a-dead', ?)",
        (EVEN, hourly(later).current.key, to_db(later), to_db(later), to_db(later + timedelta(seconds=30))),
    )
    runs.clear()
    await b.run_due(later + timedelta(seconds=10))
    assert runs == [("b", ODD, 1)]  # EVEN's period is still someone's
    await b.run_due(later + timedelta(seconds=40))
    assert runs == [("b", ODD, 1), ("b", EVEN, 2)]


async def test_each_outbox_delivers_only_its_servers_rows(connect: Open) -> None:
    first, second = await connect(), await connect()
    clock = FixedClock(NOW)
    for n, guild in enumerate((EVEN, ODD, EVEN, ODD)):
        async with first.transaction() as tx:
            await tx.emit(guild, TOPIC, NOW, {"n": n}, key=f"sale-{n}")
    got: dict[str, list[int]] = {"p0": [], "p1": []}
    boxes = []
    for db, name, shard in ((first, "p0", 0), (second, "p1", 1)):
        box = Outbox(db, clock, claimant=claimant(name, (shard,), 2))

        async def deliver(item: OutboxItem, name: str = name) -> None:
            got[name].append(item.guild_id)

        box.subscribe(TOPIC, "test", deliver)
        boxes.append(box)
    await asyncio.gather(*(box.deliver_due() for box in boxes))
    assert got == {"p0": [EVEN, EVEN], "p1": [ODD, ODD]}
    assert await first.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'done'") == 4


async def test_an_outbox_row_left_running_by_a_dead_process_is_delivered_after_its_lease(connect: Open) -> None:
    db = await connect()
    async with db.transaction() as tx:
        await tx.emit(EVEN, TOPIC, NOW, {}, key="sale-1")
    await db.execute(
        "UPDATE outbox SET status = 'running', attempts = 1, claimed_by = 'gone', lease_until = ?",
        (to_db(NOW + timedelta(seconds=30)),),
    )
    clock = FixedClock(NOW + timedelta(seconds=10))
    attempts: list[int] = []
    box = Outbox(db, clock, claimant=claimant("alive"))

    async def deliver(item: OutboxItem) -> None:
        attempts.append(item.attempt)

    box.subscribe(TOPIC, "test", deliver)
    assert await box.deliver_due() == 0
    clock.set(NOW + timedelta(seconds=31))
    assert await box.deliver_due() == 1
    assert attempts == [2]


@pytest.mark.timeout(30)
async def test_a_row_written_by_another_process_wakes_the_owner(connect: Open, engine: str) -> None:
    if engine != "postgresql":
        pytest.skip("one SQLite file has one process: its own commits wake it (tested with the outbox)")
    owner, webhook_tier = await connect(), await connect()
    box = Outbox(owner, SystemClock(), claimant=claimant("owner"))
    delivered = asyncio.Event()

    async def deliver(item: OutboxItem) -> None:
        delivered.set()

    box.subscribe(TOPIC, "test", deliver)
    await owner.listen_for_wakes()
    await box.start()
    try:
        await asyncio.sleep(0.2)  # the loop is asleep now, for up to a minute, with nothing due
        async with webhook_tier.transaction() as tx:
            await tx.emit(EVEN, TOPIC, datetime.now(UTC), {}, key="from-elsewhere")
        await asyncio.wait_for(delivered.wait(), 5)  # woken by NOTIFY, not by its next poll
    finally:
        await box.stop()


async def test_a_living_process_renews_its_leases_so_nobody_takes_its_work(connect: Open) -> None:
    db = await connect()
    timer_id = await schedule(db, EVEN, "long", NOW - timedelta(minutes=1))
    slow, other = claimant("slow"), claimant("other")
    await db.execute(
        "UPDATE timers SET status = 'running', attempts = 1, claimed_by = ?, lease_until = ? WHERE id = ?",
        (slow.holder, slow.lease_until(NOW), timer_id),
    )
    assert await renew_leases(db, slow, NOW + timedelta(seconds=20)) == 1
    late = Process(db, FixedClock(NOW), other)
    await late.scheduler.run_due(NOW + timedelta(seconds=40))  # past the first lease, inside the renewed one
    assert late.ran == []
    assert await renew_leases(db, other, NOW + timedelta(seconds=40)) == 0  # renewing never touches others' claims


@pytest.mark.timeout(30)
async def test_a_timer_scheduled_by_another_process_wakes_the_owners_scheduler(connect: Open, engine: str) -> None:
    if engine != "postgresql":
        pytest.skip("one SQLite file has one process: its own commits re-arm it (tested with the scheduler)")
    owner, other = await connect(), await connect()
    ran = asyncio.Event()
    scheduler = Scheduler(owner, SystemClock(), grace=GRACE, claimant=claimant("owner"))

    async def on_timer(timer: Timer, now: datetime) -> None:
        ran.set()

    scheduler.register_timer(REMINDER, on_timer)
    await owner.listen_for_wakes()
    await scheduler.start()  # armed for nothing: only the one-minute sweep would find new work
    try:
        async with other.transaction() as tx:
            await tx.schedule(EVEN, REMINDER, "from-elsewhere", datetime.now(UTC), datetime.now(UTC))
        await asyncio.wait_for(ran.wait(), 10)  # NOTIFY re-armed it for the new timer
    finally:
        await scheduler.shutdown()
