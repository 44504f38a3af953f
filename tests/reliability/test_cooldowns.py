"""Abuse: a member spamming commands or buttons gets a short cooldown answer and nothing runs or is written.

The limiter (bot/cooldowns.py) is one token bucket per (server, member), checked by the command tree and the
shared component bases. Its clock is swapped for a manual one so "rapid" and "after the window" are exact.
"""

from __future__ import annotations

import re

from bot.app import CollectiveBot
from bot.cooldowns import MEMBER, MODERATOR, Allowance, Cooldowns, cooldown_message
from emulator import Emulator
from emulator.driver import Reply
from emulator.models import Message
from tests.e2e.conftest import BotRunner, World
from tests.reliability.program import public_messages, snapshot, start_program, until


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def manual_limiter(bot: CollectiveBot) -> ManualClock:
    clock = ManualClock()
    bot.tree.cooldowns = Cooldowns(clock=clock)  # type: ignore[attr-defined]
    return clock


def cooled(reply: Reply) -> int | None:
    """The seconds the cooldown answer asks to wait, or None when the reply is not a cooldown."""
    found = re.search(r"Slow down.*Try again in (\d+) s\.", reply.content)
    if found is None:
        return None
    assert reply.ephemeral, "the cooldown answer is for the spammer only"
    return int(found[1])


# -- the bucket itself -----------------------------------------------------------------------------------


def test_a_burst_then_the_sustained_rate_then_a_full_bucket_again() -> None:
    clock = ManualClock()
    limiter = Cooldowns(member=Allowance(burst=3, per_second=0.5), clock=clock)
    assert [limiter.take(1, 7) for _ in range(3)] == [None, None, None]
    assert limiter.take(1, 7) == 2.0  # one token takes 2 s at 0.5/s
    clock.now += 1.0
    assert limiter.take(1, 7) == 1.0  # half a token so far; refusing spends nothing
    clock.now += 1.0
    assert limiter.take(1, 7) is None and limiter.take(1, 7) is not None
    assert limiter.take(1, 8) is None and limiter.take(2, 7) is None  # per member, per server
    clock.now += 3600
    assert [limiter.take(1, 7) for _ in range(4)] == [None, None, None, 2.0]  # capped at the burst


def test_moderators_get_the_larger_allowance() -> None:
    limiter = Cooldowns(clock=ManualClock())
    member = [limiter.take(1, 7) for _ in range(MODERATOR.burst + 1)]
    moderator = [limiter.take(1, 8, moderator=True) for _ in range(MODERATOR.burst + 1)]
    assert member.count(None) == MEMBER.burst < MODERATOR.burst == moderator.count(None)
    assert cooldown_message(0.2) == "⏳ Slow down — you're doing that too fast. Try again in 1 s."


def test_idle_buckets_are_forgotten_so_memory_stays_bounded() -> None:
    clock = ManualClock()
    limiter = Cooldowns(clock=clock)
    for user in range(10_000):
        limiter.take(1, user)
    clock.now += 3600
    limiter.take(1, 10_001)
    assert len(limiter._buckets) == 1


# -- through the emulator --------------------------------------------------------------------------------


async def test_spamming_a_button_gets_a_cooldown_and_writes_nothing(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    program = await start_program(emu, world, runner)
    bot, gid = program.bot, program.guild_id
    created = await emu.actor(gid, world.moderator.id).slash(
        "poll create", question="Which scent next?", options="Rose | Vanilla", duration="2h"
    )
    poll_id = int(created.content.split("#")[1].split()[0])
    vote = f"collective:poll:vote:{poll_id}"

    def poll_post() -> Message | None:
        return next((m for m in emu.state.messages.values() if f"{vote}:0" in m.custom_ids()), None)

    await until(poll_post)
    post = poll_post()
    assert post is not None
    clock = manual_limiter(bot)
    bob = emu.actor(gid, program.ambassador.id)

    processed, cooled_down = 0, 0
    for click in range(MEMBER.burst + 5):  # no time passes for the limiter: one rapid burst
        before, posts = await snapshot(bot), public_messages(emu)
        reply = await bob.click(post, f"{vote}:{click % 2}")
        if cooled(reply) is None:
            assert "vote" in reply.content.lower(), reply.content
            processed += 1
        else:
            assert cooled(reply) == 1
            assert await snapshot(bot) == before and public_messages(emu) == posts
            cooled_down += 1
    assert (processed, cooled_down) == (MEMBER.burst, 5)
    # The spam cost bob, nobody else: another ambassador's vote goes through.
    other = await emu.actor(gid, world.moderator.id).click(post, f"{vote}:1")
    assert cooled(other) is None

    clock.now += 1.0  # the window: one token back at one a second
    again = await bob.click(post, f"{vote}:0")
    assert cooled(again) is None and "vote" in again.content.lower()
    assert cooled(await bob.click(post, f"{vote}:1")) == 1


async def test_spamming_commands_gets_a_cooldown_and_moderators_have_more_room(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    program = await start_program(emu, world, runner)
    bot, gid = program.bot, program.guild_id
    clock = manual_limiter(bot)

    alice = emu.actor(gid, world.alice.id)
    replies = [await alice.slash("help") for _ in range(MEMBER.burst + 2)]
    assert [cooled(r) for r in replies] == [None] * MEMBER.burst + [1, 1]
    assert all(r.embeds for r in replies[: MEMBER.burst]) and not any(r.embeds for r in replies[MEMBER.burst :])

    mira = emu.actor(gid, world.moderator.id)
    ledger = "SELECT COUNT(*) FROM points_ledger WHERE guild_id = ? AND user_id = ?"
    start = await bot.db.fetchval(ledger, (gid, program.ambassador.id))
    answers = []
    for n in range(MODERATOR.burst + 3):
        answers.append(await mira.slash("points adjust", member=program.ambassador.id, amount=1, reason=f"n{n}"))
    assert [cooled(a) is not None for a in answers] == [False] * MODERATOR.burst + [True] * 3
    assert await bot.db.fetchval(ledger, (gid, program.ambassador.id)) == start + MODERATOR.burst

    clock.now += 1.0  # moderators refill five a second
    more = [await mira.slash("points adjust", member=program.ambassador.id, amount=1, reason=f"m{n}") for n in range(6)]
    assert [cooled(a) is not None for a in more] == [False] * 5 + [True]
    assert await bot.db.fetchval(ledger, (gid, program.ambassador.id)) == start + MODERATOR.burst + 5
    assert cooled(await alice.slash("help")) is None  # alice's window passed too
