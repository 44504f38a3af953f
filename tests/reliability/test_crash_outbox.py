"""SIGKILL the bot between a commit and what must follow it — a drop's publish timer, a poll's publication (an
outbox row) and an audit post (an outbox row) — and check that after a restart each happens exactly once.

"Between commit and dispatch" is recreated exactly: the test commits the change through the services, as the
bot's command would have, and the bot starts only afterwards — nothing in memory remembers the follow-up, only
the rows written in the same unit of work. Two moments of the kill are tried: while the follow-up's request is
on its way to Discord (nothing stored), and after Discord stored the post but before the bot marked its work done
(the retry must find the post instead of posting again). On each engine (see tests/postgres.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.content import drops
from bot.services.polls import polls
from bot.services.program import audit
from bot.services.program.bindings import bind, channel_purpose
from bot.services.program.guild_settings import ensure_guild
from emulator import Emulator
from emulator.faults import FaultRule
from emulator.models import Message
from tests.e2e.conftest import World
from tests.reliability.bot_process import BotProcess, until
from tests.reliability.store_reader import StoreReader


@dataclass(frozen=True)
class FollowUp:
    purpose: str  # the channel it posts in
    is_it: Callable[[Message], bool]  # recognises its post
    done: str  # SQL: 1 once the bot marked the follow-up done


def titled(text: str) -> Callable[[Message], bool]:
    return lambda m: any(text in str(card.get("title", "")) for card in m.embeds)


TIMER_DONE = "SELECT status = 'done' FROM timers WHERE kind = '{}'"
OUTBOX_DONE = "SELECT status = 'done' FROM outbox WHERE topic = '{}'"
FOLLOW_UPS = {
    "drop": FollowUp("drops", titled("Crash-proof drop"), TIMER_DONE.format(drops.PUBLISH.name)),
    "poll": FollowUp("focus_group", titled("Which scent next?"), OUTBOX_DONE.format(polls.CREATED)),
    "audit": FollowUp("audit", titled("Audit #1"), OUTBOX_DONE.format(audit.TOPIC)),
}


async def commit_change(target: Path | str, world: World, feature: str, channel_id: int) -> None:
    """What the bot's command commits, with no bot running: the change and its follow-up, in one transaction."""
    now = datetime.now(UTC)
    async with await Database.open(target) as db:
        await db.migrate()
        await db.perform(ensure_guild, world.guild.id, ProgramDefaults(), now - timedelta(days=2))
        async with db.transaction() as tx:
            await bind(tx, world.guild.id, channel_purpose(FOLLOW_UPS[feature].purpose), channel_id, now)
        if feature == "drop":
            fields = drops.DropFields("Crash-proof drop", "A first look.", now, None, None, False)
            await db.perform(drops.create, world.guild.id, world.moderator.id, fields, None, now)
        elif feature == "poll":
            async with db.transaction() as tx:
                await polls.create_poll(
                    tx, world.guild.id, question="Which scent next?", options=["Rose", "Citrus"],
                    closes_at=now + timedelta(hours=1), created_by=world.moderator.id, now=now,
                )  # fmt: skip
        else:
            async with db.transaction() as tx:
                await audit.record(tx, world.guild.id, world.moderator.id, "settings.change", None, now, setting="x")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("moment", ["on the way to Discord", "after Discord stored it"])
@pytest.mark.parametrize("feature", sorted(FOLLOW_UPS))
async def test_a_follow_up_happens_once_across_a_kill(
    emu: Emulator,
    world: World,
    tmp_path: Path,
    db_target: Path | str,
    monkeypatch: pytest.MonkeyPatch,
    feature: str,
    moment: str,
) -> None:
    follow = FOLLOW_UPS[feature]
    channel_id = emu.create_channel(world.guild.id, follow.purpose.replace("_", "-")).id
    await commit_change(db_target, world, feature, channel_id)
    bot = BotProcess(emu, tmp_path, database=db_target)

    def posts() -> list[Message]:
        return [m for m in emu.state.messages_in(channel_id) if follow.is_it(m)]

    # The kill happens inside the emulator at the exact moment wanted: no timing luck involved.
    real_match, real_dispatch = emu.faults.match, emu.dispatch
    lost = FaultRule("POST", re.compile("."), 500, {"message": "lost", "code": 0})

    def match(method: str, path: str) -> FaultRule | None:
        if moment.startswith("on the way") and method == "POST" and path == f"/channels/{channel_id}/messages":
            bot.kill()
            return lost  # the request dies with the process: nothing is stored
        return real_match(method, path)

    def dispatch(event: str, data: dict[str, Any]) -> None:
        real_dispatch(event, data)
        if moment.startswith("after") and event == "MESSAGE_CREATE" and int(data["channel_id"]) == channel_id:
            bot.kill()  # stored and announced, but the bot never reads the answer

    monkeypatch.setattr(emu.faults, "match", match)
    monkeypatch.setattr(emu, "dispatch", dispatch)
    try:
        async with StoreReader(db_target) as store:
            await bot.start(wait=False)
            await until(lambda: not bot.running, f"the kill during the {feature}'s follow-up", limit=40)
            await bot.wait_dead()
            assert len(posts()) == (0 if moment.startswith("on the way") else 1)
            assert not await store.scalar(follow.done)  # the kill left the work undone in the database

            monkeypatch.undo()
            await bot.start()

            async def done() -> bool:
                return bool(await store.scalar(follow.done))

            await until(done, f"the {feature}'s follow-up marked done", limit=30)
        assert len(posts()) == 1
        assert not bot.tracebacks(), bot.tracebacks()
    finally:
        await bot.stop()
