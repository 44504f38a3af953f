"""The consistency checks every crash test ends with, on either engine: each read model equal to a fresh SUM
over the ledger it summarises, and (SQLite) the file's own integrity check.

Written in SQL both engines take: booleans are summed through CASE (PostgreSQL has no SUM(boolean)) and every
subquery in FROM has an alias (PostgreSQL 15 requires one).
"""

from __future__ import annotations

from tests.reliability.store_reader import StoreReader

# Each must return no rows: a row is a read model that disagrees with its ledger.
DISAGREEMENTS = {
    "sales_totals": """
        SELECT guild_id, user_id, value, orders, entries FROM sales_totals
        EXCEPT SELECT guild_id, user_id, SUM(CASE WHEN kind = 'refund' THEN -abs(net_minor) ELSE net_minor END),
                      SUM(CASE WHEN kind <> 'refund' THEN 1 ELSE 0 END), COUNT(*)
               FROM sales GROUP BY guild_id, user_id""",
    "sales_currencies": """
        SELECT guild_id, currency, entries FROM sales_currencies
        EXCEPT SELECT guild_id, currency, COUNT(*) FROM sales GROUP BY guild_id, currency""",
    "points_totals": """
        SELECT guild_id, user_id, points FROM points_totals WHERE points <> 0
        EXCEPT SELECT guild_id, user_id, SUM(points) FROM points_ledger GROUP BY guild_id, user_id""",
    "points_monthly": """
        SELECT guild_id, month, user_id, points, entries FROM points_monthly
        EXCEPT SELECT guild_id, substr(created_at, 1, 7), user_id, SUM(points), COUNT(*) FROM points_ledger
               GROUP BY guild_id, substr(created_at, 1, 7), user_id""",
}

# Each pair must count the same: no read-model row without ledger rows behind it (EXCEPT alone misses those).
SAME_COUNTS = {
    "sales_totals": (
        "SELECT COUNT(*) FROM sales_totals",
        "SELECT COUNT(*) FROM (SELECT DISTINCT guild_id, user_id FROM sales) AS members",
    ),
    "points_monthly": (
        "SELECT COUNT(*) FROM points_monthly",
        "SELECT COUNT(*) FROM (SELECT DISTINCT guild_id, substr(created_at, 1, 7), user_id FROM points_ledger) AS m",
    ),
}


async def assert_consistent(store: StoreReader) -> None:
    """Integrity (SQLite), and every read model equal to a fresh SUM over the ledger it summarises."""
    if store.engine == "sqlite":
        assert await store.query("PRAGMA integrity_check") == [("ok",)]
    for model, sql in DISAGREEMENTS.items():
        assert await store.query(sql) == [], f"{model} disagrees with its ledger"
    for model, (kept, recounted) in SAME_COUNTS.items():
        assert await store.count(kept) == await store.count(recounted), f"{model} has rows without a ledger"
