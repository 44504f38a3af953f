"""Commission that can be trusted (issue 18): the holding period, refunds inside and after it, first-order rates,
bonuses per currency, minimum payouts carried over, runs that never pay twice, statements marked paid once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import Conflict, InvalidInput
from bot.services.affiliates import commission, rules, runs
from bot.services.affiliates.commission import Frozen, LedgerRow, derive
from bot.services.affiliates.rules import Rule
from bot.services.sales import orders
from bot.services.sales.ledger import share
from bot.services.sales.orders import SalesSettings
from bot.services.sales.payloads import OrderIn, RefundIn
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador, add_tier
from tests.postgres import INTEGRITY_ERRORS

UTC_ZONE = ZoneInfo("UTC")
MOD = 900


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


async def sale(db: Database, code: str, order_id: str, net: int, when: datetime, currency: str = "EUR",
               email: str | None = None) -> None:  # fmt: skip
    item = OrderIn("generic", order_id, None, (code,), currency, net, 0, when, True, email=email)
    async with db.transaction() as tx:
        await orders.record_order(tx, GUILD, item, source="webhook", now=when, settings=SalesSettings())


async def refund(db: Database, order_id: str, amount: int, when: datetime, refund_id: str = "r1") -> None:
    async with db.transaction() as tx:
        await orders.record_refund(
            tx, GUILD, RefundIn("generic", order_id, refund_id, amount, None, when), source="webhook", now=when
        )


async def run(db: Database, period: str, now: datetime) -> runs.Run:
    async with db.transaction() as tx:
        return await runs.run_period(tx, GUILD, period, UTC_ZONE, now, actor_id=MOD)


async def balance(db: Database, user_id: int, now: datetime) -> dict[str, tuple[int, int]]:
    return {b.currency: (b.pending_minor, b.payable_minor) for b in await commission.balances(db, GUILD, user_id, now)}


@pytest.fixture
async def ann(db: Database, clock: FixedClock) -> int:
    await add_tier(db, "affiliate", 1000)  # 10 %
    await add_ambassador(db, 1, "Ann", at(9, 1), code="ANN10", tier="affiliate", email="ann@example.com")
    return 1


async def test_a_refund_inside_the_window_reduces_the_commission_before_it_is_due(db: Database, ann: int) -> None:
    await sale(db, "ANN10", "1", 10_000, at(11, 2))
    assert await balance(db, ann, at(11, 3)) == {"EUR": (1000, 0)}  # pending for 30 days
    await refund(db, "1", 5_000, at(11, 10))
    assert await balance(db, ann, at(11, 10)) == {"EUR": (500, 0)}
    assert await balance(db, ann, at(12, 3)) == {"EUR": (0, 500)}  # due on 2 December
    november = await run(db, "2026-11", at(12, 5))
    assert november.statements == []  # nothing was due before December
    december = await run(db, "2026-12", at(1, 2, 2027))
    (statement,) = december.statements
    assert (statement.sales_minor, statement.refunds_minor, statement.adjustments_minor) == (1000, -500, 0)
    assert (statement.total_minor, statement.status) == (500, "open")
    assert await balance(db, ann, at(1, 2, 2027)) == {"EUR": (0, 500)}  # in a statement, not paid yet


async def test_a_refund_after_the_window_is_next_runs_adjustment_and_the_paid_statement_stays(
    db: Database, ann: int
) -> None:
    await sale(db, "ANN10", "1", 10_000, at(10, 1))
    await sale(db, "ANN10", "2", 4_000, at(10, 20))
    october = await run(db, "2026-10", at(11, 2))  # order 1 due 31 October; order 2 not until 19 November
    (statement,) = october.statements
    assert (statement.orders, statement.total_minor) == (1, 1000)
    async with db.transaction() as tx:
        await runs.mark_paid(tx, GUILD, statement.id, "PP-1", at(11, 3), actor_id=MOD)
    await refund(db, "1", 10_000, at(11, 5))  # after its window: the paid statement cannot change
    assert await balance(db, ann, at(11, 6)) == {"EUR": (400, -1000)}
    november = await run(db, "2026-11", at(12, 1))
    (after,) = november.statements
    assert (after.sales_minor, after.adjustments_minor, after.total_minor) == (400, -1000, -600)
    assert after.status == "carried"  # never a negative payout: the balance waits for future sales
    paid = await runs.get_statement(db, GUILD, statement.id)
    assert (paid.status, paid.total_minor, paid.reference) == ("paid", 1000, "PP-1")
    with pytest.raises(INTEGRITY_ERRORS, match="paid statement"):
        await db.execute("UPDATE payout_statements SET total_minor = 0 WHERE id = ?", (statement.id,))
    with pytest.raises(INTEGRITY_ERRORS):
        await db.execute("UPDATE payout_items SET amount_minor = 0")


async def test_first_order_rate_and_bonus_per_currency(db: Database, ann: int) -> None:
    async with db.transaction() as tx:
        await rules.set_rule(tx, GUILD, "affiliate", at(9, 1), actor_id=MOD, first_order_rate="20")
        await rules.set_rule(tx, GUILD, "affiliate", at(9, 1), actor_id=MOD, bonus="2.50", currency="eur")
    await sale(db, "ANN10", "1", 10_000, at(10, 1), email="Buyer@Example.com")  # first: 20 % + 2.50
    await sale(db, "ANN10", "2", 10_000, at(10, 2), email="buyer@example.com ")  # seen before: 10 % + 2.50
    await sale(db, "ANN10", "3", 10_000, at(10, 3))  # no email: never a first order
    await sale(db, "ANN10", "4", 10_000, at(10, 4), currency="USD", email="new@example.com")  # no USD bonus
    assert await balance(db, ann, at(10, 5)) == {"EUR": (2250 + 1250 + 1250, 0), "USD": (2000, 0)}
    described = (await rules.rules_by_tier(db, GUILD))["affiliate"].describe()
    assert described == "10% of net sales · 20% on a buyer's first order · +2.50 EUR per order in EUR"
    with pytest.raises(InvalidInput):
        async with db.transaction() as tx:
            await rules.set_rule(tx, GUILD, "affiliate", at(9, 1), actor_id=MOD, bonus="2.505", currency="EUR")


async def test_below_the_minimum_is_carried_into_the_next_statement(db: Database, ann: int) -> None:
    async with db.transaction() as tx:
        await rules.set_payout_settings(tx, GUILD, at(9, 1), actor_id=MOD, hold_days=0, minimum="50", currency="EUR")
    await sale(db, "ANN10", "1", 30_000, at(10, 5))  # 30.00 EUR
    await sale(db, "ANN10", "2", 1_000, at(10, 6), currency="JPY")  # 100 JPY: no minimum in JPY
    october = await run(db, "2026-10", at(11, 1))
    by_currency = {s.currency: s for s in october.statements}
    assert (by_currency["EUR"].status, by_currency["EUR"].total_minor, by_currency["EUR"].minimum_minor) == (
        "carried", 3000, 5000)  # fmt: skip
    assert by_currency["JPY"].status == "open"
    await sale(db, "ANN10", "3", 30_000, at(11, 5))
    november = await run(db, "2026-11", at(12, 1))
    (eur,) = november.statements
    assert (eur.carried_in_minor, eur.total_minor, eur.status) == (3000, 6000, "open")
    carried = await runs.get_statement(db, GUILD, by_currency["EUR"].id)
    assert carried.carried_into == eur.id
    assert await run(db, "2026-12", at(1, 1, 2027)) is not None  # nothing new: no statement, nothing carried twice
    assert (await runs.find_run(db, GUILD, "2026-12")).statements == []  # type: ignore[union-attr]


async def test_a_period_run_twice_pays_nothing_twice(db: Database, ann: int) -> None:
    await sale(db, "ANN10", "1", 10_000, at(9, 20))
    first = await run(db, "2026-10", at(11, 1))
    again = await run(db, "2026-10", at(11, 2))
    assert (first.created, again.created, again.id) == (True, False, first.id)
    assert [s.id for s in again.statements] == [s.id for s in first.statements]
    assert await db.fetchval("SELECT COUNT(*) FROM payout_statements") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'payouts.run'") == 1
    with pytest.raises(Conflict, match="runs go forward"):
        await run(db, "2026-09", at(11, 2))
    with pytest.raises(InvalidInput, match="isn't over yet"):
        await run(db, "2026-11", at(11, 2))


async def test_mark_paid_twice_at_once_one_wins(db: Database, ann: int) -> None:
    await sale(db, "ANN10", "1", 10_000, at(9, 20))
    (statement,) = (await run(db, "2026-10", at(11, 1))).statements

    async def pay(reference: str, actor: int) -> str:
        try:
            async with db.transaction() as tx:
                await runs.mark_paid(tx, GUILD, statement.id, reference, at(11, 2), actor_id=actor)
            return "won"
        except Conflict as exc:
            return exc.user_message

    results = await asyncio.gather(pay("PP-A", MOD), pay("PP-B", MOD + 1))
    assert results[0] == "won" and "already marked paid by {member:900}" in results[1]
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'payouts.paid'") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE topic = ?", (runs.STATEMENT_SENT,)) == 1


async def test_two_currencies_two_statements_and_both_exports(db: Database, ann: int) -> None:
    await add_ambassador(db, 2, "=Ben", at(9, 1), code="BEN10", tier="affiliate")  # no email on file
    await sale(db, "ANN10", "1", 10_000, at(9, 10))
    await sale(db, "ANN10", "2", 20_000, at(9, 11), currency="USD")
    await sale(db, "BEN10", "3", 5_000, at(9, 12))
    october = await run(db, "2026-10", at(11, 1))
    assert sorted((s.user_id, s.currency, s.total_minor) for s in october.statements) == [
        (1, "EUR", 1000), (1, "USD", 2000), (2, "EUR", 500)]  # fmt: skip
    generic = runs.generic_csv(october.statements).decode().splitlines()
    assert generic[0] == ",".join(runs.GENERIC_HEADER)
    assert any(line.split(",")[3] == "'=Ben" for line in generic[1:])
    paypal = await runs.paypal_export(db, GUILD, october.statements)
    assert sorted(paypal.files) == ["EUR", "USD"]
    eur_id = next(s.id for s in october.statements if (s.user_id, s.currency) == (1, "EUR"))
    assert paypal.files["EUR"].decode() == (
        f"ann@example.com,10.00,EUR,collective-{eur_id},Commission October 2026 - statement {eur_id},PAYPAL\n"
    )
    assert [s.user_id for s in paypal.missing_email] == [2]


# -- the sums hold whatever happens ----------------------------------------------------------------------------

EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["sale", "refund", "run", "pay"]),
        st.integers(0, 5),  # which order
        st.integers(1, 20_000),  # amount
        st.integers(0, 40),  # days forward
    ),
    max_size=25,
)


async def sum_of(db: Database, column: str, rest: str, *params: object) -> int:
    return int(await db.fetchval(f"SELECT COALESCE(SUM({column}), 0) {rest}", params))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS, hold=st.integers(0, 45), minimum=st.integers(0, 3_000))
async def test_statements_plus_carried_plus_unfrozen_equal_the_ledger(
    tmp_path_factory: pytest.TempPathFactory, events: list[tuple[str, int, int, int]], hold: int, minimum: int
) -> None:
    db = await Database.open(tmp_path_factory.mktemp("prop") / "c.db")
    try:
        await db.migrate()
        await add_tier(db, "affiliate", 1250)
        await add_ambassador(db, 1, "Ann", at(1, 1), code="ANN10", tier="affiliate")
        async with db.transaction() as tx:
            await rules.set_payout_settings(tx, GUILD, at(1, 1), actor_id=MOD, hold_days=hold, minimum=str(minimum),
                                            currency="JPY")  # fmt: skip
        now, sold, refunds = at(1, 2), set(), 0
        for kind, order, amount, days in events:
            now += timedelta(days=days)
            if kind == "sale" and order not in sold:
                await sale(db, "ANN10", str(order), amount, now, currency="JPY")
                sold.add(order)
            elif kind == "refund" and order in sold:
                refunds += 1
                await refund(db, str(order), amount, now, refund_id=str(refunds))
            elif kind == "run":
                month = now.strftime("%Y-%m")
                previous = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
                latest = await db.fetchval("SELECT MAX(period) FROM payout_runs")
                if latest is None or latest <= previous:
                    await run(db, previous, now)
                assert month  # the current month is never over
            elif kind == "pay":
                open_id = await db.fetchval("SELECT MIN(id) FROM payout_statements WHERE status = 'open'")
                if open_id is not None:
                    async with db.transaction() as tx:
                        await runs.mark_paid(tx, GUILD, int(open_id), "PP", now, actor_id=MOD)
        # What the ledger says is earned, sale by sale: commission less the refunded share.
        expected = 0
        for row in await db.fetchall("SELECT order_id, net_minor FROM sales WHERE kind = 'sale'"):
            back = -await sum_of(db, "net_minor", "FROM sales WHERE kind = 'refund' AND order_id = ?", row[0])
            whole = rules.rate_of(int(row[1]), 1250)
            expected += whole - share(whole, back, int(row[1]))
        orphan = await sum_of(db, "amount_minor", "FROM payout_items WHERE statement_id IS NULL")
        assert orphan == 0  # only rows earning nothing are frozen outside a statement
        paid = await sum_of(db, "total_minor", "FROM payout_statements WHERE status = 'paid'")
        far = now + timedelta(days=400)
        owed = sum(b.pending_minor + b.payable_minor for b in await commission.balances(db, GUILD, 1, far))
        assert paid + owed == expected  # open and carried statements, and what no run froze yet: the rest
        statements = await db.fetchall("SELECT * FROM payout_statements")
        for s in statements:
            assert s["status"] != "open" or (s["total_minor"] > 0 and s["total_minor"] >= s["minimum_minor"])
            items = await sum_of(db, "amount_minor", "FROM payout_items WHERE statement_id = ?", s["id"])
            assert s["total_minor"] == items + s["carried_in_minor"]
    finally:
        await db.close()


def test_derive_keeps_what_was_frozen_and_prices_late_refunds_from_the_frozen_base() -> None:
    sale_row = LedgerRow(1, "sale", ("generic", "1"), 7, 10_000, "EUR", at(10, 1))
    late = LedgerRow(2, "refund", ("generic", "1"), 7, -2_500, "EUR", at(10, 2))  # inside the window, but late
    items = derive([sale_row, late], {1: Frozen("sale", 1500, 1500)}, lambda _: Rule(1000), timedelta(days=30))
    assert [(i.kind, i.amount_minor, i.frozen) for i in items] == [("sale", 1500, True), ("adjustment", -375, False)]
