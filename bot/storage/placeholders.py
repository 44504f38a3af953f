"""SQLite's placeholders (``?`` and ``:name``) numbered for PostgreSQL (``$1``, ``$2``…), outside string literals,
quoted names and comments.

The application writes its SQL once, in the form SQLite takes; this is the only rewriting the PostgreSQL engine
does to it. Cached: the same few hundred statements are translated once per process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any


def bind(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[str, Sequence[Any]]:
    """The statement and its arguments as asyncpg takes them."""
    text, names = numbered(sql)
    if isinstance(params, Mapping):
        return text, [params[name] for name in names]
    return text, params


@lru_cache(maxsize=4096)
def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with numbered placeholders, and the names of its ``:name`` placeholders in number order."""
    out: list[str] = []
    names: list[str] = []
    n = 0
    i = 0
    length = len(sql)
    while i < length:
        ch = sql[i]
        if ch in ("'", '"'):
            end = _closing_quote(sql, i, ch)
            out.append(sql[i:end])
            i = end
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = length if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = length if end < 0 else end + 2
            out.append(sql[i:end])
            i = end
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            i += 1
        elif ch == ":" and i + 1 < length and (sql[i + 1].isalpha() or sql[i + 1] == "_") and sql[i - 1 : i] != ":":
            end = i + 1
            while end < length and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            name = sql[i + 1 : end]
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
            i = end
        else:
            out.append(ch)
            i += 1
    return "".join(out), tuple(names)


def _closing_quote(sql: str, start: int, quote: str) -> int:
    """Index just past the literal or quoted name opened at ``start`` (a doubled quote is an escaped one)."""
    i = start + 1
    while i < len(sql):
        if sql[i] == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)
