"""Benchmark: import a generated Shopify orders export (100,000 orders, ~250,000 line-item rows).

    python -m bench.bench_csv_import [--orders 100000]
    python -m bench.bench_csv_import --quick    # 2,000 orders: checks that it works

Generates the export with Shopify's real 79-column header (tests/fixtures/commerce), a third of the orders
carrying one of 40 ambassadors' codes (some lowercase), then imports it into a fresh database through
``import_shopify_csv`` and imports it again (which must change nothing). Prints rows per second. The
baseline, in the same run: raw ``sqlite3`` reading the same bytes with the csv module and executemany of
the same rows (the order and line-item columns the import uses) into one plain table, one transaction.
Exits non-zero when the first import attributes a different number of sales than the file holds, or the
second changes anything.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import Figure, emit
from bot.clock import to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales import codes
from bot.services.sales.csv_import import import_shopify_csv

HEADER_FILE = (
    Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "commerce" / "shopify_orders_export_header.csv"
)
GUILD = 1
AMBASSADORS = [f"AMB{i:02d}CODE" for i in range(40)]
BASELINE_COLUMNS = (
    "Name", "Id", "Email", "Financial Status", "Currency", "Subtotal", "Discount Code", "Discount Amount", "Total",
    "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price",
)  # fmt: skip
TARGET_S = 60.0


def generate(orders: int, seed: int = 7) -> tuple[bytes, int]:
    rng = random.Random(seed)
    header = HEADER_FILE.read_text(encoding="utf-8").strip().split(",")
    col = {name: i for i, name in enumerate(header)}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    lines = 0
    for n in range(orders):
        items = rng.choice((1, 2, 2, 3, 4))  # 2.4 line items an order on average
        code = ""
        if n % 3 == 0:
            code = rng.choice(AMBASSADORS)
            code = code.lower() if n % 7 == 0 else code
        elif n % 11 == 0:
            code = "WELCOME10"
        for item in range(items):
            row = [""] * len(header)
            row[col["Name"]] = f"#{10000 + n}"
            row[col["Lineitem quantity"]] = str(rng.randint(1, 3))
            row[col["Lineitem name"]] = f"Serum {item}"
            row[col["Lineitem price"]] = "19.90"
            if item == 0:
                created = start + timedelta(minutes=5 * n)
                row[col["Id"]] = str(5_000_000_000_000 + n)
                row[col["Email"]] = f"buyer{n}@example.com"
                row[col["Financial Status"]] = "paid" if n % 20 else "pending"
                row[col["Currency"]] = "EUR"
                row[col["Subtotal"]] = "53.73"
                row[col["Discount Code"]] = code
                row[col["Discount Amount"]] = "5.97" if code else "0.00"
                row[col["Total"]] = "58.73"
                row[col["Created at"]] = created.strftime("%Y-%m-%d %H:%M:%S +0000")
            writer.writerow(row)
            lines += 1
    return out.getvalue().encode(), lines


async def prepare(db: Database) -> None:
    now = datetime.now(UTC)
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), now)
    async with db.transaction() as tx:
        for user_id, code in enumerate(AMBASSADORS, start=1):
            await tx.execute(
                "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
                " VALUES (?, ?, ?, 'active', ?, ?)",
                (GUILD, user_id, code, to_db(now), to_db(now)),
            )
            await codes.set_vanity_code(tx, GUILD, user_id, code, now)


def expected_sales(orders: int) -> int:
    """Orders carrying an ambassador's code (every third) that are paid (not every 20th)."""
    return sum(1 for n in range(orders) if n % 3 == 0 and n % 20)


def bare_import(path: Path, data: bytes) -> tuple[int, float]:
    """The plain way: csv.reader over the same bytes, executemany into one table. Returns (rows, seconds)."""
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE TABLE rows ({', '.join(f'c{i} TEXT' for i in range(len(BASELINE_COLUMNS)))})")
    reader = csv.reader(io.StringIO(data.decode("utf-8")))
    header = next(reader)
    picks = [header.index(name) for name in BASELINE_COLUMNS]
    marks = ", ".join("?" for _ in picks)
    with conn:
        cur = conn.executemany(f"INSERT INTO rows VALUES ({marks})", ([row[i] for i in picks] for row in reader))
    rows = cur.rowcount
    conn.close()
    return rows, time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2,000 orders, to check that it works")
    args = parser.parse_args()
    if args.quick:
        args.orders = 2_000
    started = time.perf_counter()
    data, lines = generate(args.orders)
    print(
        f"generated {args.orders:,} orders, {lines:,} rows, {len(data) / 1e6:.1f} MB"
        f" in {time.perf_counter() - started:.1f}s"
    )
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder:
        db = await Database.open(Path(folder) / "collective.db")
        await db.migrate()
        await prepare(db)
        reports = []
        for label in ("first import", "same file again"):
            started = time.perf_counter()
            report = await import_shopify_csv(
                db, GUILD, data, filename="orders.csv", actor_id=None, now=datetime.now(UTC)
            )
            took = time.perf_counter() - started
            reports.append((report, took))
            print(
                f"| {label} | {report.rows_read:,} rows | {report.orders_read:,} orders | {took:.1f} s"
                f" | {report.rows_read / took:,.0f} rows/s | attributed {report.attributed:,},"
                f" duplicates {report.duplicates:,}, rejected {report.rejected_count} |"
            )
        sales = await db.fetchval("SELECT COUNT(*) FROM sales")
        print(f"ledger: {sales:,} sales")
        await db.close()
        bare_rows, bare_took = bare_import(Path(folder) / "bare.db", data)
    rate = bare_rows / bare_took
    print(f"| raw sqlite3 executemany | {bare_rows:,} rows | — | {bare_took:.1f} s | {rate:,.0f} rows/s |")
    (first, took), (again, _) = reports
    emit(Figure("CSV import", f"first import, {args.orders:,} orders ({lines:,} rows)", first.rows_read / took,
                "rows/s", bare_rows / bare_took, "raw sqlite3 executemany of the same rows"))  # fmt: skip
    emit(Figure("CSV import", "first import, wall time", took, "s", bare_took, "raw sqlite3 executemany",
                f"< {TARGET_S:g} s", took < TARGET_S))  # fmt: skip
    expected = expected_sales(args.orders)
    if first.attributed != expected or sales != expected or again.attributed or bare_rows != lines:
        raise SystemExit(f"FAILED: expected {expected:,} sales once; first import attributed {first.attributed:,},"
                         f" ledger holds {sales:,}, the second import attributed {again.attributed:,}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
