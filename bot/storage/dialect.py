"""The few SQL expressions the two engines spell differently, side by side.

Everything else is one text for both (``postgres_sql`` only numbers placeholders). A feature that needs one of
these asks the ``Database`` or unit of work it holds for its ``engine`` and splices the expression in.
"""

from __future__ import annotations

from typing import Literal, Protocol

Engine = Literal["sqlite", "postgresql"]


class HasEngine(Protocol):
    @property
    def engine(self) -> Engine: ...


def string_agg(on: HasEngine, expr: str, separator: str = ",", *, distinct: bool = False) -> str:
    """The values of ``expr`` in a group joined by ``separator`` (SQLite's GROUP_CONCAT takes DISTINCT only
    with its default separator, a comma)."""
    if distinct and separator != ",":
        raise ValueError("DISTINCT joins with ',' only (SQLite's GROUP_CONCAT)")
    if on.engine == "postgresql":
        return f"string_agg({'DISTINCT ' if distinct else ''}CAST({expr} AS TEXT), '{separator}')"
    if distinct:
        return f"GROUP_CONCAT(DISTINCT {expr})"
    return f"GROUP_CONCAT({expr}, '{separator}')"


def json_array_items(on: HasEngine, column: str, alias: str) -> str:
    """A table of the items of the JSON array in ``column``, each as text in ``<alias>.value`` (for FROM)."""
    if on.engine == "postgresql":
        return f"jsonb_array_elements_text(CAST({column} AS jsonb)) AS {alias}(value)"
    return f"json_each({column}) AS {alias}"


def skip_locked(on: HasEngine) -> str:
    """Appended to a queue's ``SELECT … LIMIT n``: rows another transaction is claiming are passed over rather than
    waited for. SQLite needs nothing: its one writer at a time never meets another's claim halfway."""
    return " FOR UPDATE SKIP LOCKED" if on.engine == "postgresql" else ""
