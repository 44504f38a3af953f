"""Redemption burst: 200 members press Redeem on a reward with 50 left within one second, through the emulator.

    python -m bench.bench_redemption            # 200 members, 50 left
    python -m bench.bench_redemption --quick    # 40 members, 10 left: checks that it works

``python -m bot run`` runs as its own process against the emulator (in this process, with Discord's 3-second
acknowledgement rule on). A perk reward with 50 left is in the database, its Redeem button on a catalogue message
in the guild's channel, and every member has points enough. The Redeem presses are spread evenly over one second
(each answered with an offer: nothing is spent yet, so all 200 get one); then all 200 press Confirm on their offer,
spread over the next second — the press that redeems (points, stock and the redemption in one unit of work), so 200
redemptions race for the last 50. Each interaction's time to acknowledge is from its INTERACTION_CREATE
dispatch to the bot's callback reaching the emulator. Then the database is checked: exactly 50 redemptions, the
stock at zero, nobody's balance below zero, and the 150 others told it is gone.

The baseline: a bare discord.py client that only acknowledges (an ephemeral message), for the same Redeem presses
against the same emulator (it has no offer to confirm).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_burst import percentile
from bench.botproc import Running, World, prepare, start_bare, start_bot
from bench.generator import Sizes
from bench.report import Figure, emit
from bot.db import Database
from bot.services.engagement import points
from bot.services.rewards import catalogue
from bot.services.rewards.catalogue import RewardFields
from emulator.driver import Reply
from emulator.models import Message

ACK_LIMIT_S = 3.0
TARGET_P99_S = 1.0
COST = 500


async def stock_reward(path: Path, guild_id: int, members: list[int], left: int) -> int:
    """Every member can afford it; the reward has ``left`` in stock. Returns its id."""
    now = datetime.now(UTC)
    async with await Database.open(path) as db, db.transaction() as tx:
        for user_id in members:
            await points.award(tx, guild_id, user_id, COST * 2, "adjustment", f"bench:redeem:{user_id}", now)
        fields = RewardFields("Limited tote bag", "Only a few", None, COST, left, 1, None, "perk")
        return (await catalogue.create(tx, guild_id, fields, None, now, actor_id=0)).id


def post_catalogue(world: World, reward_id: int) -> Message:
    """A catalogue message with the reward's Redeem button, as /rewards renders it."""
    channel_id = world.guild.system_channel_id
    assert channel_id is not None
    button = {"type": 2, "style": 3, "label": "Redeem", "custom_id": f"collective:reward:redeem:{reward_id}"}
    return world.emu.state.add_message(
        channel_id, world.emu.state.bot.id, embeds=[{"title": "🎁 Limited tote bag"}],
        components=[{"type": 1, "components": [button]}],
    )  # fmt: skip


class Burst:
    def __init__(self) -> None:
        self.presses: list[float] = []  # Redeem: acknowledged with the offer
        self.confirms: list[float] = []  # Confirm: the redemption, acknowledged with its outcome
        self.failures = 0
        self.answers: list[str] = []


async def burst(world: World, message: Message, members: list[int], *, confirm: bool) -> Burst:
    """Every member presses Redeem, spread over one second; then (``confirm``) every one of them presses Confirm on
    their offer, spread over the next second: 200 offers made while 50 are left, then 200 redemptions race."""
    loop = asyncio.get_running_loop()
    result = Burst()
    custom_id = message.components[0]["components"][0]["custom_id"]
    offers: list[tuple[int, Message]] = []

    async def spread(n: int, start: float, press: Callable[[], Awaitable[Reply]], into: list[float]) -> Reply | None:
        await asyncio.sleep(max(0.0, start + n / len(members) - loop.time()))
        try:
            reply = await press()
        except AssertionError:  # not acknowledged in time: the emulator refused the late callback
            result.failures += 1
            return None
        into.append(loop.time() - reply.record.created_at)
        return reply

    async def redeem(n: int, user: int, start: float) -> None:
        actor = world.emu.actor(world.guild.id, user, message.channel_id)
        offer = await spread(n, start, lambda: actor.click(message, custom_id), result.presses)
        if offer is None:
            return
        if confirm and offer.message is not None and offer.message.custom_ids():
            offers.append((user, offer.message))
        else:
            result.answers.append(offer.content)

    async def settle(n: int, user: int, shown: Message, start: float) -> None:
        actor = world.emu.actor(world.guild.id, user, message.channel_id)
        done = await spread(n, start, lambda: actor.click(shown, shown.custom_ids()[0]), result.confirms)
        if done is not None:
            result.answers.append(done.content)

    start = loop.time() + 0.05
    await asyncio.gather(*(redeem(n, user, start) for n, user in enumerate(members)))
    start = loop.time() + 0.05
    await asyncio.gather(*(settle(n, user, shown, start) for n, (user, shown) in enumerate(offers)))
    return result


