"""``/ambassador forget`` for rewards: what a redemption holds of the member goes; the counts stay.

A redemption keeps the member's id, the reward, the cost and its status — what the spending ledger and the digest
count (``point_spends`` needs the member to keep balances exact). What is personal goes: the single-use code and
the shop's id for it (they lead back to the member's orders in the shop), the shop's error words and a moderator's
reason (free text that may name them). Shipping details live with gifting and go there (gifting/shipping.py).
Redemptions still waiting are closed first, without a DM, and give their points and stock back: nothing is created
in the shop nor shipped for a member who is forgotten.
"""

from __future__ import annotations

from datetime import datetime

from bot.db import Transaction
from bot.services.rewards.redemptions import refund

ERASED = "(erased)"


async def forget(tx: Transaction, guild_id: int, user_id: int, now: datetime) -> int:
    """Returns how many waiting redemptions were closed."""
    pending = await tx.fetchall(
        "SELECT id FROM redemptions WHERE guild_id = ? AND user_id = ? AND status = 'pending' ORDER BY id",
        (guild_id, user_id),
    )
    for row in pending:
        await refund(tx, int(row["id"]), "cancelled", "the member's data was erased", now, tell=False)
    await tx.execute(
        """UPDATE redemptions SET code = NULL, remote_ref = NULL,
               error = CASE WHEN error IS NULL THEN NULL ELSE ? END,
               close_reason = CASE WHEN close_reason IS NULL THEN NULL ELSE ? END
           WHERE guild_id = ? AND user_id = ?""",
        (ERASED, ERASED, guild_id, user_id),
    )
    return len(pending)
