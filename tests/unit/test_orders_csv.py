"""Shopify orders export import: grouping by Name, bad rows with line numbers, re-import, crash + resume."""

from __future__ import annotations

import pytest

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import InvalidInput
from bot.services.sales import csv_import as orders_csv
from bot.services.sales.csv_import import ImportReport, import_shopify_csv
from tests.fixtures.commerce.sales_world import GUILD, HERE, add_ambassador

HEADER = (HERE / "shopify_orders_export_header.csv").read_text(encoding="utf-8").strip()
COLUMNS = HEADER.split(",")


def row(**cells: str) -> str:
    def quote(value: str) -> str:
        return f'"{value}"' if "," in value else value

    return ",".join(quote(cells.get(name.replace(" ", "_"), "")) for name in COLUMNS)


def first(
    name: str, code: str = "", subtotal: str = "50.00", status: str = "paid",
    created: str = "2026-11-20 15:30:00 -0500", **extra: str,
) -> str:  # fmt: skip
    return row(Name=name, Currency="USD", Subtotal=subtotal, Discount_Code=code, Discount_Amount="5.00",
               Created_at=created, Financial_Status=status, Lineitem_quantity="1", **extra)  # fmt: skip


def export(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


async def run(db: Database, data: bytes, clock: FixedClock, **kwargs: object) -> ImportReport:
    return await import_shopify_csv(db, GUILD, data, filename="orders.csv", actor_id=9, now=clock.now(), **kwargs)  # type: ignore[arg-type]


async def test_orders_group_by_name_and_money_comes_from_the_first_row(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    data = export(
        first("#1001", "ann10", Id="9007199254740993", Email="buyer@example.com"),
        row(Name="#1001", Lineitem_quantity="2", Lineitem_price="10.00"),
        row(Name="#1001", Lineitem_quantity="1", Lineitem_price="5.00"),
        first("#1002", "STAFF"),
        first("#1003", "ANN10", status="pending"),
        first("#1004"),
    )
    report = await run(db, data, clock)
    assert (report.rows_read, report.orders_read, report.attributed) == (6, 4, 1)
    assert (report.unpaid, report.unattributed, report.unknown_codes) == (1, 2, {"STAFF": 1})
    assert report.rejected == []
    sale = await db.fetchone("SELECT * FROM sales")
    assert sale is not None and sale["order_id"] == "9007199254740993" and sale["source"] == "csv"
    assert (sale["gross_minor"], sale["discount_minor"], sale["net_minor"]) == (5500, 500, 5000)
    assert sale["occurred_at"] == "2026-11-20T20:30:00.000000Z"  # the export's offset, stored as UTC
    assert await db.fetchval("SELECT points FROM points_ledger WHERE reference = 'sale:shopify:9007199254740993'") == 20


async def test_the_same_file_imported_twice_changes_nothing(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    data = export(first("#1", "ANN10"), row(Name="#1", Lineitem_quantity="3"), first("#2", "ANN10"), first("#3", "X1"))
    once = await run(db, data, clock)
    assert once.attributed == 2
    snapshot = [
        await db.fetchall(f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("sales", "shop_orders", "points_ledger", "unknown_codes")
    ]
    twice = await run(db, data, clock)
    assert (twice.attributed, twice.duplicates, twice.orders_read) == (0, 3, 3)
    after = [
        await db.fetchall(f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("sales", "shop_orders", "points_ledger", "unknown_codes")
    ]
    assert [[tuple(r) for r in rows] for rows in after] == [[tuple(r) for r in rows] for rows in snapshot]


async def test_broken_rows_are_reported_with_line_numbers_and_never_stop_good_ones(
    db: Database, clock: FixedClock
) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    data = export(
        first("#1", "ANN10"),  # line 2: good
        first("#2", "ANN10", subtotal="abc"),  # line 3: not an amount
        row(Name="#2", Lineitem_quantity="1"),  # line 4: belongs to the rejected order: skipped quietly
        "#3,short,row",  # line 5: too few columns
        row(Name="#9", Lineitem_quantity="1"),  # line 6: a line item without its order's first row
        first("#4", "ANN10", created="yesterday"),  # line 7: not a date
        first("#5", "ANN10"),  # line 8: good
        row(Name="#5", Lineitem_quantity="two"),  # line 9: bad quantity, the order still counts
        first("#6", "ANN10", subtotal="1.999"),  # line 10: more decimals than USD has
    )
    report = await run(db, data, clock)
    lines = dict(report.rejected)
    assert sorted(lines) == [3, 5, 6, 7, 9, 10], report.rejected
    assert "Subtotal" in lines[3] and "columns" in lines[5] and "first row" in lines[6]
    assert "Created at" in lines[7] and "quantity" in lines[9].lower() and "decimals" in lines[10]
    assert report.attributed == 2
    assert await db.fetchval("SELECT COUNT(*) FROM sales") == 2


async def test_a_crash_mid_import_leaves_whole_batches_and_a_rerun_finishes(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    data = export(*(first(f"#{i}", "ANN10") for i in range(1, 26)))
    calls = 0
    real = orders_csv._store_batch

    async def crash_on_third(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        await real(*args, **kwargs)  # type: ignore[arg-type]
        if calls == 3:
            raise RuntimeError("power cut")  # inside the batch's transaction: it rolls back

    monkeypatch.setattr(orders_csv, "_store_batch", crash_on_third)
    with pytest.raises(RuntimeError):
        await run(db, data, clock, batch_size=10)
    assert await db.fetchval("SELECT COUNT(*) FROM sales") == 20  # batches 1–2 committed, 3 rolled back
    assert await db.fetchval("SELECT COUNT(*) FROM points_ledger") == 20
    monkeypatch.setattr(orders_csv, "_store_batch", real)
    report = await run(db, data, clock, batch_size=10)
    assert report.resumed and (report.duplicates, report.attributed) == (20, 5)
    assert await db.fetchval("SELECT COUNT(*) FROM sales") == 25
    assert await db.fetchval("SELECT COUNT(*) FROM sales_imports WHERE status = 'running'") == 0


async def test_files_that_are_not_an_orders_export_are_refused(db: Database, clock: FixedClock) -> None:
    with pytest.raises(InvalidInput, match="missing column"):
        await run(db, b"a,b,c\n1,2,3\n", clock)
    with pytest.raises(InvalidInput, match="UTF-8"):
        await run(db, b"\xff\xfe\x00N", clock)
    with pytest.raises(InvalidInput, match="empty"):
        await run(db, b"", clock)


async def test_progress_is_reported_per_batch(db: Database, clock: FixedClock) -> None:
    seen: list[int] = []

    async def progress(report: ImportReport) -> None:
        seen.append(report.orders_read)

    await run(db, export(*(first(f"#{i}") for i in range(7))), clock, batch_size=3, progress=progress)
    assert seen == [3, 6, 7]
