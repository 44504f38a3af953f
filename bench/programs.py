"""A small ambassador program in each of many servers, written straight into a migrated database.

The fleet and shard-pair scenarios serve hundreds or thousands of servers; bench/generator.py fills one server's
long history into SQLite, which is not what they need. Here each server gets its settings (the bot's own
``ensure_guild``), a few active ambassadors taken from its emulator members, and on request a vanity code each
(``codes.set_vanity_code``, so shop deliveries are attributed), a points row each (so /leaderboard has a board to
rank) and one open poll with three options (so members have buttons to press). Everything goes through the bot's
Database on either engine, a batch of servers per transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import to_db
from bot.config import ProgramDefaults
from bot.db import Database, Transaction
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales import codes

POLL_OPTIONS = ("Rose", "Vanilla", "Citrus")
BATCH = 50  # servers per transaction: few commits, and no transaction long enough to matter


@dataclass(frozen=True)
class Wanted:
    """What each server's program holds besides its settings."""

    ambassadors: int
    codes: bool = False
    points: bool = False
    poll: bool = False


@dataclass
class Program:
    guild_id: int
    ambassadors: list[int]  # user ids of its active ambassadors
    codes: list[str] = field(default_factory=list)  # one per ambassador, in the same order (when wanted)
    poll_id: int | None = None


async def seed_programs(
    target: Path | str, servers: Sequence[tuple[int, Sequence[int]]], wanted: Wanted, now: datetime
) -> list[Program]:
    """``servers``: (guild id, member user ids) each; the first ``wanted.ambassadors`` members become ambassadors."""
    programs = [Program(guild_id, list(members[: wanted.ambassadors])) for guild_id, members in servers]
    async with await Database.open(target) as db:
        for start in range(0, len(programs), BATCH):
            async with db.transaction() as tx:
                for n, program in enumerate(programs[start : start + BATCH], start=start):
                    await _seed_one(tx, n, program, wanted, now)
    return programs


async def _seed_one(tx: Transaction, n: int, program: Program, wanted: Wanted, now: datetime) -> None:
    guild, stamp = program.guild_id, to_db(now)
    await ensure_guild(tx, guild, ProgramDefaults(), now)
    await tx.executemany(
        "INSERT INTO members (guild_id, user_id, display_name, status, tier, approved_at, status_changed_at,"
        " created_at) VALUES (?, ?, ?, 'active', 'ambassador', ?, ?, ?)",
        [(guild, user, f"ambassador{user}", stamp, stamp, stamp) for user in program.ambassadors],
    )
    if wanted.codes:
        for k, user in enumerate(program.ambassadors):
            code = f"S{n}A{k}"  # unique across servers too, so a misattributed sale would show
            await codes.set_vanity_code(tx, guild, user, code, now)
            program.codes.append(code)
    if wanted.points:
        await tx.executemany(
            "INSERT INTO points_ledger (guild_id, user_id, points, reason, reference, created_at)"
            " VALUES (?, ?, ?, 'adjustment', ?, ?)",
            [(guild, user, 10 * (k + 1), f"seed:{user}", stamp) for k, user in enumerate(program.ambassadors)],
        )
    if wanted.poll:
        closes = to_db(now + timedelta(days=7))
        program.poll_id = await tx.insert(
            "INSERT INTO polls (guild_id, question, status, closes_at, created_at) VALUES (?, ?, 'open', ?, ?)",
            (guild, "Which scent next?", closes, stamp),
        )
        await tx.executemany(
            "INSERT INTO poll_options (guild_id, poll_id, position, label) VALUES (?, ?, ?, ?)",
            [(guild, program.poll_id, k, label) for k, label in enumerate(POLL_OPTIONS)],
        )
