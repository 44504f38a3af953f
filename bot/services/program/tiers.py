"""Tiers of membership (e.g. ambassador: free product; affiliate: commission; creator: paid).

A new ambassador joins the first tier (lowest position). A tier may be bound to a Discord role
(``role:tier:<key>``); the membership cogs keep members' roles in step with their tier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.text import plural

KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")


@dataclass(frozen=True)
class Tier:
    key: str
    name: str
    commission_bp: int  # basis points: 1000 = 10 %
    perks: str
    position: int

    @property
    def commission_text(self) -> str:
        whole, rest = divmod(self.commission_bp, 100)
        return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}%"


def admits(audience_tier: str | None, member_tier: str | None) -> bool:
    """The one audience rule: what names a tier (a brief, a poll, an event) is for that tier's members only;
    what names none is for every ambassador."""
    return audience_tier is None or member_tier == audience_tier


def require(audience_tier: str | None, member_tier: str | None, what: str) -> None:
    """Refuse a member outside ``what``'s audience, naming the tier it is for."""
    if not admits(audience_tier, member_tier):
        raise NotAllowed(f"{what} is for the `{audience_tier}` tier.")


async def list_tiers(db: Database | Transaction, guild_id: int) -> list[Tier]:
    rows = await db.fetchall(
        "SELECT key, name, commission_bp, perks, position FROM tiers WHERE guild_id = ? ORDER BY position, key",
        (guild_id,),
    )
    return [Tier(r["key"], r["name"], r["commission_bp"], r["perks"], r["position"]) for r in rows]


async def get_tier(db: Database | Transaction, guild_id: int, key: str) -> Tier:
    for tier in await list_tiers(db, guild_id):
        if tier.key == key.strip().lower():
            return tier
    raise NotFound(f"There's no tier `{key[:30]}`. Add it with /settings tier, or pick one from the list.")


async def default_tier(db: Database | Transaction, guild_id: int) -> str | None:
    tiers = await list_tiers(db, guild_id)
    return tiers[0].key if tiers else None


def parse_commission(percent: str) -> int:
    """'12.5' or '12.5%' → 1250 basis points; 0–100 %, at most two decimals."""
    text = percent.strip().removesuffix("%").strip()
    if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", text):
        raise InvalidInput("Commission is a percentage such as `10` or `12.5`.")
    whole, _, frac = text.partition(".")
    value = int(whole) * 100 + int((frac + "00")[:2])
    if value > 10_000:
        raise InvalidInput("Commission can't be more than 100%.")
    return value


async def upsert_tier(
    tx: Transaction, guild_id: int, key: str, name: str, commission_bp: int, perks: str, position: int | None = None
) -> tuple[Tier | None, Tier]:
    """Add or update a tier; returns (before, after)."""
    key = key.strip().lower()
    if not KEY_RE.fullmatch(key):
        raise InvalidInput("A tier key is 1–24 lowercase letters, digits, '-' or '_', starting with a letter.")
    name = name.strip()
    if not 1 <= len(name) <= 50:
        raise InvalidInput("A tier name is 1–50 characters.")
    perks = perks.strip()
    if len(perks) > 300:
        raise InvalidInput("Keep a tier's perks under 300 characters.")
    if not 0 <= commission_bp <= 10_000:
        raise InvalidInput("Commission must be between 0% and 100%.")
    existing = {t.key: t for t in await list_tiers(tx, guild_id)}
    before = existing.get(key)
    if position is None:
        position = before.position if before else (max((t.position for t in existing.values()), default=-1) + 1)
    await tx.execute(
        """INSERT INTO tiers (guild_id, key, name, commission_bp, perks, position) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (guild_id, key) DO UPDATE SET name = excluded.name, commission_bp = excluded.commission_bp,
               perks = excluded.perks, position = excluded.position""",
        (guild_id, key, name, commission_bp, perks, position),
    )
    return before, Tier(key, name, commission_bp, perks, position)


async def delete_tier(tx: Transaction, guild_id: int, key: str) -> Tier:
    tier = await get_tier(tx, guild_id, key)
    used = int(await tx.fetchval("SELECT COUNT(*) FROM members WHERE guild_id = ? AND tier = ?", (guild_id, tier.key)))
    if used:
        raise Conflict(
            f"{plural(used, 'member')} {'is' if used == 1 else 'are'} in the {tier.name} tier;"
            " move them with /ambassador tier first."
        )
    await tx.execute("DELETE FROM tiers WHERE guild_id = ? AND key = ?", (guild_id, tier.key))
    await tx.execute("DELETE FROM bindings WHERE guild_id = ? AND purpose = ?", (guild_id, f"role:tier:{tier.key}"))
    return tier
