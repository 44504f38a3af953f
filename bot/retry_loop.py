"""A retry pass run at an interval for work the outbox gave up on (a shop down for hours): codes still pending,
reward codes owed, store credit owed. Starts once the scheduler has started, so start-up catch-up runs first; a
failed pass is logged and the next one comes at the interval; ``stop`` on cog unload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

log = logging.getLogger(__name__)


class RetryLoop:
    def __init__(
        self,
        spawn: Callable[..., asyncio.Task[Any]],
        started: asyncio.Event,
        work: Callable[[], Awaitable[object]],
        *,
        every: timedelta,
        name: str,
        what: str,
    ) -> None:
        self._spawn = spawn
        self._started = started
        self._work = work
        self._every = every
        self._name = name
        self._what = what  # for the log line of a failed pass: "retrying pending shop codes"
        self._task: asyncio.Task[Any] | None = None

    def start(self) -> None:
        self._task = self._spawn(self._run(), name=self._name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        await self._started.wait()
        while True:
            await asyncio.sleep(self._every.total_seconds())
            try:
                await self._work()
            except Exception:
                log.exception("%s failed", self._what)
