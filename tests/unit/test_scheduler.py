"""The durable scheduler: timers survive restarts, job periods run once, grace windows are honoured.

A "restart" is a new Database connection and a new Scheduler over the same file, as after a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock, SystemClock
from bot.config import ProgramDefaults
from bot.db import Database
from bot.periods import PeriodWindow, weekly
from bot.scheduler import RecurringJob, RunContext, Scheduler, Timer
from bot.services.program.guild_settings import GuildSettings, ensure_guild
from bot.unit_of_work import TimerKind

GUILD = 1001
GRACE = timedelta(hours=24)
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
Reopen = Callable[[], Awaitable[Database]]


class Recorder:
    """Stands in for a channel: posts are kept, and a marker can be looked up like post_once does."""

    def __init__(self) -> None:
        self.timer_calls: list[tuple[int, int]] = []
        self.posts: list[str] = []
        self.attempts: list[int] = []

    async def on_timer(self, timer: Timer, now: datetime) -> None:
        self.timer_calls.append((timer.id, timer.attempt))

    async def on_digest(self, ctx: RunContext) -> None:
        self.attempts.append(ctx.attempt)
        if ctx.attempt > 1 and ctx.marker in self.posts:
            return
        self.posts.append(ctx.marker)


def digest_periods(settings: GuildSettings | None, now: datetime) -> PeriodWindow:
    assert settings is not None
    return weekly(now, settings.zone, settings.digest_weekday, settings.digest_time)


REMINDER = TimerKind("reminder", "a reminder")
FLAKY = TimerKind("flaky", "flaky work")


async def schedule(db: Database, clock: FixedClock, kind: TimerKind, key: str, due: datetime) -> int:
    async with db.transaction() as tx:
        return await tx.schedule(GUILD, kind, key, due, clock.now())


def make_scheduler(db: Database, clock: FixedClock, recorder: Recorder) -> Scheduler:
    scheduler = Scheduler(db, clock, grace=GRACE, retry_delay=timedelta(minutes=5))
    scheduler.register_timer(REMINDER, recorder.on_timer)
    scheduler.register_job(RecurringJob("digest", digest_periods, recorder.on_digest))
    return scheduler


@pytest.fixture
async def reopen(tmp_path: Path) -> AsyncIterator[Reopen]:
    """Open (and later close) connections to one database file, as successive bot processes would."""
    opened: list[Database] = []

    async def _open() -> Database:
        database = await Database.open(tmp_path / "sched.db")
        await database.migrate()
        opened.append(database)
        return database

    yield _open
    for database in opened:
        await database.close()


async def _program(db: Database, created: datetime) -> None:
    await db.perform(ensure_guild, GUILD, ProgramDefaults(digest_weekday="monday", digest_time=time(9, 0)), created)


async def test_timer_survives_a_restart(reopen: Reopen, clock: FixedClock) -> None:
    first = await reopen()
    recorder = Recorder()
    due = clock.now() + timedelta(hours=2)
    make_scheduler(first, clock, recorder)
    timer_id = await schedule(first, clock, REMINDER, "brief:1", due)
    await first.close()

    second = await reopen()
    scheduler = make_scheduler(second, clock, recorder)
    assert (await scheduler.start(trigger=False)).ran == []  # not due yet
    assert await scheduler.next_wakeup(clock.now()) == due
    clock.set(due)
    await scheduler.run_due(clock.now())
    await scheduler.run_due(clock.now() + timedelta(minutes=1))
    assert recorder.timer_calls == [(timer_id, 1)]


async def test_scheduling_the_same_key_twice_creates_one_timer(db: Database, clock: FixedClock) -> None:
    make_scheduler(db, clock, Recorder())
    a = await schedule(db, clock, REMINDER, "brief:1", clock.now() + timedelta(hours=1))
    b = await schedule(db, clock, REMINDER, "brief:1", clock.now() + timedelta(hours=5))
    assert a == b
    assert await db.fetchval("SELECT COUNT(*) FROM timers") == 1


async def test_overdue_timer_inside_grace_runs_on_start(reopen: Reopen, clock: FixedClock) -> None:
    db = await reopen()
    recorder = Recorder()
    make_scheduler(db, clock, recorder)
    await schedule(db, clock, REMINDER, "k", clock.now() + timedelta(hours=1))
    clock.advance(timedelta(hours=20))  # the bot was down; 19 h late is inside the 24 h window
    report = await make_scheduler(db, clock, recorder).start(trigger=False)
    assert len(report.ran) == 1 and len(recorder.timer_calls) == 1


async def test_overdue_timer_outside_grace_is_missed(reopen: Reopen, clock: FixedClock) -> None:
    db = await reopen()
    recorder = Recorder()
    make_scheduler(db, clock, recorder)
    await schedule(db, clock, REMINDER, "k", clock.now() + timedelta(hours=1))
    clock.advance(timedelta(hours=30))
    report = await make_scheduler(db, clock, recorder).start(trigger=False)
    assert recorder.timer_calls == [] and len(report.missed) == 1
    assert await db.fetchval("SELECT status FROM timers") == "missed"


async def test_failed_timer_is_retried_then_given_up(db: Database, clock: FixedClock) -> None:
    calls: list[int] = []

    async def flaky(timer: Timer, now: datetime) -> None:
        calls.append(timer.attempt)
        raise RuntimeError("discord is down")

    scheduler = Scheduler(db, clock, grace=GRACE, max_attempts=3, retry_delay=timedelta(minutes=5))
    scheduler.register_timer(FLAKY, flaky)
    await schedule(db, clock, FLAKY, "x", clock.now())
    for _ in range(6):
        await scheduler.run_due(clock.now())
        clock.advance(timedelta(minutes=20))
    assert calls == [1, 2, 3]
    row = await db.fetchone("SELECT status, last_error FROM timers")
    assert row is not None and row["status"] == "failed" and "discord is down" in row["last_error"]


async def test_cancel_and_reschedule(db: Database, clock: FixedClock) -> None:
    recorder = Recorder()
    scheduler = make_scheduler(db, clock, recorder)
    await schedule(db, clock, REMINDER, "a", clock.now() + timedelta(hours=1))
    await schedule(db, clock, REMINDER, "b", clock.now() + timedelta(hours=1))
    async with db.transaction() as tx:
        assert await tx.cancel_timer(GUILD, REMINDER, "a", clock.now())
        assert await tx.reschedule(GUILD, REMINDER, "b", clock.now() + timedelta(hours=3))
    clock.advance(timedelta(hours=2))
    await scheduler.run_due(clock.now())
    assert recorder.timer_calls == []
    clock.advance(timedelta(hours=1))
    await scheduler.run_due(clock.now())
    assert len(recorder.timer_calls) == 1


async def test_recurring_job_runs_once_per_period_across_restart(reopen: Reopen) -> None:
    clock = FixedClock(MONDAY_9 - timedelta(days=3))
    db = await reopen()
    await _program(db, clock.now())
    recorder = Recorder()
    scheduler = make_scheduler(db, clock, recorder)
    await scheduler.start(trigger=False)
    assert recorder.posts == []
    assert await scheduler.next_wakeup(clock.now()) == MONDAY_9

    clock.set(MONDAY_9)
    await scheduler.run_due(clock.now())
    await scheduler.run_due(clock.now() + timedelta(minutes=1))
    await db.close()

    restarted = await reopen()
    clock.set(MONDAY_9 + timedelta(hours=1))
    await make_scheduler(restarted, clock, recorder).start(trigger=False)
    assert recorder.posts == [f"collective:digest:{GUILD}:2026-W48"]

    clock.set(MONDAY_9 + timedelta(days=7))
    await make_scheduler(restarted, clock, recorder).run_due(clock.now())
    assert recorder.posts[-1] == f"collective:digest:{GUILD}:2026-W49" and len(recorder.posts) == 2


async def test_crash_after_claim_does_not_post_twice(reopen: Reopen) -> None:
    clock = FixedClock(MONDAY_9 - timedelta(days=3))
    db = await reopen()
    await _program(db, clock.now())
    recorder = Recorder()

    async def post_then_crash(ctx: RunContext) -> None:
        recorder.posts.append(ctx.marker)
        raise KeyboardInterrupt  # the process dies after posting, before the run is marked done

    scheduler = Scheduler(db, clock, grace=GRACE)
    scheduler.register_job(RecurringJob("digest", digest_periods, post_then_crash))
    clock.set(MONDAY_9)
    with pytest.raises(KeyboardInterrupt):
        await scheduler.run_due(clock.now())
    assert await db.fetchval("SELECT status FROM job_runs") == "claimed"
    await db.close()

    restarted = await reopen()
    clock.set(MONDAY_9 + timedelta(minutes=10))
    await make_scheduler(restarted, clock, recorder).start(trigger=False)
    assert recorder.attempts == [2]  # retried, knowing it is a retry
    assert recorder.posts == [f"collective:digest:{GUILD}:2026-W48"]  # and the marker stopped a second post
    assert await restarted.fetchval("SELECT status FROM job_runs") == "done"


async def test_missed_period_runs_on_startup_inside_grace(reopen: Reopen) -> None:
    clock = FixedClock(MONDAY_9 - timedelta(days=3))
    db = await reopen()
    await _program(db, clock.now())
    recorder = Recorder()
    clock.set(MONDAY_9 + timedelta(hours=23))  # the bot was down at 09:00 and starts 23 h later
    report = await make_scheduler(db, clock, recorder).start(trigger=False)
    assert recorder.posts == [f"collective:digest:{GUILD}:2026-W48"] and len(report.ran) == 1


async def test_missed_period_is_skipped_outside_grace(reopen: Reopen) -> None:
    clock = FixedClock(MONDAY_9 - timedelta(days=3))
    db = await reopen()
    await _program(db, clock.now())
    recorder = Recorder()
    clock.set(MONDAY_9 + timedelta(hours=25))
    report = await make_scheduler(db, clock, recorder).start(trigger=False)
    assert recorder.posts == [] and len(report.missed) == 1
    assert await db.fetchval("SELECT status FROM job_runs") == "missed"
    # The skip is recorded: a later start in the same week does not post it either.
    await make_scheduler(db, clock, recorder).start(trigger=False)
    assert recorder.posts == []


async def test_a_new_program_does_not_catch_up_on_periods_before_it_existed(db: Database) -> None:
    clock = FixedClock(MONDAY_9 + timedelta(hours=2))
    await _program(db, clock.now())  # created on Monday at 11:00, after this week's 09:00 digest
    recorder = Recorder()
    await make_scheduler(db, clock, recorder).start(trigger=False)
    assert recorder.posts == []


async def test_apscheduler_triggers_due_work(db: Database) -> None:
    fired = asyncio.Event()

    async def handler(timer: Timer, now: datetime) -> None:
        fired.set()

    clock = SystemClock()
    scheduler = Scheduler(db, clock, grace=GRACE)
    ping = TimerKind("ping", "a ping")
    scheduler.register_timer(ping, handler)
    await scheduler.start(trigger=True)
    try:
        async with db.transaction() as tx:  # the commit re-arms APScheduler for the earlier due time
            await tx.schedule(GUILD, ping, "soon", clock.now() + timedelta(milliseconds=200), clock.now())
        await asyncio.wait_for(fired.wait(), timeout=10)
    finally:
        await scheduler.shutdown()
    assert await db.fetchval("SELECT status FROM timers") == "done"


async def test_done_work_is_logged_at_info_by_what_moderators_call_it(
    db: Database, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    # The operator's log says what scheduled work ran (issue 15: INFO shows scheduled posts), in plain words.
    scheduler = make_scheduler(db, clock, Recorder())
    await schedule(db, clock, REMINDER, "brief:9", clock.now())
    with caplog.at_level(logging.INFO, logger="bot.scheduler"):
        await scheduler.run_due(clock.now())
    done = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and "done" in r.getMessage()]
    assert len(done) == 1 and done[0].startswith("scheduled work done: a reminder")
