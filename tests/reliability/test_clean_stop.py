"""Stopping and starting as an operator's supervisor does: ``docker stop`` / systemd send SIGTERM, Ctrl-C sends
SIGINT, and Discord may be unreachable when the bot boots.

SIGTERM in the middle of a burst of Shopify webhooks: the bot answers what it already received (after the commit),
refuses the rest, logs one line and exits 0 within 10 s; every acknowledged order is stored once, and what the
shop resends after the restart is stored once too."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.webhooks import sign
from emulator import Emulator
from tests.conftest import ROOT
from tests.e2e.conftest import World
from tests.reliability.bot_process import SECRET, BotProcess, free_port, query, scalar, until
from tests.reliability.consistency import assert_consistent
from tests.reliability.store_reader import StoreReader
from tests.reliability.test_crash_webhooks import ORDERS, SENDERS
from tests.reliability.webhook_burst import deliveries, seed

STOP_AFTER = 60  # sales recorded before the signal: well inside the burst
STOP_LINE = "stopped on SIGTERM"


def _after(text: str, start_marker: str) -> list[str]:
    return text.split(start_marker)[-1].splitlines()


def _health(bot: BotProcess) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "health", "--config", str(bot.config_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )  # fmt: skip


@pytest.mark.timeout(120)
async def test_sigterm_mid_burst_answers_what_it_received_and_exits_zero(
    emu: Emulator, world: World, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    codes = await seed(tmp_path / "collective.db", world, now)
    bot = BotProcess(emu, tmp_path, webhooks=True)
    assert bot.webhook_port is not None
    url = f"http://127.0.0.1:{bot.webhook_port}/webhooks/shopify"
    await bot.start()
    await until(lambda: "ready:" in bot.log_path.read_text(encoding="utf-8"), "the bot to be ready")
    healthy = await asyncio.to_thread(_health, bot)
    assert healthy.returncode == 0 and "healthy" in healthy.stdout, healthy.stdout + healthy.stderr

    acknowledged: set[str] = set()  # order bodies the bot answered 200 for, while the first process ran
    refused = 0
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in deliveries(codes, now, ORDERS):
        queue.put_nowait(item)

    async def deliver(session: aiohttp.ClientSession, event_id: str, body: bytes) -> None:
        nonlocal refused
        headers = {"X-Shopify-Hmac-Sha256": sign(body, SECRET), "X-Shopify-Topic": "orders/paid",
                   "X-Shopify-Event-Id": event_id, "Content-Type": "application/json"}  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    if response.status == 200:
                        if bot.starts == 1:
                            acknowledged.add(event_id)
                        return
                    assert response.status >= 500, f"{event_id}: {response.status} {await response.text()}"
            except (aiohttp.ClientError, ConnectionError):
                pass
            refused += 1
            assert loop.time() < deadline, f"{event_id} was never accepted"
            await asyncio.sleep(0.05)

    async def sender(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            event_id, body = queue.get_nowait()
            await deliver(session, event_id, body)

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            burst = asyncio.gather(*(sender(session) for _ in range(SENDERS)))
            try:
                await until(
                    lambda: int(scalar(bot.db_path, "SELECT COUNT(*) FROM sales") or 0) >= STOP_AFTER,
                    "the first sales of the burst",
                )
                assert bot.process is not None
                bot.process.send_signal(signal.SIGTERM)
                # The bound: a clean stop within 10 s (generous; it takes well under one).
                code = await asyncio.wait_for(bot.process.wait(), 10)
                assert code == 0, bot.log_tail()
                stored = int(scalar(bot.db_path, "SELECT COUNT(*) FROM sales") or 0)
                assert STOP_AFTER <= stored < ORDERS, f"the stop did not land mid-burst ({stored} of {ORDERS})"
                # Every 200 the first process sent is a committed sale, stored once.
                acked_orders = {int(e.split("-")[1]) for e in acknowledged}  # evt-<order id>[-again]
                in_db = dict(query(bot.db_path, "SELECT order_id, COUNT(*) FROM sales GROUP BY order_id"))
                assert all(in_db.get(str(order)) == 1 for order in acked_orders), "an acknowledged order is missing"

                log = bot.log_path.read_text(encoding="utf-8")
                first_run = _after(log, "===== start 1 =====")
                assert sum(STOP_LINE in line for line in first_run) == 1, "\n".join(first_run[-20:])
                assert "Traceback" not in log, bot.log_tail()
                after_stop = first_run[next(i for i, line in enumerate(first_run) if STOP_LINE in line) + 1 :]
                assert after_stop == [], after_stop  # the stop line is the last word
                for noise in ("PyNaCl", "davey", "voice will NOT", "Scheduler started", "Added job"):
                    assert noise not in log, f"{noise!r} logged at INFO"
                gone = await asyncio.to_thread(_health, bot)
                assert gone.returncode == 1 and "unhealthy" in gone.stdout

                await bot.start()  # the shop keeps resending what was refused meanwhile
                await asyncio.wait_for(burst, 60)
            finally:
                burst.cancel()
        assert refused > 0  # some deliveries really were turned away and sent again
        db = bot.db_path
        assert query(db, "SELECT COUNT(*), COUNT(DISTINCT order_id) FROM sales WHERE kind = 'sale'") == [
            (ORDERS, ORDERS)
        ]
        assert query(db, "SELECT COUNT(*), COUNT(DISTINCT reference) FROM points_ledger WHERE reason = 'sale'") == [
            (ORDERS, ORDERS)
        ]
        async with StoreReader(db) as store:
            await assert_consistent(store)
    finally:
        await bot.stop()


@pytest.mark.timeout(60)
async def test_sigint_stops_cleanly_with_exit_zero(emu: Emulator, world: World, tmp_path: Path) -> None:
    bot = BotProcess(emu, tmp_path)
    await bot.start()
    await until(lambda: "ready:" in bot.log_path.read_text(encoding="utf-8"), "the bot to be ready")
    assert bot.process is not None
    bot.process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(bot.process.wait(), 10) == 0, bot.log_tail()
    log = bot.log_path.read_text(encoding="utf-8")
    assert log.count("stopped on SIGINT") == 1 and "Traceback" not in log and "KeyboardInterrupt" not in log


class Outage:
    """A TCP relay on a fixed port that refuses connections until ``restore()``, then forwards to the emulator:
    Discord unreachable at boot, reachable later, without the bot being restarted."""

    def __init__(self, port: int, target_port: int) -> None:
        self.port, self.target_port = port, target_port
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.Task[None]] = set()

    async def restore(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        for task in (asyncio.create_task(pipe(reader, up_writer)), asyncio.create_task(pipe(up_reader, writer))):
            self.pipes.add(task)
            task.add_done_callback(self.pipes.discard)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.pipes):
            task.cancel()


@pytest.mark.timeout(90)
async def test_discord_unreachable_at_start_is_retried_one_line_per_attempt(
    emu: Emulator, world: World, tmp_path: Path
) -> None:
    port = free_port()
    bot = BotProcess(emu, tmp_path)
    emu_port = int(emu.api_base_url.split(":")[2].split("/")[0])
    # The same config, with Discord's REST address behind the relay (the gateway URL comes from GET /gateway/bot).
    bot.config_path.write_text(
        bot.config_path.read_text(encoding="utf-8").replace(f":{emu_port}/", f":{port}/"), encoding="utf-8"
    )
    outage = Outage(port, emu_port)
    try:
        await bot.start(wait=False)

        def attempts() -> int:
            if not bot.running:
                raise AssertionError(f"the bot gave up instead of retrying:\n{bot.log_tail()}")
            return bot.log_path.read_text(encoding="utf-8").count("Discord unreachable")

        await until(lambda: attempts() >= 2, "two reachability attempts", limit=30)
        log = bot.log_path.read_text(encoding="utf-8")
        assert "Traceback" not in log, log
        unreachable = [line for line in log.splitlines() if "Discord unreachable" in line]
        assert all("attempt" in line and "next in" in line for line in unreachable), unreachable
        await outage.restore()
        await bot.wait_connected(limit=60)  # no supervisor restart: the same process got through
        await until(lambda: "ready:" in bot.log_path.read_text(encoding="utf-8"), "the bot to be ready")
        assert bot.process is not None
        bot.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(bot.process.wait(), 10) == 0, bot.log_tail()
        assert "Traceback" not in bot.log_path.read_text(encoding="utf-8")
    finally:
        await bot.stop()
        await outage.close()
