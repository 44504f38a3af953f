"""SIGKILL the bot around the weekly digest: after its period was claimed but before the post reached Discord,
and after Discord stored the post but before the bot heard back (so the run is still marked claimed). After a
restart the digest is in the announcements channel exactly once. On each engine (see tests/postgres.py).

How the digest is made due and the kill timed: tests/reliability/digest_due.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import Emulator
from tests.e2e.conftest import World
from tests.reliability.bot_process import BotProcess, until
from tests.reliability.digest_due import MOMENTS, KillAtDigest, digest_runs, digests_in, seed
from tests.reliability.store_reader import StoreReader


@pytest.mark.timeout(90)
@pytest.mark.parametrize("moment", MOMENTS)
async def test_the_digest_is_posted_once_across_a_kill(
    emu: Emulator, world: World, tmp_path: Path, db_target: Path | str, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    announcements = emu.create_channel(world.guild.id, "announcements").id
    await seed(db_target, {world.guild.id: announcements})
    bot = BotProcess(emu, tmp_path, database=db_target)
    KillAtDigest(emu, bot, announcements, moment).install(monkeypatch)
    try:
        async with StoreReader(db_target) as store:
            await bot.start(wait=False)
            await until(lambda: not bot.running, "the kill during the digest", limit=40)
            await bot.wait_dead()
            assert len(digests_in(emu, announcements)) == (0 if moment.startswith("before") else 1)
            assert await digest_runs(store) == [("claimed", 1)]  # the crash left the run claimed, not done

            monkeypatch.undo()
            await bot.start()

            async def retried() -> bool:
                return await digest_runs(store) == [("done", 2)]

            await until(retried, "the retried digest run", limit=30)
        posted = digests_in(emu, announcements)
        assert len(posted) == 1
        assert posted[0].attachments  # the chart came with it
        assert not bot.tracebacks(), bot.tracebacks()
    finally:
        await bot.stop()
