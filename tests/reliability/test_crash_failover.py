"""Fail-over on PostgreSQL: an active process and a standby waiting for its shards; the active is SIGKILLed and the
standby takes over — its gateway session, the webhooks, the scheduled work and the outbox — with nothing done twice
and nothing lost.

- In a burst of Shopify webhooks sent through a load balancer (the active's port, and the standby's once it
  listens): every order counted once, every sale's outbox follow-up done once.
- Around the weekly digest (before its post lands, after it lands): the standby, already waiting, posts it — once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.services.sales.ledger import SALE_RECORDED
from emulator import Emulator
from tests.e2e.conftest import World
from tests.reliability.bot_process import until
from tests.reliability.digest_due import MOMENTS, KillAtDigest, digest_runs, digests_in, digests_run_in_log
from tests.reliability.digest_due import seed as seed_digest
from tests.reliability.fleet import (
    AT_ONCE,
    WAITING,
    kill_while,
    pair,
    refuses_connections,
    start_then_standby,
    start_waiting,
    stop_all,
    take_over,
)
from tests.reliability.store_reader import StoreReader
from tests.reliability.webhook_burst import Shop, assert_every_order_once, deliveries, send_all
from tests.reliability.webhook_burst import seed as seed_program

ORDERS = 400
KILL_AFTER = 60  # sales recorded before the kill: well inside the burst
SENDERS = 16
CELEBRATION = "code-celebration"  # the timer a sale's follow-up arms (bot/services/sales/celebrations.py)


@pytest.mark.timeout(120)
async def test_a_standby_takes_over_a_webhook_burst_and_counts_every_order_once(
    emu: Emulator, world: World, tmp_path: Path, shared_database: str
) -> None:
    now = datetime.now(UTC)
    codes = await seed_program(shared_database, world, now)
    active, standby = pair(emu, tmp_path, shared_database, webhooks=True)
    assert active.webhook_port is not None and standby.webhook_port is not None
    shop = Shop(active.webhook_port, standby.webhook_port)
    try:
        await active.start()
        await start_waiting(standby)
        assert await refuses_connections(standby.webhook_port), "a standby must not serve webhooks"
        async with StoreReader(shared_database) as store:

            async def sales_at_least(n: int) -> bool:
                return await store.count("SELECT COUNT(*) FROM sales") >= n

            burst = asyncio.ensure_future(send_all(shop, deliveries(codes, now, ORDERS), SENDERS))
            try:
                await until(lambda: sales_at_least(KILL_AFTER), "the first sales of the burst")
                identified = emu.gateway.identify_count
                # Killed in the middle of delivering a sale's follow-up, which the standby must take over at once.
                running = "SELECT id FROM outbox WHERE status = 'running'"
                orphans: list[int] = []

                async def delivering() -> bool:
                    orphans[:] = [row[0] for row in await store.query(running)]
                    return bool(orphans)

                await kill_while(active, delivering, "while it delivers a follow-up")
                await active.wait_dead()
                at_kill = await store.count("SELECT COUNT(*) FROM sales")
                assert KILL_AFTER <= at_kill < ORDERS, f"the kill did not land mid-burst ({at_kill} of {ORDERS})"
                await take_over(standby)
                assert emu.gateway.identify_count > identified  # the standby's own session, not a resume

                async def orphans_done() -> bool:
                    marks = ", ".join("?" * len(orphans))
                    done = f"SELECT COUNT(*) FROM outbox WHERE status = 'done' AND id IN ({marks})"
                    return await store.count(done, tuple(orphans)) == len(orphans)

                await until(orphans_done, f"the {len(orphans)} follow-ups the active left running", limit=AT_ONCE)
                await asyncio.wait_for(burst, 60)
            finally:
                burst.cancel()
            assert shop.failures > 0  # some deliveries really were cut off and sent again
            assert shop.accepted[active.webhook_port] > 0 and shop.accepted[standby.webhook_port] > 0, shop.accepted

            await assert_every_order_once(store, world, ORDERS)

            # The follow-ups: rows the dead active left pending or running are delivered by the standby.
            follow_ups = "SELECT COUNT(*) FROM outbox WHERE topic = ? AND status = 'done'"

            async def all_delivered() -> bool:
                return await store.count(follow_ups, (SALE_RECORDED,)) == ORDERS

            await until(all_delivered, "every sale's follow-up", limit=30)
            one_per_sale = "SELECT COUNT(*), COUNT(DISTINCT key) FROM outbox WHERE topic = ?"
            assert await store.query(one_per_sale, (SALE_RECORDED,)) == [(ORDERS, ORDERS)]
            subscribers = "SELECT delivered_to, COUNT(*) FROM outbox WHERE topic = ? GROUP BY delivered_to"
            assert await store.query(subscribers, (SALE_RECORDED,)) == [('["celebrations"]', ORDERS)]
            # A burst is one celebration per member, however many processes handled its sales.
            timers = "SELECT payload, status FROM timers WHERE kind = ? ORDER BY payload"
            assert len(await store.query(timers, (CELEBRATION,))) == 2, await store.query(timers, (CELEBRATION,))
        assert standby.running, standby.log_tail()
        assert not standby.tracebacks(), standby.tracebacks()
    finally:
        await stop_all(standby, active)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("moment", MOMENTS)
async def test_a_waiting_standby_posts_the_digest_once_when_the_active_dies_around_it(
    emu: Emulator, world: World, tmp_path: Path, shared_database: str, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    announcements = emu.create_channel(world.guild.id, "announcements").id
    await seed_digest(shared_database, {world.guild.id: announcements})
    active, standby = pair(emu, tmp_path, shared_database)
    killer = KillAtDigest(emu, active, announcements, moment, witness=lambda: standby.logged(WAITING))
    killer.install(monkeypatch)
    try:
        async with StoreReader(shared_database) as store:
            await start_then_standby(active, standby, store)  # the digest is due at once
            await until(lambda: killer.fired, "the kill during the digest", limit=40)
            await active.wait_dead()
            assert killer.witnessed, "the standby was not yet waiting when the active died"
            await take_over(standby)

            async def retried() -> bool:
                return await digest_runs(store) == [("done", 2)]

            await until(retried, "the standby's digest run", limit=AT_ONCE)
        posted = digests_in(emu, announcements)
        assert len(posted) == 1, [m.id for m in posted]
        assert posted[0].attachments  # the chart came with it
        # The run was finished by the standby (after the post landed, it found the active's post and kept it).
        ran = [digests_run_in_log(bot, world.guild.id) for bot in (active, standby)]
        assert ran == [0, 1], ran
        assert not standby.tracebacks(), standby.tracebacks()
    finally:
        await stop_all(standby, active)