async def stored(path: Path, guild_id: int, reward_id: int) -> tuple[int, int, int]:
    """(redemptions, stock left, members whose spendable balance is below zero)."""
    async with await Database.open(path) as db:
        redemptions = await db.fetchval("SELECT COUNT(*) FROM redemptions WHERE reward_id = ?", (reward_id,))
        stock = await db.fetchval("SELECT stock FROM rewards WHERE id = ?", (reward_id,))
        negative = await db.fetchval(
            """SELECT COUNT(*) FROM (SELECT user_id, SUM(points) AS earned FROM points_ledger WHERE guild_id = ?
                   GROUP BY user_id) e
               LEFT JOIN (SELECT user_id, SUM(points) AS spent FROM point_spends WHERE guild_id = ? GROUP BY user_id) s
                   USING (user_id)
               WHERE e.earned - COALESCE(s.spent, 0) < 0""",
            (guild_id, guild_id),
        )
    return int(redemptions), int(stock), int(negative)


async def run_one(running: Running, world: World, message: Message, members: list[int], *, confirm: bool) -> Burst:
    try:
        await running.wait_ready()
        return await burst(world, message, members, confirm=confirm)
    finally:
        await running.stop()


def ms(values: list[float], fraction: float | None = None) -> float:
    """The median (or the ``fraction`` percentile) in milliseconds."""
    ordered = sorted(values)
    return (statistics.median(ordered) if fraction is None else percentile(ordered, fraction)) * 1000


async def main(quick: bool) -> None:
    count, left = (40, 10) if quick else (200, 50)
    sizes = Sizes(members=count + count // 40 + 1, points_rows=count * 20, sales_rows=count * 4, timers=20,
                  open_polls=0)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder:
        world = await prepare(Path(folder), sizes)
        try:
            members = [u for n, u in enumerate(world.summary.user_ids) if n % 50 != 49][:count]
            reward_id = await stock_reward(world.db_path, world.guild.id, members, left)
            message = post_catalogue(world, reward_id)
            running = await start_bot(world.config)
            ours = await run_one(running, world, message, members, confirm=True)
            errors = running.errors()
            redeemed, stock, negative = await stored(world.db_path, world.guild.id, reward_id)
            bare = await run_one(await start_bare(world.emu), world, message, members, confirm=False)
        finally:
            await world.emu.stop()
    won = sum(a.startswith("✅ Redeemed") for a in ours.answers)
    gone = sum("gone" in a for a in ours.answers)
    print(f"{count} members press Redeem on a reward with {left} left within 1 s, then Confirm; bot as its own process")
    print("| client | press | acknowledged | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|")
    for name, what, times, failed in (
        ("Collective", "Redeem (the offer)", ours.presses, ours.failures),
        ("Collective", "Confirm (the redemption)", ours.confirms, 0),
        ("bare discord.py client", "Redeem", bare.presses, bare.failures),
    ):
        print(f"| {name} | {what} | {len(times)}/{len(times) + failed} | {ms(times):.0f} | {ms(times, 0.99):.0f}"
              f" | {max(times) * 1000:.0f} |")  # fmt: skip
    print(f"outcome: {won} redeemed, {gone} told it is gone; stored {redeemed} redemptions, stock {stock}, "
          f"{negative} balances below zero")  # fmt: skip
    base99 = ms(bare.presses, 0.99)
    emit(Figure("redemption burst", f"p99 to acknowledge Redeem, {count} presses in 1 s", ms(ours.presses, 0.99), "ms",
                base99, "bare discord.py client acknowledging", f"< {TARGET_P99_S * 1000:g} ms",
                ms(ours.presses, 0.99) < TARGET_P99_S * 1000))  # fmt: skip
    emit(Figure("redemption burst", f"p99 to acknowledge Confirm ({left} left, all at once)", ms(ours.confirms, 0.99),
                "ms", base99, "bare discord.py client acknowledging", f"< {TARGET_P99_S * 1000:g} ms",
                ms(ours.confirms, 0.99) < TARGET_P99_S * 1000))  # fmt: skip
    emit(Figure("redemption burst", "p50 to acknowledge Confirm", ms(ours.confirms), "ms", ms(bare.presses),
                "bare discord.py client acknowledging"))  # fmt: skip
    problems = []
    slow = [t for t in ours.presses + ours.confirms if t > ACK_LIMIT_S]
    if ours.failures or slow or len(ours.answers) != count:
        problems.append(f"{ours.failures + len(slow)} presses not acknowledged within {ACK_LIMIT_S:g} s; "
                        f"{len(ours.answers)} of {count} members answered")  # fmt: skip
    if not (won == redeemed == left and gone == count - left and stock == 0):
        problems.append(f"oversold or lost: {won} told redeemed, {gone} told gone, {redeemed} stored, stock {stock}")
    if negative:
        problems.append(f"{negative} balances below zero")
    if errors:
        problems.append("the bot logged errors:\n" + "\n".join(errors[:20]))
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it works")
    asyncio.run(main(parser.parse_args().quick))
