"""Commission rules per tier and the payout settings (holding period, minimum payout per currency).

A tier's rule: its rate on net sales (``tiers.commission_bp``, the one rate /settings tier sets too), an optional
first-order rate for a buyer the ledger has never seen (by email hash; an order without an email is never a first
order — it cannot be told apart from a returning buyer, so it earns the ordinary rate), and an optional fixed bonus
per order, set per currency: only orders in a currency with a bonus earn one (nothing is ever converted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.errors import InvalidInput
from bot.services.program import audit
from bot.services.program.tiers import Tier, get_tier, list_tiers, parse_commission
from bot.services.sales.payloads import PayloadError, currency_code, format_minor, to_minor

DEFAULT_HOLD_DAYS = 30


@dataclass(frozen=True)
class Rule:
    rate_bp: int = 0
    first_order_bp: int | None = None
    bonuses: dict[str, int] = field(default_factory=dict)  # currency → minor units per order

    def commission(self, net_minor: int, currency: str, *, first_order: bool) -> int:
        """What one sale earns: the rate (the first-order rate for a new buyer) on its net, plus the bonus."""
        rate = self.first_order_bp if first_order and self.first_order_bp is not None else self.rate_bp
        return rate_of(net_minor, rate) + self.bonuses.get(currency, 0)

    def describe(self) -> str:
        parts = [f"{percent(self.rate_bp)} of net sales"]
        if self.first_order_bp is not None:
            parts.append(f"{percent(self.first_order_bp)} on a buyer's first order")
        parts += [f"+{format_minor(v, c)} per order in {c}" for c, v in sorted(self.bonuses.items())]
        return " · ".join(parts)


NO_RULE = Rule()


def rate_of(net_minor: int, bp: int) -> int:
    """Basis points of a positive net, rounded half up; never negative."""
    if net_minor <= 0 or bp <= 0:
        return 0
    return (net_minor * bp + 5000) // 10000


def percent(bp: int) -> str:
    whole, rest = divmod(bp, 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


@dataclass(frozen=True)
class PayoutSettings:
    hold_days: int = DEFAULT_HOLD_DAYS
    minimums: dict[str, int] = field(default_factory=dict)  # currency → minor units

    def minimum(self, currency: str) -> int:
        return self.minimums.get(currency, 0)


async def get_payout_settings(db: Database | Transaction, guild_id: int) -> PayoutSettings:
    hold = await db.fetchval("SELECT hold_days FROM payout_settings WHERE guild_id = ?", (guild_id,))
    rows = await db.fetchall("SELECT currency, minimum_minor FROM payout_minimums WHERE guild_id = ?", (guild_id,))
    return PayoutSettings(
        DEFAULT_HOLD_DAYS if hold is None else int(hold), {r["currency"]: int(r["minimum_minor"]) for r in rows}
    )


def parse_money(amount: str, currency: str, what: str) -> tuple[int, str]:
    """'50' or '12.50' with 'eur' → (minor units, 'EUR'); refuses what the currency cannot hold."""
    try:
        code = currency_code(currency)
        return to_minor(amount.strip(), code, what), code
    except PayloadError as exc:
        raise InvalidInput(f"{what}: {exc}".replace(f"{what}: {what}: ", f"{what}: ")) from None


async def set_payout_settings(
    tx: Transaction,
    guild_id: int,
    now: datetime,
    *,
    actor_id: int | None,
    hold_days: int | None = None,
    minimum: str | None = None,
    currency: str | None = None,
) -> PayoutSettings:
    if hold_days is not None:
        if not 0 <= hold_days <= 365:
            raise InvalidInput("The holding period is 0 to 365 days.")
        await tx.execute(
            """INSERT INTO payout_settings (guild_id, hold_days, updated_at) VALUES (?, ?, ?)
               ON CONFLICT (guild_id) DO UPDATE SET hold_days = excluded.hold_days, updated_at = excluded.updated_at""",
            (guild_id, hold_days, to_db(now)),
        )
    if minimum is not None or currency is not None:
        if minimum is None or currency is None:
            raise InvalidInput("Give the minimum payout with its currency, e.g. minimum `50` currency `EUR`.")
        minor, code = parse_money(minimum, currency, "Minimum payout")
        if minor == 0:
            await tx.execute("DELETE FROM payout_minimums WHERE guild_id = ? AND currency = ?", (guild_id, code))
        else:
            await tx.execute(
                """INSERT INTO payout_minimums (guild_id, currency, minimum_minor) VALUES (?, ?, ?)
                   ON CONFLICT (guild_id, currency) DO UPDATE SET minimum_minor = excluded.minimum_minor""",
                (guild_id, code, minor),
            )
    after = await get_payout_settings(tx, guild_id)
    if hold_days is not None or minimum is not None:
        await audit.record(
            tx, guild_id, actor_id, "payouts.settings", None, now, hold_days=after.hold_days,
            minimums={c: format_minor(v, c) for c, v in after.minimums.items()},
        )  # fmt: skip
    return after


async def rules_by_tier(db: Database | Transaction, guild_id: int) -> dict[str, Rule]:
    firsts = {
        r["tier"]: r["first_order_bp"]
        for r in await db.fetchall("SELECT tier, first_order_bp FROM commission_rules WHERE guild_id = ?", (guild_id,))
    }
    bonuses: dict[str, dict[str, int]] = {}
    for r in await db.fetchall(
        "SELECT tier, currency, bonus_minor FROM commission_bonuses WHERE guild_id = ?", (guild_id,)
    ):
        bonuses.setdefault(r["tier"], {})[r["currency"]] = int(r["bonus_minor"])
    return {
        t.key: Rule(t.commission_bp, firsts.get(t.key), bonuses.get(t.key, {})) for t in await list_tiers(db, guild_id)
    }


async def set_rule(
    tx: Transaction,
    guild_id: int,
    tier_key: str,
    now: datetime,
    *,
    actor_id: int | None,
    rate: str | None = None,
    first_order_rate: str | None = None,
    bonus: str | None = None,
    currency: str | None = None,
) -> tuple[Tier, Rule]:
    """Change a tier's rule; ``first_order_rate`` 'none' removes it, ``bonus`` 0 removes the currency's bonus."""
    tier = await get_tier(tx, guild_id, tier_key)
    if rate is None and first_order_rate is None and bonus is None and currency is None:
        raise InvalidInput("Give at least one of rate, first_order_rate or bonus (with its currency).")
    if rate is not None:
        await tx.execute(
            "UPDATE tiers SET commission_bp = ? WHERE guild_id = ? AND key = ?",
            (parse_commission(rate), guild_id, tier.key),
        )
    if first_order_rate is not None:
        text = first_order_rate.strip().lower()
        bp = None if text in ("none", "off", "-", "") else parse_commission(text)
        await tx.execute(
            """INSERT INTO commission_rules (guild_id, tier, first_order_bp) VALUES (?, ?, ?)
               ON CONFLICT (guild_id, tier) DO UPDATE SET first_order_bp = excluded.first_order_bp""",
            (guild_id, tier.key, bp),
        )
    if bonus is not None or currency is not None:
        if bonus is None or currency is None:
            raise InvalidInput("Give the bonus with its currency, e.g. bonus `2.00` currency `EUR`.")
        minor, code = parse_money(bonus, currency, "Bonus")
        if minor == 0:
            await tx.execute(
                "DELETE FROM commission_bonuses WHERE guild_id = ? AND tier = ? AND currency = ?",
                (guild_id, tier.key, code),
            )
        else:
            await tx.execute(
                """INSERT INTO commission_bonuses (guild_id, tier, currency, bonus_minor) VALUES (?, ?, ?, ?)
                   ON CONFLICT (guild_id, tier, currency) DO UPDATE SET bonus_minor = excluded.bonus_minor""",
                (guild_id, tier.key, code, minor),
            )
    rule = (await rules_by_tier(tx, guild_id))[tier.key]
    await audit.record(tx, guild_id, actor_id, "payouts.rules", None, now, tier=tier.key, rule=rule.describe())
    return await get_tier(tx, guild_id, tier.key), rule
