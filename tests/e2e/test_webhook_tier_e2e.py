"""The webhook tier (``python -m bot webhooks``) as its own process beside a running bot over one PostgreSQL
database: a sale it records is followed up by the bot — which owns the server — woken by NOTIFY rather than by
its next poll (a minute away), and counted once however often the shop retries."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.clock import FixedClock
from bot.webhooks import sign
from emulator import Emulator
from tests.conftest import ROOT
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_codes_e2e import SECRET, free_port, make_ambassador, order_body
from tests.reliability.bot_process import until


async def deliver(port: int, body: bytes, event_id: str) -> int:
    headers = {
        "X-Shopify-Hmac-Sha256": sign(body, SECRET),
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Event-Id": event_id,
        "Content-Type": "application/json",
    }
    url = f"http://127.0.0.1:{port}/webhooks/shopify"
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status


async def answers(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


@pytest.mark.timeout(60)
async def test_a_sale_received_by_the_webhook_tier_is_followed_up_by_the_bot(
    emu: Emulator, world: World, runner: BotRunner, engine: str, tmp_path: Path
) -> None:
    if engine != "postgresql":
        pytest.skip("the webhook tier shares its database with the bot through PostgreSQL only")
    assert isinstance(runner.db_target, str)
    # The tier stamps rows with the system clock; the bot's clock runs a minute ahead, so they are due to it.
    clock = FixedClock(datetime.now(UTC) + timedelta(minutes=1))
    runner.clock = clock
    bot = await runner.start()
    code = await make_ambassador(bot, world.guild.id, world.alice.id, "alice")

    port = free_port()
    config = tmp_path / "tier.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "unused.db"}"\nurl = "{runner.db_target}"\n'
        f'[webhooks]\nhost = "127.0.0.1"\nport = {port}\nshopify_secret = "{SECRET}"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTIVE_") and k != "DISCORD_TOKEN"}
    log_path = tmp_path / "tier.log"
    with log_path.open("w", encoding="utf-8") as log:
        tier = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "webhooks", "--config", str(config),
            cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        await until(lambda: answers(port), "the webhook tier to listen", limit=20)
        for n in range(3):
            assert await deliver(port, order_body(code, 5_000 + n, clock.now()), f"evt-{n}") == 200
        assert await deliver(port, order_body(code, 5_000, clock.now()), "evt-0") == 200  # the shop retries

        async def followed_up() -> bool:
            pending = await bot.db.fetchval("SELECT COUNT(*) FROM outbox WHERE status <> 'done'")
            timers = await bot.db.fetchval("SELECT COUNT(*) FROM timers WHERE kind = 'code-celebration'")
            return pending == 0 and timers == 1

        await until(followed_up, "the bot to follow the sales up", limit=10)
        assert await bot.db.fetchval("SELECT COUNT(*) FROM sales") == 3
        clock.advance(timedelta(minutes=3))
        await bot.scheduler.run_due(clock.now())
        dms = [m for m in emu.dms_to(world.alice.id) if m.embeds and "just used" in str(m.embeds[0].get("title"))]
        assert len(dms) == 1 and "3 times" in str(dms[0].embeds[0].get("description"))
    finally:
        tier.terminate()
        assert await asyncio.wait_for(tier.wait(), 10) == 0
    text = log_path.read_text(encoding="utf-8")
    assert "webhook tier on 127.0.0.1" in text and "stopped on SIGTERM" in text, text[-2000:]
    assert "Traceback" not in text
    runner.check_healthy()
