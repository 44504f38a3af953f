"""Which Discord channel or role serves which purpose in a server's program.

Purposes are plain strings: ``channel:<name>`` for the channels /setup creates, ``role:ambassador``,
``role:moderator`` and ``role:tier:<key>``.
"""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_db
from bot.db import Database, Transaction

CHANNELS = ("category", "announcements", "briefs", "drops", "showcase", "focus_group", "leaderboard", "review", "audit")
ROLE_AMBASSADOR = "role:ambassador"
ROLE_MODERATOR = "role:moderator"


def channel_purpose(name: str) -> str:
    if name not in CHANNELS:
        raise ValueError(f"unknown channel purpose {name!r}")
    return f"channel:{name}"


def tier_role_purpose(tier_key: str) -> str:
    return f"role:tier:{tier_key}"


async def get_binding(db: Database | Transaction, guild_id: int, purpose: str) -> int | None:
    value = await db.fetchval("SELECT discord_id FROM bindings WHERE guild_id = ? AND purpose = ?", (guild_id, purpose))
    return None if value is None else int(value)


async def get_channel_id(db: Database | Transaction, guild_id: int, name: str) -> int | None:
    return await get_binding(db, guild_id, channel_purpose(name))


async def all_bindings(db: Database, guild_id: int) -> dict[str, int]:
    rows = await db.fetchall("SELECT purpose, discord_id FROM bindings WHERE guild_id = ?", (guild_id,))
    return {row["purpose"]: int(row["discord_id"]) for row in rows}


async def bind(tx: Transaction, guild_id: int, purpose: str, discord_id: int, now: datetime) -> None:
    await tx.execute(
        """INSERT INTO bindings (guild_id, purpose, discord_id, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (guild_id, purpose) DO UPDATE SET discord_id = excluded.discord_id,
               updated_at = excluded.updated_at""",
        (guild_id, purpose, discord_id, to_db(now)),
    )
