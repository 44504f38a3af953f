"""The application's SQL, written once in the form SQLite takes, as PostgreSQL takes it.

The only rewriting the PostgreSQL engine does, outside string literals, quoted names and comments:
- placeholders: ``?`` and ``:name`` become ``$1``, ``$2``…;
- SQLite's index hints (``INDEXED BY name``, measured where the planner chose badly) are dropped: PostgreSQL's
  planner takes none, and its statistics choose well.
Anything else that differs is written per engine where it is used (``bot/storage/dialect.py``). Cached: the same
few hundred statements are translated once per process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

_INDEX_HINT = re.compile(r"INDEXED\s+BY\s+\w+\s*", re.IGNORECASE)


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
        elif ch in "iI" and _INDEX_HINT.match(sql, i) and (i == 0 or not _is_word(sql[i - 1])):
            i = _INDEX_HINT.match(sql, i).end()  # type: ignore[union-attr]
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
    if n and names:
        raise ValueError("a statement takes either ? or :name placeholders, not both (as sqlite3)")
    return "".join(out), tuple(names)


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


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
