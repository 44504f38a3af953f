"""Run the real bot (``python -m bot run``) or a bare discord.py client as a process against an emulator.

The emulator runs in the benchmark's own process and event loop; the bot is a separate process with a
config whose ``discord.api_base_url``/``gateway_url`` point at it, exactly as an operator would run it.
"Ready" is the line the process logs once it can serve: the bot's "ready: … scheduler started" (after the
gateway's READY, the guild in cache and the durable timers loaded) or the bare client's "ready:".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.generator import Sizes, Summary, generate
from bot.db import Database
from emulator import Emulator, Guild

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"


def make_emulator() -> Emulator:
    # Request validation against the OpenAPI schema is the e2e tests' job; here it would only add the
    # emulator's CPU time (on the same small machine) to every figure, bot and baseline alike.
    return Emulator(token=TOKEN, ack_timeout=3.0, validate=False)


def populate(emu: Emulator, members: int) -> tuple[Guild, list[int]]:
    """A guild with ``members`` people in it (before any client connects, so no dispatches)."""
    guild = emu.state.create_guild(name="Glow Skincare", owner_name="founder")
    users = [emu.state.add_member(guild.id, f"member{n}").id for n in range(members)]
    return guild, users


def write_config(folder: Path, emu: Emulator, db_path: Path, url: str | None = None) -> Path:
    """The bot's config: the SQLite file at ``db_path``, or with ``url`` PostgreSQL (``db_path`` then only places
    the heartbeat file beside it, in the benchmark's folder)."""
    path = folder / ("config.toml" if url is None else "config-postgresql.toml")
    database = f'path = "{db_path}"\n' + (f'url = "{url}"\n' if url is not None else "")
    path.write_text(
        f'[discord]\ntoken = "{TOKEN}"\napi_base_url = "{emu.api_base_url}"\ngateway_url = "{emu.gateway_url}"\n'
        f'[database]\n{database}[logging]\nlevel = "INFO"\n',
        encoding="utf-8",
    )
    return path


@dataclass
class World:
    emu: Emulator
    guild: Guild
    config: Path
    db_path: Path
    summary: Summary


async def prepare(folder: Path, sizes: Sizes) -> World:
    """A started emulator whose guild holds the ambassadors, and a database with their history."""
    emu = make_emulator()
    await emu.start()
    guild, users = populate(emu, sizes.members)
    db_path = folder / "collective.db"
    async with await Database.open(db_path) as db:
        await db.migrate()
    summary = generate(db_path, sizes, now=datetime.now(UTC), user_ids=users, guild_id=guild.id)
    return World(emu, guild, write_config(folder, emu, db_path), db_path, summary)


@dataclass
class Running:
    """A started process whose stderr is drained (and remembered) in the background."""

    proc: asyncio.subprocess.Process
    started: float  # perf_counter just before the exec
    lines: list[str] = field(default_factory=list)
    ready_at: float | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _drain: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self.lines.append(text)
            if self.ready_at is None and "ready:" in text:
                self.ready_at = time.perf_counter()
                self._ready.set()
        self._ready.set()  # the process ended: wake the waiter

    async def wait_ready(self, timeout: float = 120) -> float:  # noqa: ASYNC109 a deadline, not a sleep
        """Seconds from process start to its "ready" line."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)
        if self.ready_at is None:
            tail = "\n".join(self.lines[-20:])
            raise RuntimeError(f"process did not become ready within {timeout}s:\n{tail}")
        return self.ready_at - self.started

    def errors(self) -> list[str]:
        return [line for line in self.lines if " ERROR " in line or "Traceback" in line]

    def rss_mb(self) -> float:
        """Resident set size from /proc (Linux), in MB."""
        return self._status_mb("VmRSS")

    def peak_mb(self) -> float:
        """The most the process has held resident so far (VmHWM), in MB: start-up's peak, which RSS no longer shows."""
        return self._status_mb("VmHWM")

    def cpu_seconds(self) -> float:
        """CPU time the process has used so far (user + system, from /proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15

    def _status_mb(self, key: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"{key} not found")

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)  # the bot's own Ctrl-C path: close the gateway and the database
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._drain is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain


async def _start(*args: str) -> Running:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=REPO, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    running = Running(proc, started)
    running._drain = asyncio.create_task(running._read())
    return running


async def start_bot(config: Path, *options: str) -> Running:
    """``options`` go after ``run``'s own, e.g. ``--shards 0 --shard-count 4``."""
    return await _start("-m", "bot", "run", "--config", str(config), *options)


async def start_bare(emu: Emulator, *options: str) -> Running:
    """``options``: bench/bare_client.py's, e.g. ``--shards 0 --shard-count 4``."""
    return await _start("-m", "bench.bare_client", emu.api_base_url, emu.gateway_url, TOKEN, *options)
