"""Durable timers and once-per-period jobs.

The ``timers`` and ``job_runs`` tables are the truth; APScheduler only wakes us when the earliest piece
of work is due (plus a one-minute sweep as a safety net). Every wake-up calls ``run_due(now)``, which
selects due work from the database, so a restart loses nothing: ``start()`` simply runs what is overdue
(inside the grace window; older work is marked missed and logged) and arms the next wake-up.

Exactly once: a timer is claimed by flipping ``pending`` → ``running`` and a job period by inserting its
``job_runs`` row; only the claimer runs it. Several processes (shards over one PostgreSQL) each run only their
servers' work, and claim the next due timer with ``FOR UPDATE SKIP LOCKED``, so two never take one. A claim
names its holder and a lease (``bot/claims.py``); a crash between claim and finish leaves the row claimed, and
the next owner of those servers takes it back — at once when it starts holding them, else when the lease ends —
and retries it with ``attempt > 1``. Handlers that post to Discord look for the post they would make among the
bot's recent messages before posting again (``bot/posting.py``), so a retry never doubles a post.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.claims import Claimant, release_scheduled_orphans
from bot.clock import Clock, ensure_utc, from_db, to_db
from bot.db import Database, Wake
from bot.periods import Period, PeriodWindow
from bot.services.program.guild_settings import GuildSettings, all_settings
from bot.storage.dialect import skip_locked
from bot.unit_of_work import TimerKind, UnitOfWork

log = logging.getLogger(__name__)

PROCESS_WIDE = 0  # guild_id used for jobs that are not about one server (backups)


@dataclass(frozen=True)
class Timer:
    id: int
    guild_id: int
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any]
    attempt: int

    @property
    def marker(self) -> str:
        """Names this timer in logs; never put in a message (members must not see internal ids)."""
        return f"collective:timer:{self.id}"


@dataclass(frozen=True)
class RunContext:
    guild_id: int
    job: str
    period: Period
    attempt: int
    now: datetime
    settings: GuildSettings | None

    @property
    def marker(self) -> str:
        """Names this run in logs; never put in a message (members must not see internal ids)."""
        return f"collective:{self.job}:{self.guild_id}:{self.period.key}"


@dataclass(frozen=True)
class Failure:
    """Scheduled work that raised: for whom, what (timer kind or job name), and when it is tried again."""

    guild_id: int
    kind: str
    label: str
    error: Exception
    attempt: int
    retry_at: datetime | None  # None: this was the last attempt


TimerHandler = Callable[[Timer, datetime], Awaitable[None]]
JobHandler = Callable[[RunContext], Awaitable[None]]
FailureHandler = Callable[[Failure], Awaitable[None]]


@dataclass(frozen=True)
class RecurringJob:
    name: str
    periods: Callable[[GuildSettings | None, datetime], PeriodWindow]
    handler: JobHandler
    per_guild: bool = True
    label: str = ""  # what moderators read when it fails ("the weekly digest")


@dataclass
class RunReport:
    ran: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Scheduler:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        grace: timedelta,
        max_attempts: int = 3,
        retry_delay: timedelta = timedelta(minutes=1),
        claimant: Claimant | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self.claimant = claimant or Claimant()
        self.grace = grace
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._timer_handlers: dict[str, TimerHandler] = {}
        self._kinds: dict[str, TimerKind] = {}
        self._arming: set[asyncio.Task[None]] = set()
        self._arm_again = False
        self._jobs: dict[str, RecurringJob] = {}
        self._run_lock = asyncio.Lock()
        self._aps: AsyncIOScheduler | None = None
        # Told about every failed attempt (e.g. to tell moderators Discord refused a post); never raises.
        self.on_failure: FailureHandler | None = None
        db.commit_listeners.append(self._on_commit)
        db.wake_listeners.append(self._on_wake)

    # -- registration ----------------------------------------------------------------------------------

    def register_timer(self, kind: TimerKind, handler: TimerHandler) -> None:
        """Run ``handler`` for due timers of ``kind``; ``unregister_timer`` on unload so the owner can reload."""
        if kind.name in self._timer_handlers:
            raise ValueError(f"timer kind {kind.name!r} registered twice")
        self._timer_handlers[kind.name] = handler
        self._kinds[kind.name] = kind

    def unregister_timer(self, kind: TimerKind) -> None:
        self._timer_handlers.pop(kind.name, None)
        self._kinds.pop(kind.name, None)

    def register_job(self, job: RecurringJob) -> None:
        if job.name in self._jobs:
            raise ValueError(f"job {job.name!r} registered twice")
        self._jobs[job.name] = job

    def unregister_job(self, name: str) -> None:
        self._jobs.pop(name, None)

    def label(self, kind: str) -> str:
        """What moderators read for a timer kind or a job name ("a scheduled drop")."""
        if kind in self._kinds:
            return self._kinds[kind].label
        job = self._jobs.get(kind)
        return job.label if job is not None and job.label else kind

    def _on_commit(self, uow: UnitOfWork | None) -> None:
        # A unit of work scheduled or moved a timer: re-arm so an earlier due time is not slept through.
        if uow is not None and uow.timers_changed and self._aps is not None:
            self._rearm()

    def _on_wake(self, what: Wake) -> None:
        # Another process scheduled or moved a timer that may be ours (PostgreSQL's NOTIFY).
        if what == "timers" and self._aps is not None:
            self._rearm()

    def _rearm(self) -> None:
        """Arm again, once for any number of commits meanwhile: a burst of commits across a fleet must not
        become a burst of wake-up queries in every process."""
        self._arm_again = True
        if self._arming:
            return
        task = asyncio.create_task(self._arm_while_asked(), name="scheduler-arm")
        self._arming.add(task)
        task.add_done_callback(self._arming.discard)

    async def _arm_while_asked(self) -> None:
        while self._arm_again:
            self._arm_again = False
            await self._arm()

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self, *, trigger: bool = True) -> RunReport:
        """Recover interrupted work, run what is overdue, then (``trigger``) arm APScheduler."""
        await release_scheduled_orphans(self._db, self.claimant, self._clock.now())
        report = await self.run_due(self._clock.now())
        if trigger:
            self._aps = AsyncIOScheduler(timezone="UTC")
            self._aps.add_job(self._wake, IntervalTrigger(seconds=60), id="sweep", coalesce=True, max_instances=1)
            self._aps.start()
            await self._arm()
        return report

    async def shutdown(self) -> None:
        # Take the run lock first: APScheduler cancels in-flight jobs on shutdown, and a pass already
        # under way must finish marking its work done.
        async with self._run_lock:
            if self._aps is not None:
                self._aps.shutdown(wait=False)
                self._aps = None
        # A re-arm asked for by a late commit would query a database about to close: it has nothing left to arm.
        arming = list(self._arming)
        for task in arming:
            task.cancel()
        await asyncio.gather(*arming, return_exceptions=True)

    async def _wake(self) -> None:
        if self._run_lock.locked():
            return  # a pass is under way and re-arms when it ends; don't queue behind it
        try:
            await self.run_due(self._clock.now())
        except Exception:
            log.exception("scheduler wake-up failed")

    async def _arm(self) -> None:
        if self._aps is None:
            return
        now = self._clock.now()
        wake_at = await self.next_wakeup(now)
        if wake_at is None:
            return
        # APScheduler runs on the real clock; arm by the delay on ours, so a clock that is not the
        # system's (the demo's, a test's) never hands APScheduler a past time to fire over and over.
        run_at = datetime.now(UTC) + max(wake_at - now, timedelta(0))
        self._aps.add_job(
            self._wake,
            DateTrigger(run_date=run_at),
            id="wake",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    # -- running ---------------------------------------------------------------------------------------

    async def run_due(self, now: datetime) -> RunReport:
        """Run every timer and job period due at ``now``. Safe to call at any time, any number of times."""
        now = ensure_utc(now)
        report = RunReport()
        async with self._run_lock:
            await self._run_timers(now, report)
            await self._run_jobs(now, report)
        await self._arm()
        return report

    async def _run_timers(self, now: datetime, report: RunReport) -> None:
        owned = self.claimant.owned()
        overdue = await self._db.fetchall(
            f"SELECT id, kind, key, due_at FROM timers WHERE status = 'pending' AND {owned}"
            " AND COALESCE(retry_at, due_at) < ? ORDER BY id",
            (to_db(now - self.grace),),
        )
        for row in overdue:
            label = f"timer {row['id']} ({row['kind']}:{row['key']})"
            if await self._db.execute(
                "UPDATE timers SET status = 'missed', finished_at = ? WHERE id = ? AND status = 'pending'",
                (to_db(now), row["id"]),
            ):
                log.warning("%s was due %s, outside the grace window: marked missed", label, row["due_at"])
                report.missed.append(label)
        while (row := await self._claim_timer(now)) is not None:
            label = f"timer {row['id']} ({row['kind']}:{row['key']})"
            timer = Timer(
                id=row["id"],
                guild_id=row["guild_id"],
                kind=row["kind"],
                key=row["key"],
                due_at=from_db(row["due_at"]),
                payload=json.loads(row["payload"]),
                attempt=row["attempts"],
            )
            handler = self._timer_handlers.get(timer.kind)
            try:
                if handler is None:
                    raise LookupError(f"no handler registered for timer kind {timer.kind!r}")
                await handler(timer, now)
            except Exception as exc:
                await self._timer_failed(timer, now, exc, label, report)
            else:
                await self._db.execute(
                    "UPDATE timers SET status = 'done', finished_at = ?, last_error = NULL, claimed_by = NULL,"
                    " lease_until = NULL WHERE id = ?",
                    (to_db(now), timer.id),
                )
                report.ran.append(label)
                log.info("scheduled work done: %s (%s)", self.label(timer.kind), label)

    async def _claim_timer(self, now: datetime) -> Any:
        """Claim the earliest due timer of an owned server — pending, or running under a lease that ended in
        another process — and return its row with ``attempts`` counting this attempt; None when none is due.
        A row another process is claiming this instant is skipped, not waited for."""
        stamp = to_db(now)
        async with self._db.transaction() as tx:
            return await tx.fetchone(
                f"""UPDATE timers SET status = 'running', attempts = attempts + 1, claimed_by = ?, lease_until = ?
                    WHERE id = (
                        SELECT id FROM timers
                        WHERE {self.claimant.owned()}
                          AND ((status = 'pending' AND COALESCE(retry_at, due_at) <= ?)
                               OR (status = 'running' AND lease_until < ? AND COALESCE(claimed_by, '') <> ?))
                        ORDER BY COALESCE(retry_at, due_at), id LIMIT 1{skip_locked(tx)})
                    RETURNING *""",
                (self.claimant.holder, self.claimant.lease_until(now), stamp, stamp, self.claimant.holder),
            )

    async def _timer_failed(self, timer: Timer, now: datetime, exc: Exception, label: str, report: RunReport) -> None:
        log.error("%s failed (attempt %d)", label, timer.attempt, exc_info=exc)
        retry_at: datetime | None = None
        if timer.attempt >= self._max_attempts:
            await self._db.execute(
                "UPDATE timers SET status = 'failed', finished_at = ?, last_error = ?, claimed_by = NULL,"
                " lease_until = NULL WHERE id = ?",
                (to_db(now), repr(exc)[:500], timer.id),
            )
        else:
            retry_at = now + self._retry_delay * timer.attempt
            await self._db.execute(
                "UPDATE timers SET status = 'pending', retry_at = ?, last_error = ?, claimed_by = NULL,"
                " lease_until = NULL WHERE id = ?",
                (to_db(retry_at), repr(exc)[:500], timer.id),
            )
        report.failed.append(label)
        await self._report(Failure(timer.guild_id, timer.kind, label, exc, timer.attempt, retry_at))

    async def _report(self, failure: Failure) -> None:
        if self.on_failure is None:
            return
        try:
            await self.on_failure(failure)
        except Exception:
            log.exception("reporting the failure of %s failed", failure.label)

    async def _targets(self) -> list[tuple[RecurringJob, int, GuildSettings | None]]:
        guilds = await all_settings(self._db)
        targets: list[tuple[RecurringJob, int, GuildSettings | None]] = []
        plan = self.claimant.plan
        owned = [settings for settings in guilds if plan.owns(settings.guild_id)]
        for job in self._jobs.values():
            if job.per_guild:
                targets.extend((job, settings.guild_id, settings) for settings in owned)
            else:
                targets.append((job, PROCESS_WIDE, None))
        return targets

    async def _run_jobs(self, now: datetime, report: RunReport) -> None:
        for job, guild_id, settings in await self._targets():
            period = job.periods(settings, now).current
            if settings is not None and period.due_at < settings.created_at:
                continue  # the program did not exist yet at that time: nothing to catch up on
            # A process-wide job's period is claimed once per set of shards: each process for its servers.
            key = period.key if job.per_guild else period.key + self.claimant.plan.job_scope()
            label = f"{job.name} {key} (guild {guild_id})"
            row = await self._db.fetchone(
                "SELECT status, attempts, retry_at, claimed_by, lease_until FROM job_runs"
                " WHERE guild_id = ? AND job = ? AND period_key = ?",
                (guild_id, job.name, key),
            )
            if row is not None and row["status"] == "claimed" and self._lease_ended(row, now):
                pass  # its holder stopped renewing: taken over below
            elif row is not None and row["status"] in ("done", "missed", "claimed"):
                continue
            if row is not None and row["attempts"] >= self._max_attempts:
                continue  # failed for good; the error is logged and kept in the row
            if now - period.due_at > self.grace:
                await self._db.execute(
                    """INSERT INTO job_runs (guild_id, job, period_key, due_at, status, attempts, claimed_at)
                       VALUES (?, ?, ?, ?, 'missed', 0, ?)
                       ON CONFLICT (guild_id, job, period_key) DO UPDATE SET status = 'missed'""",
                    (guild_id, job.name, key, to_db(period.due_at), to_db(now)),
                )
                log.warning("skipped %s: due %s, outside the grace window", label, period.due_at.isoformat())
                report.missed.append(label)
                continue
            if row is not None and row["status"] == "failed" and from_db(row["retry_at"]) > now:
                continue
            attempt = await self._claim(guild_id, job.name, key, period.due_at, now)
            if attempt is None:
                continue
            ctx = RunContext(guild_id, job.name, period, attempt, now, settings)
            try:
                await job.handler(ctx)
            except Exception as exc:
                log.error("%s failed (attempt %d)", label, attempt, exc_info=exc)
                await self._db.execute(
                    "UPDATE job_runs SET status = 'failed', finished_at = ?, retry_at = ?, last_error = ?,"
                    " claimed_by = NULL, lease_until = NULL WHERE guild_id = ? AND job = ? AND period_key = ?",
                    (
                        to_db(now),
                        to_db(now + self._retry_delay * attempt),
                        repr(exc)[:500],
                        guild_id,
                        job.name,
                        key,
                    ),
                )
                report.failed.append(label)
                retry_at = now + self._retry_delay * attempt if attempt < self._max_attempts else None
                await self._report(Failure(guild_id, job.name, label, exc, attempt, retry_at))
            else:
                await self._db.execute(
                    "UPDATE job_runs SET status = 'done', finished_at = ?, last_error = NULL, claimed_by = NULL,"
                    " lease_until = NULL WHERE guild_id = ? AND job = ? AND period_key = ?",
                    (to_db(now), guild_id, job.name, key),
                )
                report.ran.append(label)
                log.info("scheduled work done: %s (%s)", self.label(job.name), label)

    def _lease_ended(self, row: Any, now: datetime) -> bool:
        """A claim held by another process that stopped renewing it (a dead process's, or a stuck one's)."""
        ended = row["lease_until"] is not None and from_db(row["lease_until"]) < now
        return ended and row["claimed_by"] != self.claimant.holder

    async def _claim(self, guild_id: int, job: str, key: str, due_at: datetime, now: datetime) -> int | None:
        """Insert the period's run row, or take over a failed one or one whose lease ended. Returns the attempt
        number, or None when another process holds it."""
        holder, until, stamp = self.claimant.holder, self.claimant.lease_until(now), to_db(now)
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                """INSERT INTO job_runs
                       (guild_id, job, period_key, due_at, status, attempts, claimed_at, claimed_by, lease_until)
                   VALUES (?, ?, ?, ?, 'claimed', 1, ?, ?, ?)
                   ON CONFLICT (guild_id, job, period_key) DO UPDATE
                       SET status = 'claimed', attempts = job_runs.attempts + 1, claimed_at = excluded.claimed_at,
                           retry_at = NULL, claimed_by = excluded.claimed_by, lease_until = excluded.lease_until
                       WHERE (job_runs.status = 'failed' AND job_runs.attempts < ?)
                          OR (job_runs.status = 'claimed' AND job_runs.lease_until < ?
                              AND COALESCE(job_runs.claimed_by, '') <> ?)
                   RETURNING attempts""",
                (guild_id, job, key, to_db(due_at), stamp, holder, until, self._max_attempts, stamp, holder),
            )
        return None if row is None else int(row[0])

    async def next_wakeup(self, now: datetime) -> datetime | None:
        """The earliest moment some timer or job period becomes due (``now`` if something is due)."""
        candidates: list[datetime] = []
        owned = self.claimant.owned()
        runs, runs_params = self.claimant.owned_runs()
        for sql, params in (
            (f"SELECT MIN(COALESCE(retry_at, due_at)) FROM timers WHERE status = 'pending' AND {owned}", ()),
            # A claim left by another process is taken over when its lease ends.
            (f"SELECT MIN(lease_until) FROM timers WHERE status = 'running' AND claimed_by <> ? AND {owned}",
             (self.claimant.holder,)),
            (f"SELECT MIN(retry_at) FROM job_runs WHERE status = 'failed' AND attempts < ? AND {runs}",
             (self._max_attempts, *runs_params)),
            (f"SELECT MIN(lease_until) FROM job_runs WHERE status = 'claimed' AND claimed_by <> ? AND {runs}",
             (self.claimant.holder, *runs_params)),
        ):  # fmt: skip
            value = await self._db.fetchval(sql, params)
            if value is not None:
                candidates.append(from_db(value))
        for job, _guild_id, settings in await self._targets():
            candidates.append(job.periods(settings, now).following.due_at)
        return max(min(candidates), now) if candidates else None
