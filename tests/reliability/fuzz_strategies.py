"""Shared pieces of the fuzz tests: hostile text, a database snapshot, and the property every input must keep.

The property: an input is either accepted, or refused with a domain error (``bot.errors``) whose member-facing
message is short and plain, and then the database holds exactly what it held before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.db import Database
from bot.errors import CollectiveError
from bot.storage.catalogue import table_columns

T = TypeVar("T")

# Pure parsers are cheap: many more examples.
FUZZ_PURE = settings(max_examples=800, deadline=None, derandomize=True)
# Deterministic in CI; the db fixture lives for the whole test, so examples share it on purpose.
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values that broke parsers somewhere at some time: empty and blank, control characters, bidi overrides,
# mentions, markdown, SQL, format strings, numbers beyond 64 bits or 4300 digits, dates at the calendar's
# edges, URLs a URL parser chokes on.
NASTY = [
    "",
    " ",
    "\n\t\r",
    "\x00",
    "\u200b",
    "\u202eevil",
    "\ufeff",
    "@everyone",
    "<@1>",
    "`",
    "```",
    "**",
    "||x||",
    "'; DROP TABLE members; --",
    "%s%n",
    "{0}{PREFIX}",
    "\\",
    "#",
    "-",
    "0",
    "-1",
    "+1",
    "1.5",
    "1e999999999",
    "-1E+99999999",
    "NaN",
    "Infinity",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999999999",
    "9" * 4400,
    "１２３",
    "٣",
    "0001-01-01",
    "0001-01-01 00:00",
    "9999-12-31",
    "9999-12-31 23:59",
    "10000-01-01",
    "2026-02-30",
    "2026-13-01 25:61",
    "0000-00-00",
    "9999-12",
    "0001-01",
    "0-0",
    "2026-11-30T00:00:00+14:00",
    "http://[",
    "https://[::1",
    "http://a.b:99999999",
    "https://user:pw@example.com",
    "javascript:alert(1)",
    "https://" + "a" * 3000 + ".com",
    "🔥" * 40,
    "Ω" * 1200,
    "x" * 6001,
]

# Everything a Discord client can type: any code point except lone surrogates (JSON from Discord is UTF-8).
_NO_SURROGATES: list[Literal["Cs"]] = ["Cs"]
_CHARS = st.characters(blacklist_categories=_NO_SURROGATES)


def any_text(max_size: int = 300) -> st.SearchStrategy[str]:
    nasty = st.sampled_from(NASTY)
    return st.one_of(
        nasty,  # listed twice: the known troublemakers get half of the draws
        nasty,
        st.text(_CHARS, max_size=max_size),
        st.text(st.sampled_from("0123456789-:. T+#/|[]@"), max_size=24),
    )


def near(valid: list[str], max_size: int = 300) -> st.SearchStrategy[str]:
    """A hostile variant of a valid value: free text, a nasty value, or a nasty piece spliced into a valid one."""

    @st.composite
    def splice(draw: st.DrawFn) -> str:
        base = draw(st.sampled_from(valid))
        start = draw(st.integers(0, len(base)))
        end = draw(st.integers(start, len(base)))
        return base[:start] + draw(any_text(40)) + base[end:]

    return st.one_of(any_text(max_size), splice())


def numbers() -> st.SearchStrategy[str]:
    """Number-shaped texts: money with too many places, exponents far out of range, unicode digits."""
    return st.one_of(
        st.from_regex(r"\A[-+]?\d{1,30}(\.\d{0,6})?([eE][-+]?\d{1,12})?\Z"),
        st.integers().map(str),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(["1E+99999999", "-1e-99999999", "9" * 5000, "１２.５０", "²", "0x10", "1_000", ".5", "5."]),
    )


def ids() -> st.SearchStrategy[str]:
    """Record ids as typed: small ones, and ones past SQLite's 64-bit integers or negative."""
    edges = st.sampled_from([0, -1, 2**63 - 1, 2**63, 10**22, -(2**63) - 1])
    return st.one_of(st.integers(0, 10**6), edges, st.integers(2**63, 2**80)).map(str)


def dates() -> st.SearchStrategy[str]:
    """Well-formed date texts, mostly at the calendar's edges (year 1, year 9999, day 31, hour 24...)."""

    def pick(edges: list[int], low: int, high: int) -> st.SearchStrategy[int]:
        return st.one_of(st.sampled_from(edges), st.sampled_from(edges), st.integers(low, high))

    parts = st.tuples(
        pick([1, 9999, 2026], 0, 9999),
        pick([1, 2, 12, 0, 13], 0, 99),
        pick([1, 28, 29, 31, 0, 32], 0, 99),
        pick([0, 23, 24], 0, 99),
        pick([0, 59, 60], 0, 99),
        st.booleans(),
    )
    return parts.map(lambda p: f"{p[0]:04d}-{p[1]:02d}-{p[2]:02d}" + (f" {p[3]:02d}:{p[4]:02d}" if p[5] else ""))


