"""Discount codes: the pattern, generation with collision retries, and case-insensitive lookup.

A pattern is text with tokens: ``{PREFIX}`` (the program's code prefix), ``{NAME}`` (a stem from the
member's name, up to 8 letters/digits) and ``{RAND2}``…``{RAND6}`` (random characters from an alphabet
without look-alikes). Literal characters may be A–Z, 0–9, '-' and '_'. Default: ``{PREFIX}{NAME}{RAND3}``.
"""

from __future__ import annotations

import random
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotFound
from bot.services.shop import code_state
from bot.storage.statements import Row

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,31}$")
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes get read aloud and retyped
DEFAULT_PATTERN = "{PREFIX}{NAME}{RAND3}"
_TOKEN = re.compile(r"\{(PREFIX|NAME|RAND[2-6])\}")
_LITERAL = re.compile(r"^[A-Z0-9_-]*$")
MAX_ATTEMPTS = 40

CodeStatus = Literal["active", "paused", "retired"]


@dataclass(frozen=True)
class Code:
    id: int
    guild_id: int
    user_id: int
    code: str
    status: CodeStatus
    kind: Literal["generated", "vanity"]
    created_at: datetime
    retired_at: datetime | None


def _from_row(row: Row) -> Code:
    return Code(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        code=row["code"],
        status=row["status"],
        kind=row["kind"],
        created_at=from_db(row["created_at"]),
        retired_at=from_db(row["retired_at"]) if row["retired_at"] else None,
    )


def normalize(code: str) -> str:
    return code.strip().upper()


def validate_code(code: str) -> str:
    value = normalize(code)
    if not CODE_RE.fullmatch(value):
        raise InvalidInput(
            f"`{code[:40]}` isn't a valid code: use 3–32 letters, digits, '-' or '_', starting with a letter or digit."
        )
    return value


def validate_pattern(pattern: str) -> str:
    value = pattern.strip()
    literals = _TOKEN.sub("", value)
    if not _LITERAL.fullmatch(literals):
        raise InvalidInput(
            "A code pattern may use {PREFIX}, {NAME}, {RAND2}…{RAND6} and the characters A–Z, 0–9, '-' and '_'."
        )
    if not re.search(r"\{RAND[2-6]\}", value):
        raise InvalidInput("A code pattern needs a {RAND2}…{RAND6} part so every member's code can be unique.")
    # The longest the pattern can render must still be a valid code.
    longest = _TOKEN.sub(lambda m: "X" * _token_width(m.group(1)), value)
    if len(longest) > 32:
        raise InvalidInput("That pattern can make codes longer than 32 characters.")
    return value


def _token_width(token: str) -> int:
    if token == "PREFIX":
        return 8
    if token == "NAME":
        return 8
    return int(token[4:])


def name_stem(display_name: str, limit: int = 8) -> str:
    """'Zoë O'Brien' → 'ZOEOBRIE'; falls back to 'AMB' for names without Latin letters or digits."""
    ascii_only = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]", "", ascii_only).upper()[:limit]
    return stem or "AMB"


