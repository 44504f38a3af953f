"""Making the shop hold what each ambassador code is: create, adopt, update, activate or deactivate.

One function serves the push after a code change (the ``shop.code_push`` outbox row), the retry of codes left
pending, and ``/shop sync``: ``push_code`` reads the code as it is now, asks the shop what it holds under that code,
and changes only what differs — so running it twice, or after a crash between the commit and the push, changes
nothing more. Its result is recorded with the version it pushed (bot/services/shop/code_state.py).

What the shop says decides what follows:
- it could not be reached, throttled us for too long, or answered 5xx: ``ShopUnavailable`` propagates and the
  work is retried (the outbox's backoff, then the pending-code retry);
- the token or a scope is wrong: the connection's problem is recorded (moderators hear once) and the work is
  retried the same way, so it goes through once the brand fixes the app;
- it refused the code itself (``userErrors``, a code taken by a discount Collective did not make, a discount in
  another currency): the code is ``failed`` with the shop's own words, told to moderators once.
Nothing here logs a code or a member: codes are the ambassador's and the moderators' only.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from bot.clock import Clock
from bot.db import Database
from bot.services.shop import code_state, connection
from bot.services.shop.code_state import PushTarget
from bot.services.shop.discounts import CodeDiscount
from bot.shop.connector import CodeSpec, RemoteCode, ShopConnector
from bot.shop.errors import ShopAuthError, ShopError, ShopScopeError, ShopUnavailable, ShopUserErrors

log = logging.getLogger(__name__)

Outcome = Literal["created", "adopted", "updated", "activated", "deactivated", "unchanged", "refused", "gone"]


class CodeTaken(ShopError):
    """The shop holds the code for a discount Collective did not make, and it gives something else."""


@dataclass(frozen=True)
class PushResult:
    code_id: int
    outcome: Outcome
    error: str | None = None


def same_discount(held: CodeDiscount | None, wanted: CodeDiscount) -> bool:
    """Whether the shop's discount gives what Collective wants (a currency only counts when both name one)."""
    if held is None:
        return False
    if held.currency and wanted.currency and held.currency != wanted.currency:
        return False
    return replace(held, currency=None) == replace(wanted, currency=None)


def same_value(held: CodeDiscount | None, wanted: CodeDiscount) -> bool:
    """Whether the shop's discount takes the same off (kind and value): such a code is adopted, and its conditions
    (once per customer, minimum, combinations) brought in line."""
    if held is None or (held.kind, held.value) != (wanted.kind, wanted.value):
        return False
    return not (held.currency and wanted.currency and held.currency != wanted.currency)


def taken_message(code: str, shop: str, title: str) -> str:
    return (
        f"`{code}` already exists in {shop} as “{title[:80]}”, a discount Collective did not create and that gives "
        f"something else, so it was left alone. Rename or delete that discount in the shop, or give the member "
        f"another code: /codes regenerate, or a vanity code such as `{code[:30]}2`."
    )


async def reconcile(connector: ShopConnector, spec: CodeSpec) -> tuple[Outcome, RemoteCode | None]:
    """Make the shop hold ``spec``, changing only what differs. Raises ``ShopError`` subclasses."""
    remote = await connector.find_code(spec.code)
    if remote is None:
        if not spec.active:
            return "unchanged", None  # a paused or retired code the shop never held: nothing to switch off
        try:
            return "created", await connector.create_code(spec)
        except ShopUserErrors as exc:
            if not any(error.code == "TAKEN" for error in exc.errors):
                raise
            remote = await connector.find_code(spec.code)  # made between our look and our create
            if remote is None:
                raise
    outcome: Outcome = "unchanged"
    if not remote.ours:
        if not same_value(remote.discount, spec.discount):
            raise CodeTaken(taken_message(spec.code, connector.label, remote.title))
        outcome = "adopted"
    if outcome == "adopted" or remote.title != spec.title or not same_discount(remote.discount, spec.discount):
        await connector.update_code(remote.ref, spec)
        outcome = "adopted" if outcome == "adopted" else "updated"
    if remote.active != spec.active:
        await connector.set_active(remote.ref, spec.active)
        if outcome == "unchanged":
            outcome = "activated" if spec.active else "deactivated"
    return outcome, remote


def spec_for(target: PushTarget) -> CodeSpec:
    return CodeSpec(target.code, target.discount, target.active, target.created_at)


class CodePusher:
    """Pushes codes for one process; a lock per code keeps a sync and a background push from racing."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def push(self, connector: ShopConnector, code_id: int) -> PushResult:
        async with self._locks[code_id]:  # one small lock per code ever pushed: bounded by the program's codes
            return await self._push(connector, code_id)

    async def _push(self, connector: ShopConnector, code_id: int) -> PushResult:
        target = await code_state.push_target(self._db, code_id)
        if target is None:
            return PushResult(code_id, "gone")
        version = target.version
        try:
            outcome, remote = await reconcile(connector, spec_for(target))
        except (ShopAuthError, ShopScopeError) as exc:
            await self._db.perform(connection.record_problem, target.guild_id, str(exc), self._clock.now())
            raise
        except ShopUnavailable:
            raise
        except ShopError as exc:
            await self._db.perform(code_state.record_refused, target, version, str(exc), self._clock.now())
            log.warning("shop refused code #%d of server %s: %s", code_id, target.guild_id, type(exc).__name__)
            return PushResult(code_id, "refused", str(exc))
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await code_state.record_pushed(tx, code_id, version, None if remote is None else remote.ref,
                                           target.active, now)  # fmt: skip
            await connection.record_problem(tx, target.guild_id, None, now)
        return PushResult(code_id, outcome)


@dataclass
class SyncReport:
    checked: int = 0
    changed: dict[str, int] | None = None
    refused: int = 0
    unreachable: str | None = None  # the shop stopped answering part-way: the rest stays for the next run

    def count(self, outcome: Outcome) -> None:
        self.checked += 1
        if outcome == "refused":
            self.refused += 1
        elif outcome not in ("unchanged", "gone"):
            self.changed = self.changed or {}
            self.changed[outcome] = self.changed.get(outcome, 0) + 1


ProgressCallback = Callable[[int, int, SyncReport], Awaitable[None]]  # (done, total, so far)


async def sync_codes(
    pusher: CodePusher,
    db: Database,
    connector: ShopConnector,
    guild_id: int,
    now: datetime,
    *,
    progress: ProgressCallback | None = None,
) -> SyncReport:
    """``/shop sync``: every code the shop should know, created or repaired; what already matches is left alone."""
    candidates = await code_state.sync_candidates(db, guild_id)
    await db.perform(code_state.ensure_rows, guild_id, candidates, now)
    report = SyncReport()
    for index, code_id in enumerate(candidates, start=1):
        try:
            result = await pusher.push(connector, code_id)
        except ShopError as exc:
            report.unreachable = str(exc)
            break
        report.count(result.outcome)
        if progress is not None:
            await progress(index, len(candidates), report)
    if report.unreachable is None:
        await db.perform(connection.record_synced, guild_id, now)
    return report