def date_like(valid: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(dates(), near(valid, 40))


def form(**spec: tuple[list[Any], st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Values for a whole form, ``name=(valid values, hostile strategy)``: one or two fields hostile, the rest
    valid, so each hostile value gets past the other fields' checks and reaches the code that reads it."""
    names = sorted(spec)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        bad = draw(st.sets(st.sampled_from(names), min_size=1, max_size=2))
        return {name: draw(spec[name][1] if name in bad else st.sampled_from(spec[name][0])) for name in names}

    return build()


def integers() -> st.SearchStrategy[int]:
    """Integers a Discord integer option can carry (±2^53) with the edges over-weighted."""
    edge = st.sampled_from([0, 1, -1, 2**31, -(2**31), 2**53, -(2**53), 10**6, -(10**6)])
    return st.one_of(edge, st.integers(-(2**53), 2**53))


_SNAPSHOT_SQL: dict[str, str] = {}
# Bookkeeping the bot updates on its own after earlier commits (the outbox delivering what they emitted): a new
# row there is a write, a row moving from pending to done is not this action's doing.
# Written only by the scheduler, never by a command: a refused command that happens to span the top of the hour
# sees the hourly jobs claim their new period here (a wall-clock flake CI met at 08:00).
_SCHEDULER_ONLY = {"job_runs"}
# What the background changes while a refused command runs: outbox deliveries, and the renewal of leases.
_DELIVERY_COLUMNS = {
    "outbox": {"status", "attempts", "delivered_to", "available_at", "finished_at", "last_error", "claimed_by",
               "lease_until"},
    "timers": {"lease_until"},
}  # fmt: skip


async def snapshot(db: Database) -> dict[str, tuple[int, str]]:
    """Row count and a digest of every row of every table, order-independent: two equal snapshots mean nothing
    was written. One query, digested inside the database (a Python copy of every row made the fuzz tests slow)."""
    tables = await table_columns(db)
    schema = f"{db.engine}:{sorted(tables.items())}"
    if schema not in _SNAPSHOT_SQL:
        selects = []
        for name, all_columns in sorted(tables.items()):
            if name in _SCHEDULER_ONLY:
                continue
            skip = _DELIVERY_COLUMNS.get(name, set())
            columns = [column for column in all_columns if column not in skip]
            if db.engine == "postgresql":
                row_text = ", ".join(f'quote_nullable("{column}")' for column in columns)
                selects.append(
                    f"SELECT '{name}', count(*), string_agg(r, chr(30) ORDER BY r)"
                    f' FROM (SELECT concat_ws(chr(31), {row_text}) AS r FROM "{name}") AS rows'
                )
            else:
                row_text = " || char(31) || ".join(f'quote("{column}")' for column in columns)
                selects.append(
                    f"SELECT '{name}', count(*), group_concat(r, char(30))"
                    f' FROM (SELECT {row_text} AS r FROM "{name}" ORDER BY r)'
                )
        _SNAPSHOT_SQL[schema] = " UNION ALL ".join(selects)
    rows = await db.fetchall(_SNAPSHOT_SQL[schema])
    return {name: (count, hashlib.sha256((text or "").encode("utf-8", "surrogatepass")).hexdigest())
            for name, count, text in rows}  # fmt: skip


def assert_clear(exc: CollectiveError) -> None:
    """A member-facing message: present, short enough for one ephemeral reply, no internals."""
    message = exc.user_message
    assert message.strip(), f"{type(exc).__name__} with an empty message"
    assert len(message) <= 1900, f"message of {len(message)} characters will not fit a Discord reply"
    for leak in ("Traceback", "sqlite3.", "Error(", "object at 0x"):
        assert leak not in message, f"internal detail in a member-facing message: {message[:200]!r}"


async def attempt(db: Database, action: Callable[[], Awaitable[T]]) -> T | CollectiveError:
    """Run ``action``; a refusal must be clear and leave the database untouched. Anything else propagates."""
    before = await snapshot(db)
    try:
        return await action()
    except CollectiveError as exc:
        assert_clear(exc)
        after = await snapshot(db)
        changed = [name for name in before if before[name] != after.get(name)]
        assert not changed, f"rejected input ({exc.user_message!r}) still changed tables {changed}"
        return exc
