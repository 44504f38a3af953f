"""A weekly digest due now, and a SIGKILL at the exact moment wanted around its post, for the digest crash tests.

The bot runs on the system clock, so the server's digest time is set to the current minute: the scheduler finds it
due (inside the grace window) as soon as it runs. The kill happens inside the emulator, no timing luck involved:
"before the post lands" kills the bot when its POST arrives and answers it with a 500 nobody reads (nothing is
stored); "after the post lands" kills it right after Discord stored and announced the post, before the bot hears
back (so the run is still marked claimed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
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
from emulator.models import Message
from tests.reliability.bot_process import BotProcess
from tests.reliability.store_reader import StoreReader

MOMENTS = ["before the post lands", "after the post lands"]


async def seed(target: Path | str, guild_ids: dict[int, int]) -> None:
    """Each guild (id → its announcements channel) with its digest due this minute."""
    due = datetime.now(UTC).replace(second=0, microsecond=0)
    defaults = ProgramDefaults(digest_weekday=WEEKDAYS[due.weekday()], digest_time=due.time())
    async with await Database.open(target) as db:
        await db.migrate()
        for guild_id, announcements in guild_ids.items():
            await db.perform(ensure_guild, guild_id, defaults, due - timedelta(days=2))
            async with db.transaction() as tx:
                await bind(tx, guild_id, channel_purpose("announcements"), announcements, due - timedelta(days=2))


def is_digest(embeds: list[dict[str, Any]]) -> bool:
    # Recognised as a member does, by its title: the post carries no internal marker.
    return any("This week in the program" in str(card.get("title", "")) for card in embeds)


def digests_in(emu: Emulator, channel_id: int) -> list[Message]:
    return [m for m in emu.state.messages_in(channel_id) if is_digest(m.embeds)]


async def digest_runs(store: StoreReader, guild_id: int | None = None) -> list[tuple[Any, ...]]:
    """(status, attempts) of the digest's job runs, of one guild or all."""
    if guild_id is None:
        return await store.query("SELECT status, attempts FROM job_runs WHERE job = 'digest'")
    return await store.query("SELECT status, attempts FROM job_runs WHERE job = 'digest' AND guild_id = ?", (guild_id,))


def digests_run_in_log(bot: BotProcess, guild_id: int) -> int:
    """How many digest runs for a server this process finished: the scheduler logs each, naming the server."""
    lines = bot.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    return sum("scheduled work done" in line and "digest " in line and f"(guild {guild_id})" in line for line in lines)


@dataclass
class KillAtDigest:
    """Patches the emulator so ``bot`` is SIGKILLed at ``moment`` of the digest post in ``channel_id`` — once: a
    process that posts the digest afterwards (a restart, a standby) is served normally. ``witness`` is asked at the
    kill (what held at that instant: is the standby already waiting?) and its answer kept in ``witnessed``."""

    emu: Emulator
    bot: BotProcess
    channel_id: int
    moment: str
    witness: Callable[[], bool] | None = None
    fired: bool = False
    witnessed: bool | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_match, real_dispatch = self.emu.faults.match, self.emu.dispatch
        lost = FaultRule("POST", re.compile("."), 500, {"message": "lost", "code": 0})

        def match(method: str, path: str) -> FaultRule | None:
            is_post = method == "POST" and path == f"/channels/{self.channel_id}/messages"
            if is_post and not self.fired and self.moment.startswith("before"):
                self._kill()
                return lost  # the request dies with the process: nothing is stored
            return real_match(method, path)

        def dispatch(event: str, data: dict[str, Any]) -> None:
            real_dispatch(event, data)
            wanted = self.moment.startswith("after") and not self.fired and event == "MESSAGE_CREATE"
            if wanted and str(data.get("channel_id")) == str(self.channel_id) and is_digest(data.get("embeds", [])):
                self._kill()  # stored and announced, but the bot never reads the answer

        monkeypatch.setattr(self.emu.faults, "match", match)
        monkeypatch.setattr(self.emu, "dispatch", dispatch)

    def _kill(self) -> None:
        self.fired = True
        self.bot.kill()
        if self.witness is not None:
            self.witnessed = self.witness()
