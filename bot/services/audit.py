"""The audit trail of moderator (and automatic) actions; the cog mirrors each entry to the audit channel."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import from_db, to_db
from bot.db import Database, Transaction


@dataclass(frozen=True)
class AuditEntry:
    id: int
    guild_id: int
    actor_id: int | None
    action: str
    target_id: int | None
    details: dict[str, Any]
    created_at: datetime


async def record(
    tx: Transaction,
    guild_id: int,
    actor_id: int | None,
    action: str,
    target_id: int | None,
    now: datetime,
    **details: Any,
) -> AuditEntry:
    cur = await tx.execute(
        "INSERT INTO audit_log (guild_id, actor_id, action, target_id, details, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (guild_id, actor_id, action, target_id, json.dumps(details, default=str), to_db(now)),
    )
    entry_id = cur.lastrowid
    assert entry_id is not None
    return AuditEntry(entry_id, guild_id, actor_id, action, target_id, details, now)


async def recent(db: Database, guild_id: int, limit: int = 50) -> list[AuditEntry]:
    rows = await db.fetchall("SELECT * FROM audit_log WHERE guild_id = ? ORDER BY id DESC LIMIT ?", (guild_id, limit))
    return [
        AuditEntry(
            row["id"],
            row["guild_id"],
            row["actor_id"],
            row["action"],
            row["target_id"],
            json.loads(row["details"]),
            from_db(row["created_at"]),
        )
        for row in rows
    ]
