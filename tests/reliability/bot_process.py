"""The bot as an operator runs it — ``python -m bot run --config …`` in its own process — against the emulator
running in the test's event loop, so a test can SIGKILL it at a chosen moment and start it again.

Also: waiting with deadlines (never fixed sleeps), and the consistency checks every crash test ends with.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

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
    """One database file and config; ``start`` / ``kill`` / ``start`` as often as a test likes."""

    def __init__(self, emu: Emulator, folder: Path, *, webhooks: bool = False, extra_config: str = "") -> None:
        self.emu = emu
        self.db_path = folder / "collective.db"
        self.config_path = folder / "config.toml"
        self.log_path = folder / "bot.log"
        self.webhook_port = free_port() if webhooks else None
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        hooks = (
            f'[webhooks]\nenabled = true\nhost = "127.0.0.1"\nport = {self.webhook_port}\nshopify_secret = "{SECRET}"\n'
            if webhooks
            else ""
        )
        self.config_path.write_text(
            f'[discord]\napi_base_url = "{emu.api_base_url}"\ngateway_url = "{emu.gateway_url}"\n'
            f'[database]\npath = "{self.db_path}"\n{hooks}[logging]\nlevel = "INFO"\n{extra_config}',
            encoding="utf-8",
        )

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
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(self.config_path),
                cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        if wait:
            await self.wait_connected()

    async def wait_connected(self, limit: float = 30.0) -> None:
        gateway = self.emu.gateway

        def connected() -> bool:
            if not self.running:
                raise AssertionError(f"the bot exited during start-up:\n{self.log_tail()}")
            return gateway.identify_count > self.identified_before and gateway.ready.is_set() and gateway.connected

        await until(connected, "the bot to connect to the emulator", limit=limit)

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


def assert_consistent(db_path: Path) -> None:
    """Integrity, and every read model equal to a fresh SUM over the ledger it summarises."""
    assert query(db_path, "PRAGMA integrity_check") == [("ok",)]
    assert (
        query(
            db_path,
            """SELECT guild_id, user_id, value, orders, entries FROM sales_totals
           EXCEPT SELECT guild_id, user_id, SUM(CASE WHEN kind = 'refund' THEN -abs(net_minor) ELSE net_minor END),
                         SUM(kind <> 'refund'), COUNT(*) FROM sales GROUP BY guild_id, user_id""",
        )
        == []
    )
    assert scalar(db_path, "SELECT COUNT(*) FROM sales_totals") == scalar(
        db_path, "SELECT COUNT(*) FROM (SELECT DISTINCT guild_id, user_id FROM sales)"
    )
    assert (
        query(
            db_path,
            """SELECT guild_id, currency, entries FROM sales_currencies
           EXCEPT SELECT guild_id, currency, COUNT(*) FROM sales GROUP BY guild_id, currency""",
        )
        == []
    )
    assert (
        query(
            db_path,
            """SELECT guild_id, user_id, points FROM points_totals WHERE points <> 0
           EXCEPT SELECT guild_id, user_id, SUM(points) FROM points_ledger GROUP BY guild_id, user_id""",
        )
        == []
    )
    assert (
        query(
            db_path,
            """SELECT guild_id, month, user_id, points, entries FROM points_monthly
           EXCEPT SELECT guild_id, substr(created_at, 1, 7), user_id, SUM(points), COUNT(*) FROM points_ledger
                  GROUP BY guild_id, substr(created_at, 1, 7), user_id""",
        )
        == []
    )
    assert scalar(db_path, "SELECT COUNT(*) FROM points_monthly") == scalar(
        db_path, "SELECT COUNT(*) FROM (SELECT DISTINCT guild_id, substr(created_at, 1, 7), user_id FROM points_ledger)"
    )