def render(pattern: str, *, prefix: str, display_name: str, rng: random.Random, extra_random: int = 0) -> str:
    """One candidate code. ``extra_random`` widens the random part after repeated collisions."""

    def token(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "PREFIX":
            return prefix
        if name == "NAME":
            return name_stem(display_name)
        width = min(int(name[4:]) + extra_random, 8)
        return "".join(rng.choice(ALPHABET) for _ in range(width))

    code = _TOKEN.sub(token, pattern)
    if len(code) > 32:
        code = code[:32]
    if len(code) < 3 or not CODE_RE.fullmatch(code):
        code = (code + "".join(rng.choice(ALPHABET) for _ in range(3)))[:32]
    return code


async def find_code(db: Database | Transaction, guild_id: int, code: str) -> Code | None:
    """Any code, in any status, matched case-insensitively (old codes still attribute sales)."""
    row = await db.fetchone("SELECT * FROM codes WHERE guild_id = ? AND code_norm = ?", (guild_id, normalize(code)))
    return None if row is None else _from_row(row)


async def current_code(db: Database | Transaction, guild_id: int, user_id: int) -> Code | None:
    """The member's usable code (active or paused), if any."""
    row = await db.fetchone(
        "SELECT * FROM codes WHERE guild_id = ? AND user_id = ? AND status IN ('active', 'paused')",
        (guild_id, user_id),
    )
    return None if row is None else _from_row(row)


async def code_history(db: Database, guild_id: int, user_id: int) -> list[Code]:
    rows = await db.fetchall(
        "SELECT * FROM codes WHERE guild_id = ? AND user_id = ? ORDER BY created_at, id", (guild_id, user_id)
    )
    return [_from_row(row) for row in rows]


async def _insert(
    tx: Transaction, guild_id: int, user_id: int, code: str, kind: str, now: datetime, actor_id: int | None
) -> Code | None:
    """Insert unless the code is taken (case-insensitively). Returns None on a collision."""
    new_id = await tx.fetchval(
        """INSERT INTO codes (guild_id, user_id, code, code_norm, status, kind, created_at, created_by)
           VALUES (?, ?, ?, ?, 'active', ?, ?, ?)
           ON CONFLICT (guild_id, code_norm) DO NOTHING RETURNING id""",
        (guild_id, user_id, code, normalize(code), kind, to_db(now), actor_id),
    )
    if new_id is None:
        return None
    row = await tx.fetchone("SELECT * FROM codes WHERE id = ?", (new_id,))
    assert row is not None
    await code_state.code_changed(tx, guild_id, int(row["id"]), now)
    return _from_row(row)


async def retire_current(tx: Transaction, guild_id: int, user_id: int, now: datetime) -> Code | None:
    current = await current_code(tx, guild_id, user_id)
    if current is not None:
        await tx.execute("UPDATE codes SET status = 'retired', retired_at = ? WHERE id = ?", (to_db(now), current.id))
        await code_state.code_changed(tx, guild_id, current.id, now)
    return current


async def issue_code(
    tx: Transaction,
    guild_id: int,
    user_id: int,
    display_name: str,
    now: datetime,
    *,
    pattern: str = DEFAULT_PATTERN,
    prefix: str = "",
    actor_id: int | None = None,
    rng: random.Random | None = None,
) -> Code:
    """Give the member a new generated code, retiring their current one. Retries on collision."""
    generator = rng or secrets.SystemRandom()
    await retire_current(tx, guild_id, user_id, now)
    for attempt in range(MAX_ATTEMPTS):
        candidate = render(pattern, prefix=prefix, display_name=display_name, rng=generator, extra_random=attempt // 10)
        issued = await _insert(tx, guild_id, user_id, candidate, "generated", now, actor_id)
        if issued is not None:
            return issued
    raise Conflict("Couldn't find a free code after many tries; widen the code pattern's random part.")


async def set_vanity_code(
    tx: Transaction, guild_id: int, user_id: int, code: str, now: datetime, *, actor_id: int | None = None
) -> Code:
    value = validate_code(code)
    existing = await find_code(tx, guild_id, value)
    if existing is not None:
        if existing.user_id == user_id and existing.status != "retired":
            return existing
        raise Conflict(f"`{value}` is already taken in this program (codes are case-insensitive).")
    await retire_current(tx, guild_id, user_id, now)
    issued = await _insert(tx, guild_id, user_id, value, "vanity", now, actor_id)
    if issued is None:
        raise Conflict(f"`{value}` is already taken in this program.")
    return issued


async def set_code_status(tx: Transaction, guild_id: int, user_id: int, status: CodeStatus, now: datetime) -> bool:
    """Pause, resume (active) or retire the member's current code. Returns False when they have none."""
    current = await current_code(tx, guild_id, user_id)
    if current is None:
        return False
    retired_at = to_db(now) if status == "retired" else None
    await tx.execute("UPDATE codes SET status = ?, retired_at = ? WHERE id = ?", (status, retired_at, current.id))
    if status != current.status:
        await code_state.code_changed(tx, guild_id, current.id, now)
    return True


async def regenerate_code(
    tx: Transaction, guild_id: int, user_id: int, now: datetime, *, actor_id: int | None = None
) -> Code:
    """A fresh generated code from the server's pattern; the old one is retired but still attributes sales."""
    member = await tx.fetchone(
        "SELECT display_name, status FROM members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    if member is None or member["status"] not in ("active", "paused"):
        raise NotFound("That member isn't an ambassador in this program.")
    config = await tx.fetchone("SELECT code_pattern, code_prefix FROM guild_settings WHERE guild_id = ?", (guild_id,))
    pattern = config["code_pattern"] if config else DEFAULT_PATTERN
    prefix = config["code_prefix"] if config else ""
    return await issue_code(
        tx, guild_id, user_id, member["display_name"], now, pattern=pattern, prefix=prefix, actor_id=actor_id
    )


async def deactivate_code(tx: Transaction, guild_id: int, user_id: int, now: datetime) -> Code:
    """Retire the member's usable code (a leak, a departure). Sales through it still count, flagged."""
    current = await retire_current(tx, guild_id, user_id, now)
    if current is None:
        raise NotFound("That member has no active code.")
    return current


@dataclass(frozen=True)
class CodeUsage:
    code: Code
    sales: int  # sale rows attributed through this code (refunds not subtracted)


async def code_stats(db: Database, guild_id: int, user_id: int) -> list[CodeUsage]:
    """Every code the member has held, oldest first, with the sales each brought in."""
    history = await code_history(db, guild_id, user_id)
    rows = await db.fetchall(
        "SELECT code_id, COUNT(*) AS n FROM sales WHERE guild_id = ? AND user_id = ? AND kind = 'sale'"
        " GROUP BY code_id",
        (guild_id, user_id),
    )
    counts = {row["code_id"]: int(row["n"]) for row in rows}
    return [CodeUsage(code, counts.get(code.id, 0)) for code in history]
