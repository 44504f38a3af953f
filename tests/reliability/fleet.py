"""Several bot processes on one PostgreSQL database: an active one and a standby waiting to take over its
shards, or actives holding disjoint shards. Each is a ``BotProcess`` with its own name (config, log, heartbeat)
and webhook port; what they share is the database and the emulator.

The log lines waited for are the CLI's (``python -m bot run --standby``): a standby says ``standby for <its shards>:
…`` while it waits and, once the active's advisory locks are released, ``took over <its shards>: …``. Only their
beginnings are matched: the shards are named ``all shards`` or ``shards 0-3 of 8``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.storage.postgres_migrations import MIGRATION_LOCK
from emulator import Emulator
from tests.reliability.bot_process import BotProcess, until
from tests.reliability.store_reader import StoreReader

WAITING = "standby for "
TOOK_OVER = "took over "
# How long a standby may take to notice the active is gone and connect: it polls the locks every second, the
# server ends a killed process's session (and its locks) as soon as the socket closes.
TAKEOVER_LIMIT = 10.0
# A new owner takes a dead process's claims at once (its lock proves the holder gone), not when their lease ends
# (30 s): waits for work the dead one had claimed stay well inside a lease, so a takeover by expiry fails them.
AT_ONCE = 15.0


def shard_args(shard: int, count: int) -> list[str]:
    return ["--shards", str(shard), "--shard-count", str(count)]


def pair(
    emu: Emulator, folder: Path, dsn: str, *, webhooks: bool = False, args: Sequence[str] = ()
) -> tuple[BotProcess, BotProcess]:
    """An active process and its standby, for the same shards (``args``), on one database."""
    active = BotProcess(emu, folder, webhooks=webhooks, database=dsn, name="active", args=args)
    standby = BotProcess(emu, folder, webhooks=webhooks, database=dsn, name="standby", args=[*args, "--standby"])
    return active, standby


async def start_waiting(standby: BotProcess) -> None:
    """Start a standby and return once it says it is waiting for the active (so it did not become active)."""
    await standby.start(wait=False)
    await standby.wait_logged(WAITING, f"{standby.name} to wait as a standby")
    assert not standby.logged(TOOK_OVER), f"{standby.name} took over from a live active:\n{standby.log_tail()}"


async def start_then_standby(active: BotProcess, standby: BotProcess, store: StoreReader) -> None:
    """Start the active and hold it still once it holds its shards' locks, until the standby says it waits: work
    due at once (a digest) then meets a standby already waiting, whatever the machine's speed."""
    await active.start(wait=False)
    await until(lambda: holds_shard_locks(store), f"{active.name} to take its shards' locks")
    active.pause()
    try:
        await start_waiting(standby)
    finally:
        active.resume()


async def take_over(standby: BotProcess, limit: float = TAKEOVER_LIMIT) -> None:
    """Until the standby says it took over and its gateway session is up (a new IDENTIFY, READY sent)."""
    await standby.wait_logged(TOOK_OVER, f"{standby.name} to take over", limit=limit)
    await standby.wait_connected(limit=limit)


async def kill_while(bot: BotProcess, holds: Callable[[], Awaitable[bool]], what: str, limit: float = 10.0) -> None:
    """SIGKILL ``bot`` at an instant when ``holds()`` is true. The process is frozen (SIGSTOP) while the question
    is asked, so the answer still holds when the kill lands; otherwise it runs on a moment and is asked again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        bot.pause()
        if await holds():
            bot.kill()  # a stopped process dies of SIGKILL all the same
            return
        bot.resume()
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {limit}s waiting to kill {bot.name} {what}")
        await asyncio.sleep(0.02)


async def holds_shard_locks(store: StoreReader) -> bool:
    """Whether some process holds an advisory lock in this database other than the migrations' (which every
    process takes briefly at start): the shards' locks, which make a process the active one."""
    # A bigint key k shows as classid = k >> 32, objid = k & 0xffffffff, objsubid = 1.
    held = await store.count(
        """SELECT COUNT(*) FROM pg_locks
           WHERE locktype = 'advisory' AND granted
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND NOT (classid = 0 AND objid = ? AND objsubid = 1)""",
        (MIGRATION_LOCK,),
    )
    return held > 0


async def refuses_connections(port: int) -> bool:
    """Whether nothing listens on the port (a standby serves no webhooks until it takes over)."""
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return False


async def stop_all(*bots: BotProcess) -> None:
    for bot in bots:
        await bot.stop()
