"""Which statements wait on row locks, and behind which, while a load runs: PostgreSQL's own view, sampled.

PostgreSQL's log names the statements of a deadlock, but a wait that ends without one (the other transaction
commits after a second or ten) leaves no trace. ``LockWaits`` polls ``pg_stat_activity`` every 50 ms from its own
connection during a load and keeps, per waiting statement, the longest wait seen and what blocked it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import asyncpg

_WAITING = """
SELECT w.pid, EXTRACT(EPOCH FROM now() - w.query_start) AS waited, left(w.query, 160) AS query,
       (SELECT left(b.query, 160) FROM pg_stat_activity b WHERE b.pid = (pg_blocking_pids(w.pid))[1]) AS blocker
FROM pg_stat_activity w
WHERE w.wait_event_type = 'Lock' AND w.datname = current_database()
"""


@dataclass
class Wait:
    seconds: float
    blocker: str


@dataclass
class LockWaits:
    dsn: str
    interval_s: float = 0.05
    samples: int = 0  # samples that saw at least one statement waiting on a lock
    longest: dict[str, Wait] = field(default_factory=dict)  # waiting statement (whitespace folded) → its longest wait
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LockWaits:
        conn = await asyncpg.connect(self.dsn)
        self._task = asyncio.create_task(self._sample(conn))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sample(self, conn: asyncpg.Connection) -> None:
        try:
            while True:
                rows = await conn.fetch(_WAITING)
                self.samples += bool(rows)
                for row in rows:
                    query = " ".join(str(row["query"]).split())
                    seen = self.longest.get(query)
                    if seen is None or float(row["waited"]) > seen.seconds:
                        self.longest[query] = Wait(float(row["waited"]), " ".join(str(row["blocker"]).split()))
                await asyncio.sleep(self.interval_s)
        finally:
            await conn.close()

    def summary(self, top: int = 3) -> str:
        if not self.longest:
            return "no statement was seen waiting on a lock"
        worst = sorted(self.longest.items(), key=lambda item: -item[1].seconds)[:top]
        lines = [f"statements waiting on a lock in {self.samples} samples ({self.interval_s * 1000:.0f} ms apart);"
                 " the longest waits:"]  # fmt: skip
        lines += [f"  {w.seconds:.2f} s: {q[:110]}\n      behind: {w.blocker[:110]}" for q, w in worst]
        return "\n".join(lines)
