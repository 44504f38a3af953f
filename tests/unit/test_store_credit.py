"""Store credit (issue 18 item 4) with a real migrated database: choosing the method, what Mark paid records and
owes, once, and what happens without a shop."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.db import Database
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.services.affiliates import runs, store_credit
from bot.services.shop import connection
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador
from tests.unit.store_credit_world import ANN, RUN_AT, SOLD, pay, statement_to_pay


async def outbox(db: Database, topic: str) -> list[tuple[str, dict[str, int]]]:
    rows = await db.fetchall("SELECT key, payload FROM outbox WHERE topic = ? ORDER BY id", (topic,))
    return [(r["key"], json.loads(r["payload"])) for r in rows]


async def test_store_credit_cannot_be_chosen_without_a_connected_shop(db: Database) -> None:
    await add_ambassador(db, ANN, "Ann", SOLD, code="ANN1")
    with pytest.raises(InvalidInput, match="shop isn't connected"):
        async with db.transaction() as tx:
            await store_credit.set_method(tx, GUILD, ANN, "store_credit", SOLD)
    assert await store_credit.get_method(db, GUILD, ANN) == "cash"
    await db.perform(connection.record_connection, GUILD, "shopify", "x.myshopify.com", SOLD)
    async with db.transaction() as tx:
        assert await store_credit.set_method(tx, GUILD, ANN, "store_credit", SOLD) == ("cash", "store_credit")
    async with db.transaction() as tx:
        assert await store_credit.set_method(tx, GUILD, ANN, "store_credit", SOLD) == ("store_credit", "store_credit")
    assert await store_credit.get_method(db, GUILD, ANN) == "store_credit"
    audits = await db.fetchall("SELECT details FROM audit_log WHERE action = 'payouts.method'")
    assert len(audits) == 1  # a choice that changes nothing is not audited again
    with pytest.raises(InvalidInput):
        async with db.transaction() as tx:
            await store_credit.set_method(tx, GUILD, ANN, "bitcoin", SOLD)


async def test_only_ambassadors_choose_a_method(db: Database) -> None:
    await db.perform(connection.record_connection, GUILD, "shopify", "x.myshopify.com", SOLD)
    with pytest.raises(NotAllowed):
        async with db.transaction() as tx:
            await store_credit.set_method(tx, GUILD, 77, "store_credit", SOLD)


async def test_mark_paid_records_store_credit_and_owes_one_credit_through_the_outbox(db: Database) -> None:
    statement = await statement_to_pay(db)
    assert (statement.method, statement.total_minor, statement.currency) == ("store_credit", 1500, "USD")
    paid = await pay(db, statement)
    assert (paid.status, paid.method) == ("paid", "store_credit")
    credit = await store_credit.find_credit(db, statement.id)
    assert credit is not None
    assert (credit.platform, credit.amount_minor, credit.currency, credit.status) == ("shopify", 1500, "USD", "owed")
    assert len(credit.code) == store_credit.CODE_LENGTH and credit.code.isalnum()
    assert await outbox(db, store_credit.CREDIT_OWED) == [(str(statement.id), {"statement_id": statement.id})]
    assert [k for k, _ in await outbox(db, runs.STATEMENT_SENT)] == [f"{statement.id}:paid"]
    audit = await db.fetchval("SELECT details FROM audit_log WHERE action = 'payouts.paid'")
    assert json.loads(audit)["method"] == "store_credit" and credit.code not in audit  # the code is never audited
    # The method chosen later does not change how a paid statement was paid.
    async with db.transaction() as tx:
        await store_credit.set_method(tx, GUILD, ANN, "cash", RUN_AT)
    assert (await runs.get_statement(db, GUILD, statement.id)).method == "store_credit"


async def test_mark_paid_twice_at_once_owes_one_credit(db: Database) -> None:
    statement = await statement_to_pay(db)
    results = await asyncio.gather(pay(db, statement), pay(db, statement), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Statement"]
    assert await db.fetchval("SELECT COUNT(*) FROM store_credits") == 1
    assert len(await outbox(db, store_credit.CREDIT_OWED)) == 1
    with pytest.raises(Conflict):
        await pay(db, statement)


async def test_cash_statements_owe_no_credit(db: Database) -> None:
    statement = await statement_to_pay(db, method="cash")
    assert (await pay(db, statement, "PP-1")).method == "cash"
    assert await db.fetchval("SELECT COUNT(*) FROM store_credits") == 0
    assert await outbox(db, store_credit.CREDIT_OWED) == []


async def test_a_shop_disconnected_since_the_choice_means_paid_by_hand(db: Database) -> None:
    statement = await statement_to_pay(db)
    await db.execute("DELETE FROM shop_connections WHERE guild_id = ?", (GUILD,))
    paid = await pay(db, statement, "bank transfer 42")
    assert (paid.method, paid.reference) == ("cash", "bank transfer 42")
    assert await db.fetchval("SELECT COUNT(*) FROM store_credits") == 0


async def test_created_and_refused_are_recorded_once(db: Database) -> None:
    statement = await statement_to_pay(db)
    await pay(db, statement)
    assert await store_credit.owed_credits(db, GUILD) == [statement.id]
    assert await db.perform(store_credit.record_created, statement.id, "gid://shopify/GiftCard/1", RUN_AT)
    assert not await db.perform(store_credit.record_created, statement.id, "gid://shopify/GiftCard/1", RUN_AT)
    assert not await db.perform(store_credit.record_refused, statement.id, "late", RUN_AT)
    assert await outbox(db, store_credit.CREDIT_READY) == [(str(statement.id), {"statement_id": statement.id})]
    assert await store_credit.owed_credits(db, GUILD) == []
    credit = await store_credit.find_credit(db, statement.id)
    assert credit is not None
    assert await store_credit.codes_of_member(db, GUILD, ANN) == {statement.id: credit.code}
    assert await db.fetchval("SELECT COUNT(*) FROM audit_log WHERE details LIKE ?", (f"%{credit.code}%",)) == 0


async def test_a_former_ambassador_keeps_their_statements(db: Database) -> None:
    statement = await statement_to_pay(db, method="cash")
    await pay(db, statement, "PP-1")
    await db.execute("UPDATE members SET status = 'left' WHERE user_id = ?", (ANN,))
    (kept,) = await runs.statements_of_member(db, GUILD, ANN)
    assert (kept.id, kept.status) == (statement.id, "paid")


async def test_the_paypal_file_leaves_out_statements_paid_in_store_credit(db: Database) -> None:
    statement = await statement_to_pay(db)
    paypal = await runs.paypal_export(db, GUILD, [statement])
    assert paypal.files == {} and paypal.missing_email == []
    generic = runs.generic_csv([statement]).decode().splitlines()
    assert generic[0].endswith(",method") and generic[1].endswith(",store_credit")
