"""Fuzzing the Shopify orders import (/codes import): one order of a real export's shape has hostile cells,
or the file's bytes are damaged.

Property: the import never fails with anything but a clear ``InvalidInput`` for the whole file (and then stores
nothing); otherwise the good orders around the damaged one are counted, the damaged one is counted or reported
with its line number, and importing the same file again adds nothing.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import CollectiveError
from bot.services.sales.csv_import import ImportReport, import_shopify_csv
from tests.fixtures.commerce.sales_world import GUILD, HERE, add_ambassador
from tests.reliability.fuzz_strategies import FUZZ, any_text, attempt, dates, near, numbers, snapshot

RUNS = itertools.count(100)
COLUMNS = (HERE / "shopify_orders_export_header.csv").read_text(encoding="utf-8").strip().split(",")
SHOPIFY_TIMES = st.tuples(
    dates(), st.sampled_from([":00 +1400", ":59 -1200", " +0000", ":00 +9999", ":00 -0500", ""])
).map(lambda parts: parts[0] + parts[1])
MONEY = ("Subtotal", "Discount Amount", "Lineitem price", "Total", "Lineitem quantity", "Id")
# Hostile values for a column: shaped like what it holds (money, times, currencies) or anything at all.
CELLS = {
    **{column: st.one_of(numbers(), any_text(60)) for column in MONEY},
    "Created at": st.one_of(SHOPIFY_TIMES, any_text(60)),
    "Currency": st.one_of(near(["USD", "JPY", "KWD"], 10), st.sampled_from(["usd", " EUR", "XXX", "€"])),
    "Discount Code": near(["ALICE10", "ALICE10, FREESHIP"], 200),
}
TARGETS = st.one_of(st.sampled_from(sorted(CELLS)), st.sampled_from(COLUMNS))


def order_rows(name: str, code: str, order_id: str) -> list[dict[str, str]]:
    first = {"Name": name, "Currency": "USD", "Subtotal": "50.00", "Discount Code": code, "Discount Amount": "5.00",
             "Created at": "2026-11-20 15:30:00 -0500", "Financial Status": "paid", "Lineitem quantity": "1",
             "Lineitem price": "55.00", "Email": "buyer@example.com", "Id": order_id}  # fmt: skip
    second = {"Name": name, "Lineitem quantity": "2", "Lineitem price": "1.00"}
    return [first, second]


def encode(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.get(column, "") for column in COLUMNS])
    return out.getvalue().encode()


@pytest.fixture
async def shop(db: Database, clock: FixedClock) -> AsyncIterator[Database]:
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    yield db


async def sales_of(db: Database, order_id: str) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM sales WHERE guild_id = ? AND order_id = ?", (GUILD, order_id)))


@FUZZ
@given(column=TARGETS, on_second_row=st.booleans(), data=st.data())
async def test_a_hostile_cell_spoils_only_its_own_order(
    shop: Database, clock: FixedClock, column: str, on_second_row: bool, data: st.DataObject
) -> None:
    value = data.draw(CELLS.get(column, any_text(200)), label="value")
    run = str(next(RUNS))  # fresh order ids per example
    ids = [f"7{run}1", f"7{run}2", f"7{run}3"]
    rows = order_rows("#A" + run, "ALICE10", ids[0])
    damaged = order_rows("#B" + run, "ALICE10", ids[1])
    damaged[1 if on_second_row else 0][column] = value
    rows += damaged + order_rows("#C" + run, "alice10", ids[2])
    export = encode(rows)

    async def load() -> ImportReport:
        return await import_shopify_csv(shop, GUILD, export, filename="orders.csv", actor_id=9, now=clock.now())

    report = await attempt(shop, load)
    if isinstance(report, CollectiveError):
        return  # the header itself was damaged: the whole file was nothing stored (checked by attempt)
    assert await sales_of(shop, ids[0]) == 1 and await sales_of(shop, ids[2]) == 1, report
    assert report.rejected_count > 0 or report.orders_read >= 2, report
    before = await snapshot(shop)
    again = await import_shopify_csv(shop, GUILD, export, filename="orders.csv", actor_id=9, now=clock.now())
    after = await snapshot(shop)
    assert again.attributed == 0
    assert {t: rows for t, rows in before.items() if t != "sales_imports"} == {
        t: rows for t, rows in after.items() if t != "sales_imports"
    }, "importing the same file again changed the ledger"


@FUZZ
@given(
    cut=st.integers(0, 10_000),
    junk=st.one_of(st.binary(max_size=40), st.sampled_from([b"\x00", b'"', b"\xff\xfe", b"\r", b'"\n"', b"\xef\xbb"])),
)
async def test_damaged_bytes_are_reported_not_raised(shop: Database, clock: FixedClock, cut: int, junk: bytes) -> None:
    data = encode(order_rows("#D1", "ALICE10", "8001") + order_rows("#D2", "BOGUS", "8002"))
    where = cut % (len(data) + 1)
    damaged = data[:where] + junk + data[where:]

    async def load() -> ImportReport:
        return await import_shopify_csv(shop, GUILD, damaged, filename="x.csv", actor_id=9, now=clock.now())

    await attempt(shop, load)
