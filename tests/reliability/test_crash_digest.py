"""SIGKILL the bot around the weekly digest: after its period was claimed but before the post reached Discord,
and after Discord stored the post but before the bot heard back (so the run is still marked claimed). After a
restart the digest is in the announcements channel exactly once.

The bot runs on the system clock, so the server's digest time is set to the current minute: the scheduler
finds it due (inside the grace window) as soon as it starts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import WEEKDAYS, ProgramDefaults
from bot.db import Database
from bot.services.program.bindings import bind, channel_purpose
from bot.services.program.guild_settings import ensure_guild
from emulator import Emulator
from emulator.faults import FaultRule
from tests.e2e.conftest import World
from tests.reliability.bot_process import BotProcess, query, until


async def seed(db_path: Path, world: World, announcements: int) -> None:
    due = datetime.now(UTC).replace(second=0, microsecond=0)
    defaults = ProgramDefaults(digest_weekday=WEEKDAYS[due.weekday()], digest_time=due.time())
    async with await Database.open(db_path) as db:
        await db.migrate()
        await db.perform(ensure_guild, world.guild.id, defaults, due - timedelta(days=2))
        async with db.transaction() as tx:
            await bind(tx, world.guild.id, channel_purpose("announcements"), announcements, due - timedelta(days=2))


def is_digest(embeds: list[dict[str, Any]], guild_id: int) -> bool:
    # Recognised as a member does, by its title: the post carries no internal marker.
    return any("This week in the program" in str(card.get("title", "")) for card in embeds)


def digest_runs(db_path: Path) -> list[tuple[object, ...]]:
    return query(db_path, "SELECT status, attempts FROM job_runs WHERE job = 'digest'")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("moment", ["before the post lands", "after the post lands"])
async def test_the_digest_is_posted_once_across_a_kill(
    emu: Emulator, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    gid = world.guild.id
    announcements = emu.create_channel(gid, "announcements").id
    await seed(tmp_path / "collective.db", world, announcements)
    bot = BotProcess(emu, tmp_path)

    # The kill happens inside the emulator, at the exact moment wanted: no timing luck involved.
    real_match, real_dispatch = emu.faults.match, emu.dispatch
    lost = FaultRule("POST", re.compile("."), 500, {"message": "lost", "code": 0})

    def match(method: str, path: str) -> FaultRule | None:
        if moment.startswith("before") and method == "POST" and path == f"/channels/{announcements}/messages":
            bot.kill()
            return lost  # the request dies with the process: nothing is stored
        return real_match(method, path)

    def dispatch(event: str, data: dict[str, Any]) -> None:
        real_dispatch(event, data)
        if moment.startswith("after") and event == "MESSAGE_CREATE" and is_digest(data.get("embeds", []), gid):
            bot.kill()  # stored and announced, but the bot never reads the answer

    monkeypatch.setattr(emu.faults, "match", match)
    monkeypatch.setattr(emu, "dispatch", dispatch)
    try:
        await bot.start(wait=False)
        await until(lambda: not bot.running, "the kill during the digest", limit=40)
        await bot.wait_dead()
        posted = [m for m in emu.state.messages_in(announcements) if is_digest(m.embeds, gid)]
        assert len(posted) == (0 if moment.startswith("before") else 1)
        assert digest_runs(bot.db_path) == [("claimed", 1)]  # the crash left the run claimed, not done

        monkeypatch.undo()
        await bot.start()
        await until(lambda: digest_runs(bot.db_path) == [("done", 2)], "the retried digest run", limit=30)
        posted = [m for m in emu.state.messages_in(announcements) if is_digest(m.embeds, gid)]
        assert len(posted) == 1
        assert posted[0].attachments  # the chart came with it
        assert not bot.tracebacks(), bot.tracebacks()
    finally:
        await bot.stop()
