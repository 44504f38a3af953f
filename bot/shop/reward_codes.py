"""Creating the single-use code a redemption is owed, in the shop, exactly once.

The code itself was chosen in the redemption's unit of work (bot/services/rewards/redemptions.py), so every attempt
— the outbox's delivery after the commit, its retries, the retry loop, a restart after a crash — asks the shop for
the same code: ``deliver`` first looks for it (a crash right after the shop stored it leaves it there) and creates it
only when it is missing. The outcome is recorded guarded by the redemption's status (bot/services/rewards/
fulfilment.py): a redemption a moderator cancelled meanwhile is never fulfilled, and its code is switched off again.

What the shop says decides what follows, as for ambassador codes (bot/shop/code_push.py): unreachable, throttled or
5xx — ``ShopUnavailable`` propagates and the work is retried; a bad token or a missing scope — the connection's
problem is recorded (moderators hear once) and it is retried; a refusal of the code itself — the redemption fails
and the member's points and the item come back. Nothing here logs a code or a member.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Literal

from bot.clock import Clock
from bot.db import Database
from bot.services.rewards import fulfilment, redemptions
from bot.services.rewards.fulfilment import CodeTarget
from bot.services.shop import connection
from bot.shop.connector import REWARD_MARKER, RemoteCode, RewardCodeSpec, ShopConnector
from bot.shop.errors import ShopAuthError, ShopError, ShopScopeError, ShopUnavailable, ShopUserErrors

log = logging.getLogger(__name__)

Outcome = Literal["created", "adopted", "refused", "cancelled", "gone"]


def spec_for(target: CodeTarget) -> RewardCodeSpec:
    return RewardCodeSpec(target.code, target.starts_at, target.ends_at, target.amount_minor, target.currency,
                          target.product_id)  # fmt: skip


def refusal_text(error: str) -> str:
    return f"The shop couldn't create the code: {error}"[:500]


async def _find_or_create(connector: ShopConnector, spec: RewardCodeSpec) -> tuple[RemoteCode, bool]:
    """(the code in the shop, whether it was already there). Raises ``ShopError`` subclasses."""
    remote = await connector.find_code(spec.code)
    if remote is None:
        try:
            return await connector.create_single_use_code(spec), False
        except ShopUserErrors as exc:
            if not any(error.code == "TAKEN" for error in exc.errors):
                raise
            remote = await connector.find_code(spec.code)  # made between our look and our create
            if remote is None:
                raise
    if not remote.title.startswith(REWARD_MARKER):
        raise ShopError(f"the code is already used by another discount in {connector.label} (“{remote.title[:80]}”)")
    return remote, True


async def deliver(db: Database, clock: Clock, connector: ShopConnector, redemption_id: int) -> Outcome:
    target = await fulfilment.code_target(db, redemption_id)
    if target is None:
        return "gone"  # fulfilled, cancelled or failed already
    try:
        remote, adopted = await _find_or_create(connector, spec_for(target))
    except (ShopAuthError, ShopScopeError) as exc:
        await db.perform(connection.record_problem, target.guild_id, str(exc), clock.now())
        raise
    except ShopUnavailable:
        raise
    except ShopError as exc:
        await db.perform(redemptions.refund, redemption_id, "failed", refusal_text(str(exc)), clock.now())
        log.warning("shop refused reward code of redemption #%d in server %s: %s", redemption_id, target.guild_id,
                    type(exc).__name__)  # fmt: skip
        return "refused"
    now = clock.now()
    async with db.transaction() as tx:
        fulfilled = await fulfilment.record_code_created(tx, redemption_id, remote.ref, now)
        await connection.record_problem(tx, target.guild_id, None, now)
    if not fulfilled:
        try:  # cancelled while the shop was creating it: it must not stay usable
            await connector.set_active(remote.ref, False)
        except ShopError as exc:
            log.warning("could not switch off the code of cancelled redemption #%d: %s", redemption_id, exc)
        return "cancelled"
    return "adopted" if adopted else "created"


async def give_up_stale(db: Database, clock: Clock, guild_id: int) -> int:
    """Redemptions whose code the shop has not taken for ``GIVE_UP_AFTER_HOURS``: failed, points given back."""
    before = clock.now() - timedelta(hours=fulfilment.GIVE_UP_AFTER_HOURS)
    given_up = 0
    for redemption_id in await fulfilment.owed_codes(db, guild_id, older_than=before):
        reason = "The shop couldn't be reached to create the code for a whole day."
        if await db.perform(redemptions.refund, redemption_id, "failed", reason, clock.now()) is not None:
            given_up += 1
    return given_up
