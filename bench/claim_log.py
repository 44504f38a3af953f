"""Which process claimed each outbox row: a trigger in the benchmark's own database, never in the bot's schema.

A delivered row keeps no trace of who delivered it (the claim's holder is cleared when it is marked done). To check
that each server's follow-ups ran in the process that owns the server, the benchmark adds, after migrating its
throwaway database, a table and an AFTER UPDATE trigger that note every claim — the row turning ``running`` —
with its holder (``host:pid:random``, bot/claims.py). A takeover after a lease ended would show as a second claim.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

_INSTALL = """
CREATE TABLE bench_outbox_claims (
    outbox_id  BIGINT NOT NULL,
    guild_id   BIGINT NOT NULL,
    topic      TEXT   NOT NULL,
    claimed_by TEXT
);
CREATE FUNCTION bench_note_outbox_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_outbox_claims VALUES (NEW.id, NEW.guild_id, NEW.topic, NEW.claimed_by);
    RETURN NULL;
END $$;
CREATE TRIGGER bench_outbox_claims AFTER UPDATE OF status ON outbox
    FOR EACH ROW WHEN (NEW.status = 'running') EXECUTE FUNCTION bench_note_outbox_claim();
"""


@dataclass(frozen=True)
class Claim:
    outbox_id: int
    guild_id: int
    pid: int | None  # of the holder, from its name; None if a claim named nobody


async def install(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_INSTALL)
    finally:
        await conn.close()


async def claims_of(dsn: str, topic: str) -> list[Claim]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT outbox_id, guild_id, claimed_by FROM bench_outbox_claims WHERE topic = $1 ORDER BY outbox_id", topic
        )
    finally:
        await conn.close()
    return [Claim(r["outbox_id"], r["guild_id"], _pid(r["claimed_by"])) for r in rows]


def _pid(holder: str | None) -> int | None:
    parts = (holder or "").split(":")
    return int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None
