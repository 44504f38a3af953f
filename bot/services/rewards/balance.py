"""Points a member can spend: lifetime points earned minus points spent, both read from their ledgers.

Spending never touches ``points_ledger``: leaderboards, streaks and tiers keep counting every point ever earned.
``point_spends`` holds what was spent (positive rows) and given back (negative rows), so the spendable balance is
exact at any moment, in the same transaction as a redemption.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.db import Database, Transaction


@dataclass(frozen=True)
class Balance:
    earned: int  # lifetime points: every award and deduction in points_ledger
    spent: int  # points spent on rewards, minus refunds

    @property
    def spendable(self) -> int:
        return self.earned - self.spent


async def balance(db: Database | Transaction, guild_id: int, user_id: int) -> Balance:
    earned = await db.fetchval(
        "SELECT COALESCE(SUM(points), 0) FROM points_ledger WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    spent = await db.fetchval(
        "SELECT COALESCE(SUM(points), 0) FROM point_spends WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return Balance(int(earned), int(spent))
