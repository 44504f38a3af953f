"""Who holds a claim on scheduled work or an outbox row, and for how long: the lease.

A claim (a timer ``running``, a job period ``claimed``, an outbox row ``running``) names its holder — this
process, ``host:pid:random`` — and a ``lease_until``. While the holder lives it renews its leases every third of
the lease (``keep_leases``); a claim whose lease ended belongs to a dead or stuck process, and the servers' owner
takes it over, as a retry (``attempt > 1``, which the handlers that post to Discord make harmless).

When a process starts — or a standby takes over — it holds its servers exclusively: the SQLite file's run lock,
or its shards' advisory locks on PostgreSQL. Every claim on those servers that is not its own is then a dead
process's, so ``release_orphans`` gives it back at once instead of waiting for the lease to end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock, to_db
from bot.db import Database
from bot.sharding import ShardPlan

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: the bot stopped while this ran"


def process_name() -> str:
    """``host:pid:random``: unique across restarts (a pid is reused) and across machines."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Claimant:
    """This process as a holder of claims: its name, its lease, and the servers it owns."""

    holder: str = field(default_factory=process_name)
    lease: timedelta = timedelta(seconds=30)
    plan: ShardPlan = field(default_factory=ShardPlan)

    def lease_until(self, now: datetime) -> str:
        return to_db(now + self.lease)

    def owned(self, column: str = "guild_id") -> str:
        return self.plan.owned_sql(column)

    def owned_runs(self) -> tuple[str, tuple[str]]:
        """The ``job_runs`` rows that are this process's: its servers', and its shard set's process-wide periods
        (guild 0, the period key ending in ``job_scope``). A condition and its one parameter."""
        scope = self.plan.job_scope()
        return (
            f"((guild_id <> 0 AND {self.owned()}) OR (guild_id = 0 AND period_key LIKE ?))",
            (f"%{scope}" if scope else "%",),
        )


async def release_scheduled_orphans(db: Database, claimant: Claimant, now: datetime) -> tuple[int, int]:
    """Give back every timer and job period of owned servers claimed by another process (dead: we hold the
    servers' lock). Returns how many of each; each is retried as attempt > 1."""
    stamp = to_db(now)
    owned = claimant.owned()
    runs_owned, runs_params = claimant.owned_runs()
    async with db.transaction() as tx:
        timers = await tx.execute(
            "UPDATE timers SET status = 'pending', retry_at = ?, claimed_by = NULL, lease_until = NULL,"
            f" last_error = ? WHERE status = 'running' AND COALESCE(claimed_by, '') <> ? AND {owned}",
            (stamp, INTERRUPTED, claimant.holder),
        )
        runs = await tx.execute(
            "UPDATE job_runs SET status = 'failed', retry_at = ?, claimed_by = NULL, lease_until = NULL,"
            f" last_error = ? WHERE status = 'claimed' AND COALESCE(claimed_by, '') <> ? AND {runs_owned}",
            (stamp, INTERRUPTED, claimant.holder, *runs_params),
        )
    if timers or runs:
        log.warning("recovering %d interrupted timer(s) and %d interrupted job run(s)", timers, runs)
    return timers, runs


async def release_outbox_orphans(db: Database, claimant: Claimant) -> int:
    """The same for outbox deliveries: pending again, delivered as attempt > 1."""
    recovered = await db.execute(
        "UPDATE outbox SET status = 'pending', claimed_by = NULL, lease_until = NULL, last_error = ?"
        f" WHERE status = 'running' AND COALESCE(claimed_by, '') <> ? AND {claimant.owned()}",
        (INTERRUPTED, claimant.holder),
    )
    if recovered:
        log.warning("recovering %d interrupted outbox deliveries", recovered)
    return recovered


async def renew_leases(db: Database, claimant: Claimant, now: datetime) -> int:
    """Push this process's leases forward; returns how many claims it holds."""
    until, holder = claimant.lease_until(now), claimant.holder
    async with db.transaction() as tx:
        held = await tx.execute(
            "UPDATE timers SET lease_until = ? WHERE status = 'running' AND claimed_by = ?", (until, holder)
        )
        held += await tx.execute(
            "UPDATE job_runs SET lease_until = ? WHERE status = 'claimed' AND claimed_by = ?", (until, holder)
        )
        held += await tx.execute(
            "UPDATE outbox SET lease_until = ? WHERE status = 'running' AND claimed_by = ?", (until, holder)
        )
    return held


async def keep_leases(db: Database, claimant: Claimant, clock: Clock) -> None:
    """Renew every third of the lease until cancelled, so a long digest is never taken over while it runs."""
    every = claimant.lease.total_seconds() / 3
    while True:
        await asyncio.sleep(every)
        try:
            await renew_leases(db, claimant, clock.now())
        except Exception:
            log.exception("renewing this process's claims failed; they are taken over if this goes on")
