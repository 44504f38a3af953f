"""The audit trail of moderator (and automatic) actions.

``record`` writes the entry and, in the same unit of work, an ``audit.recorded`` outbox row: the audit feed
posts every entry to the audit-log channel after the commit, exactly once, whoever recorded it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import from_db, to_db
from bot.db import Database, Transaction

TOPIC = "audit.recorded"  # outbox topic: {"entry_id": …}


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
    new_id = await tx.insert(
        "INSERT INTO audit_log (guild_id, actor_id, action, target_id, details, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (guild_id, actor_id, action, target_id, json.dumps(details, default=str), to_db(now)),
    )
    entry_id = new_id
    assert entry_id is not None
    await tx.emit(guild_id, TOPIC, now, {"entry_id": entry_id}, key=str(entry_id))
    return AuditEntry(entry_id, guild_id, actor_id, action, target_id, details, now)


async def get_entry(db: Database, entry_id: int) -> AuditEntry | None:
    row = await db.fetchone("SELECT * FROM audit_log WHERE id = ?", (entry_id,))
    return None if row is None else _entry(row)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        row["id"],
        row["guild_id"],
        row["actor_id"],
        row["action"],
        row["target_id"],
        json.loads(row["details"]),
        from_db(row["created_at"]),
    )


async def recent(db: Database, guild_id: int, limit: int = 50) -> list[AuditEntry]:
    rows = await db.fetchall("SELECT * FROM audit_log WHERE guild_id = ? ORDER BY id DESC LIMIT ?", (guild_id, limit))
    return [_entry(row) for row in rows]
