"""What ``collective run`` does around the bot: wait for Discord, stop cleanly on a signal, and a heartbeat file
that ``collective health`` reads (a container's HEALTHCHECK, with or without the webhook server)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import aiohttp

log = logging.getLogger("collective")

FIRST_RETRY = 1.0  # seconds; doubles per attempt up to MAX_RETRY
MAX_RETRY = 60.0
PROBE_TIMEOUT = 10.0  # seconds for one reachability check
HEARTBEAT_EVERY = 15.0  # seconds
HEARTBEAT_STALE = 60.0  # older than this: the event loop is stuck or the process is gone


class StopSignals:
    """SIGTERM (docker stop, systemd) and SIGINT (Ctrl-C) ask for a clean stop instead of killing the process."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.name: str | None = None
        self._on_stop: Callable[[], Coroutine[Any, Any, Any]] | None = None
        self._task: asyncio.Task[Any] | None = None

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopSignals]:
        loop = asyncio.get_running_loop()
        for sig in self.SIGNALS:
            loop.add_signal_handler(sig, self._received, sig)
        try:
            yield self
        finally:
            for sig in self.SIGNALS:
                loop.remove_signal_handler(sig)

    def on_stop(self, stop: Callable[[], Coroutine[Any, Any, Any]] | None) -> None:
        """What to run when a signal arrives (the bot's close); runs at once if one already arrived."""
        self._on_stop = stop
        if stop is not None and self.requested.is_set() and self._task is None:
            self._task = asyncio.create_task(stop(), name="clean-stop")

    def _received(self, sig: signal.Signals) -> None:
        if self.requested.is_set():
            return  # a second Ctrl-C while stopping: the first stop is already under way
        self.name = sig.name
        self.requested.set()
        if self._on_stop is not None:
            self._task = asyncio.create_task(self._on_stop(), name="clean-stop")

    async def finished(self) -> None:
        """Wait for the stop begun by a signal (its errors are the caller's to log)."""
        if self._task is not None:
            await self._task

    async def sleep(self, seconds: float) -> bool:
        """Sleep, or return True early when a stop was asked for."""
        try:
            await asyncio.wait_for(self.requested.wait(), seconds)
        except TimeoutError:
            return False
        return True


def _why(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def discord_problem(api_base_url: str) -> str | None:
    """None when Discord's REST API answers at all; else why not (one line). Unauthenticated: no token is sent."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT)) as session,
            session.get(f"{api_base_url}/gateway") as response,
        ):
            if response.status >= 500:
                return f"HTTP {response.status}"
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return _why(exc)
    return None


async def wait_for_discord(
    api_base_url: str,
    stop: StopSignals,
    *,
    first: float = FIRST_RETRY,
    probe: Callable[[str], Awaitable[str | None]] = discord_problem,
) -> bool:
    """Until Discord answers, one log line per attempt and a growing pause; False if a stop came first.

    A supervisor need not restart the bot for a network outage at boot, and the log stays one line per try."""
    delay, attempt = first, 0
    while not stop.requested.is_set():
        attempt += 1
        problem = await probe(api_base_url)
        if problem is None:
            if attempt > 1:
                log.info("Discord reachable again after %d attempt(s)", attempt)
            return True
        log.warning("Discord unreachable at %s (%s); attempt %d, next in %.0f s", api_base_url, problem, attempt, delay)
        if await stop.sleep(delay):
            break
        delay = min(delay * 2, MAX_RETRY)
    return False


# -- heartbeat ---------------------------------------------------------------------------------------------


def health_path(db_path: Path, role: str = "") -> Path:
    """Beside the database file; ``role`` (e.g. ``shards-0-3-of-8``) keeps several processes' files apart."""
    return db_path.with_name(f"{db_path.name}.{role}.health" if role else f"{db_path.name}.health")


def write_heartbeat(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({**state, "pid": os.getpid(), "at": time.time()}), encoding="utf-8")
    tmp.replace(path)  # atomic: a reader never sees half a file


async def heartbeat(path: Path, state: Callable[[], dict[str, Any]], every: float = HEARTBEAT_EVERY) -> None:
    """Written by the event loop itself, so a stale file means the loop (or the process) stopped."""
    while True:
        try:
            await asyncio.to_thread(write_heartbeat, path, state())
        except OSError as exc:
            log.warning("could not write the health file %s: %s", path, exc)
        await asyncio.sleep(every)


def check_health(path: Path, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one line) from the heartbeat file of the bot running on this database."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False, f"unhealthy: no heartbeat at {path} (is `collective run` running on this database?)"
    except (OSError, ValueError) as exc:
        return False, f"unhealthy: cannot read {path}: {exc}"
    age = (time.time() if now is None else now) - float(state.get("at", 0))
    discord_state = state.get("discord", "unknown")
    if age > HEARTBEAT_STALE:
        return False, f"unhealthy: last heartbeat {age:.0f} s ago (pid {state.get('pid')})"
    return True, f"healthy: pid {state.get('pid')}, Discord {discord_state}, heartbeat {age:.0f} s ago"
