"""The bot as an operator runs it — ``python -m bot run --config …`` in its own process — against the emulator
running in the test's event loop, so a test can SIGKILL it at a chosen moment and start it again.

Also: waiting with deadlines (never fixed sleeps), and sync reads of a SQLite file (``query``, ``scalar``); a
database on either engine is read with ``StoreReader`` and checked with ``consistency.assert_consistent``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from bot.db import is_postgres_url
from emulator import Emulator
from tests.conftest import ROOT
from tests.e2e.conftest import TOKEN

SECRET = "crash-test-shopify-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until(
    check: Callable[[], bool | Awaitable[bool]], what: str, *, limit: float = 20.0, every: float = 0.01
) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {limit}s waiting for {what}")
        await asyncio.sleep(every)


def query(db_path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    """A short-lived reader from outside the bot's process (WAL lets it read while the bot writes)."""
    conn = sqlite3.connect(db_path, timeout=5)
    try:
        return list(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


def scalar(db_path: Path, sql: str, params: tuple[object, ...] = ()) -> Any:
    rows = query(db_path, sql, params)
    return rows[0][0] if rows else None


class BotProcess:
    """One bot process and its config; ``start`` / ``kill`` / ``start`` as often as a test likes.

    ``database`` is a SQLite file (default: ``collective.db`` in ``folder``) or a PostgreSQL address, which several
    processes may share: give each its own ``name`` (its config, log and heartbeat files in ``folder``) and its
    ``args`` for ``run`` (``--standby``, ``--shards 0 --shard-count 2``). ``command`` ``webhooks`` runs the webhook
    server alone (the webhook tier: no gateway, so start it with ``wait=False``).
    """

    def __init__(
        self,
        emu: Emulator,
        folder: Path,
        *,
        webhooks: bool = False,
        extra_config: str = "",
        database: Path | str | None = None,
        name: str = "bot",
        args: Sequence[str] = (),
        command: str = "run",
    ) -> None:
        self.emu = emu
        self.name = name
        self.command = command
        self.target: Path | str = database if database is not None else folder / "collective.db"
        self.config_path = folder / f"{name}.toml"
        self.log_path = folder / f"{name}.log"
        self.args = list(args)
        self.webhook_port = free_port() if webhooks else None
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._log_offset = 0  # where the current start's lines begin in the log
        hooks = (
            f'[webhooks]\nenabled = true\nhost = "127.0.0.1"\nport = {self.webhook_port}\nshopify_secret = "{SECRET}"\n'
            if webhooks
            else ""
        )
        if is_postgres_url(self.target):
            # The data lives in PostgreSQL; `path` only places this process's heartbeat file, one per process.
            store = f'path = "{folder / name}.db"\nurl = "{self.target}"\n'
        else:
            store = f'path = "{self.target}"\n'
        self.config_path.write_text(
            f'[discord]\napi_base_url = "{emu.api_base_url}"\ngateway_url = "{emu.gateway_url}"\n'
            f'[database]\n{store}{hooks}[logging]\nlevel = "INFO"\n{extra_config}',
            encoding="utf-8",
        )

    @property
    def db_path(self) -> Path:
        """The SQLite file (the sync ``query``/``scalar`` read it); a PostgreSQL bot is read with ``StoreReader``."""
        assert isinstance(self.target, Path), f"{self.name} runs on PostgreSQL: read it with StoreReader"
        return self.target

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self, *, wait: bool = True) -> None:
        """Spawn the bot; with ``wait``, until it identified on the gateway and the burst of guilds went out."""
        assert not self.running, "already running"
        env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN" and not k.startswith("COLLECTIVE_")}
        env.update(DISCORD_TOKEN=TOKEN, PYTHONPATH=str(ROOT))
        self.identified_before = self.emu.gateway.identify_count
        self.starts += 1
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"\n===== start {self.starts} =====\n")
            log.flush()
            self._log_offset = self.log_path.stat().st_size
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", self.command, "--config", str(self.config_path), *self.args,
                cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        if wait:
            await self.wait_connected()

    async def wait_connected(self, limit: float = 30.0) -> None:
        gateway = self.emu.gateway

        def connected() -> bool:
            if not self.running:
                raise AssertionError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            return gateway.identify_count > self.identified_before and gateway.ready.is_set() and gateway.connected

        await until(connected, f"{self.name} to connect to the emulator", limit=limit)

    def logged(self, text: str) -> bool:
        """Whether the current start's log holds ``text`` (earlier starts' lines do not count)."""
        if not self.log_path.exists():
            return False
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return text in log.read().decode("utf-8", errors="replace")

    async def wait_logged(self, text: str, what: str, limit: float = 30.0) -> None:
        """Until the current start logs ``text``; fails at once, with the log, if the process exits first."""

        def seen() -> bool:
            if self.logged(text):
                return True
            if not self.running:
                raise AssertionError(f"{self.name} exited before {what}:\n{self.log_tail()}")
            return False

        await until(seen, what, limit=limit)

    def pause(self) -> None:
        """SIGSTOP: the process holds its connections and locks but does nothing until ``resume``."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a power cut or the OOM killer."""
        if self.running:
            os.kill(self.pid, signal.SIGKILL)

    async def wait_dead(self) -> None:
        assert self.process is not None
        await asyncio.wait_for(self.process.wait(), 10)

    async def stop(self) -> None:
        if self.running:
            assert self.process is not None
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.kill()
                await self.wait_dead()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def tracebacks(self) -> list[str]:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return [chunk[:400] for chunk in text.split("Traceback (most recent call last)")[1:]]
