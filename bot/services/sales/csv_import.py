"""Import a Shopify orders export (CSV) into the attribution ledger.

The export has one row per line item; order-level columns (Currency, Subtotal, Discount Code, Discount
Amount, Created at, Financial Status …) are filled only on an order's first row. Columns are found by
header name, rows are grouped by ``Name`` (an order's rows are consecutive in Shopify's export).

Money: ``Subtotal`` is after discounts, so net = Subtotal, discount = Discount Amount, gross = the two added
— the same meaning as a webhook's line items minus discounts.

Rules the import keeps:
- a bad row is reported with its line number and reason and never stops the good ones;
- importing the same file again changes nothing (orders are keyed by shop order id, or by name when the
  export has no ``Id`` column; the same keys webhooks use, so an order never counts twice);
- crash-consistent by resumable batches: each batch of whole orders commits in one transaction together
  with the import's progress row. A crash loses at most the batch in flight; importing the file again
  skips what was committed (as duplicates) and finishes the rest. This is the one service that commits
  more than once — it takes the database, not a unit of work — because a long import must make progress
  visible and survive a crash halfway.
Imported sales award points like any sale, but do not trigger "your code was just used" DMs: an export is
history, not news.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import hashlib
import io
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.errors import InvalidInput
from bot.services.engagement import points
from bot.services.program import audit
from bot.services.sales.ledger import SALE_INSERT, CodeHolder, sale_reference, sale_values
from bot.services.sales.orders import email_hash, get_sales_settings, note_unknown_code, record_order
from bot.services.sales.payloads import SHOPIFY_PAID, OrderIn, PayloadError, currency_code, to_minor

REQUIRED = ("Name", "Currency", "Subtotal", "Discount Code", "Discount Amount", "Created at", "Financial Status")
OPTIONAL = ("Id", "Email", "Lineitem quantity", "Lineitem price")
ORDER_LEVEL = ("Currency", "Subtotal", "Financial Status", "Created at", "Total")
MAX_REJECTS_KEPT = 200
BATCH_ORDERS = 1000


@dataclass
class ImportReport:
    rows_read: int = 0
    orders_read: int = 0
    attributed: int = 0
    duplicates: int = 0
    unpaid: int = 0
    unattributed: int = 0
    unknown_codes: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason), first MAX_REJECTS_KEPT
    rejected_count: int = 0
    resumed: bool = False

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTS_KEPT:
            self.rejected.append((line, reason))

    def as_json(self) -> str:
        data = {k: v for k, v in self.__dict__.items() if k != "rejected"}
        return json.dumps(data)


@dataclass
class CsvOrder:
    line: int
    order: OrderIn


Progress = Callable[[ImportReport], Awaitable[None]]


_SHOPIFY_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})(?::(\d{2}))? ([+-])(\d{2}):?(\d{2})$")


@functools.lru_cache(maxsize=64)
def _offset(sign: str, hours: str, minutes: str) -> timezone:
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def parse_time(text: str) -> datetime:
    """Shopify exports '2026-11-24 10:00:00 +0100'; ISO-8601 is accepted too. (A regex: strptime is slow.)"""
    value = text.strip()
    match = _SHOPIFY_TIME.match(value)
    if match:
        y, mo, d, h, mi, sec, sign, oh, om = match.groups()
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0), tzinfo=_offset(sign, oh, om))
    parsed = datetime.fromisoformat(value)  # raises ValueError
    if parsed.tzinfo is None:
        raise ValueError("no UTC offset")
    return parsed


def _columns(header: list[str]) -> dict[str, int]:
    index = {name.strip(): i for i, name in enumerate(header)}
    missing = [name for name in REQUIRED if name not in index]
    if missing:
        raise InvalidInput(
            "That doesn't look like a Shopify orders export: missing column(s) " + ", ".join(missing) + "."
        )
    return index


def parse_orders(
    rows: Iterator[tuple[int, list[str]]], cols: dict[str, int], report: ImportReport
) -> Iterator[CsvOrder]:
    """Whole orders, in file order; bad rows go to ``report`` with their line numbers."""
    width = max(cols.values()) + 1
    names_seen: set[str] = set()
    current: str | None = None  # Name of the order whose rows we are in
    current_ok = False  # False while skipping the rows of a rejected or duplicate order
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        report.rows_read += 1
        if len(row) < width:
            report.reject(line, f"expected at least {width} columns, found {len(row)}")
            continue
        name = row[cols["Name"]].strip()
        if not name:
            report.reject(line, "no order Name")
            continue
        if not any(row[cols[c]].strip() for c in ORDER_LEVEL if c in cols):  # a further line item
            if name != current:
                report.reject(line, f"line item of order {name[:40]} appears without the order's first row")
            elif current_ok:
                _check_line_item(row, cols, line, report)
            continue
        current, current_ok = name, False
        if name in names_seen:
            report.duplicates += 1
            continue
        names_seen.add(name)
        try:
            order = _order_from_row(row, cols, name)
        except (PayloadError, ValueError) as exc:
            report.reject(line, f"order {name[:40]}: {exc}")
            continue
        current_ok = True
        _check_line_item(row, cols, line, report)
        report.orders_read += 1
        yield CsvOrder(line, order)


def _check_line_item(row: list[str], cols: dict[str, int], line: int, report: ImportReport) -> None:
    if "Lineitem quantity" in cols:
        quantity = row[cols["Lineitem quantity"]].strip()
        if quantity and not (re.fullmatch(r"[0-9]{1,9}", quantity) and int(quantity) > 0):  # not isdigit: "²"
            report.reject(line, f"Lineitem quantity {quantity[:20]!r} is not a positive whole number")


def _order_from_row(row: list[str], cols: dict[str, int], name: str) -> OrderIn:
    currency = currency_code(row[cols["Currency"]], "Currency")
    net = to_minor(row[cols["Subtotal"]] or "0", currency, "Subtotal")
    discount = to_minor(row[cols["Discount Amount"]] or "0", currency, "Discount Amount")
    try:
        created = parse_time(row[cols["Created at"]]).astimezone(UTC)  # year 1 at +14:00 overflows
    except (ValueError, OverflowError):
        raise PayloadError(f"Created at {row[cols['Created at']][:30]!r} is not a date and time") from None
    shop_id = row[cols["Id"]].strip() if "Id" in cols else ""
    if shop_id and not shop_id.isdigit():
        raise PayloadError(f"Id {shop_id[:30]!r} is not a number")
    codes = tuple(c.strip().upper() for c in row[cols["Discount Code"]].split(",") if c.strip())
    return OrderIn(
        shop="shopify",
        order_id=shop_id or f"name:{name}",
        order_name=name[:64],
        codes=codes,
        currency=currency,
        gross_minor=net + discount,
        discount_minor=discount,
        ordered_at=created,
        paid=row[cols["Financial Status"]].strip().lower() in SHOPIFY_PAID,
        email=row[cols["Email"]].strip() or None if "Email" in cols else None,
    )


def _batches(orders: Iterator[CsvOrder], size: int) -> Iterator[list[CsvOrder]]:
    batch: list[CsvOrder] = []
    for item in orders:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def import_shopify_csv(
    db: Database,
    guild_id: int,
    data: bytes,
    *,
    filename: str,
    actor_id: int | None,
    now: datetime,
    progress: Progress | None = None,
    batch_size: int = BATCH_ORDERS,
) -> ImportReport:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("That file isn't UTF-8 text; export it again from Shopify as CSV.") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise InvalidInput("That file is empty or isn't CSV.") from None
    cols = _columns(header)
    digest = hashlib.sha256(data).hexdigest()
    report = ImportReport()
    async with db.transaction() as tx:
        report.resumed = bool(
            await tx.fetchval(
                "SELECT 1 FROM sales_imports WHERE guild_id = ? AND file_sha256 = ? AND status = 'running'",
                (guild_id, digest),
            )
        )
        new_id = await tx.insert(
            """INSERT INTO sales_imports (guild_id, file_sha256, filename, actor_id, status, started_at)
               VALUES (?, ?, ?, ?, 'running', ?)""",
            (guild_id, digest, filename[:200], actor_id, to_db(now)),
        )
        import_id = new_id
    rows = _safe_rows(reader, report)
    for batch in _batches(parse_orders(rows, cols, report), batch_size):
        async with db.transaction() as tx:
            await _store_batch(tx, guild_id, batch, now, report)
            await tx.execute("UPDATE sales_imports SET stats = ? WHERE id = ?", (report.as_json(), import_id))
        if progress is not None:
            await progress(report)
        await asyncio.sleep(0)  # let webhooks and commands in between batches
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE sales_imports SET status = 'done', stats = ?, finished_at = ? WHERE id = ?",
            (report.as_json(), to_db(now), import_id),
        )
        if report.attributed + report.unpaid + report.unattributed:  # a re-import that stores nothing is no action
            await audit.record(
                tx, guild_id, actor_id, "sales.import", None, now, file=filename[:100], attributed=report.attributed
            )
        # An earlier attempt of this file that crashed is finished by this one.
        await tx.execute(
            "UPDATE sales_imports SET status = 'done', finished_at = ? WHERE guild_id = ? AND file_sha256 = ?"
            " AND status = 'running'",
            (to_db(now), guild_id, digest),
        )
    return report


def _safe_rows(reader: Any, report: ImportReport) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells); csv.Error (e.g. a NUL byte) on one line must not end the import."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.reject(reader.line_num, f"unreadable CSV: {exc}")
            continue
        yield reader.line_num, row


async def _store_batch(
    tx: Transaction, guild_id: int, batch: list[CsvOrder], now: datetime, report: ImportReport
) -> None:
    """Bulk path: one lookup for the batch's orders and the guild's codes, then executemany."""
    ids = [item.order.order_id for item in batch]
    names = [item.order.order_name for item in batch if item.order.order_id.startswith("name:")]
    seen: dict[str, Any] = {}
    for chunk in _chunks(ids, 900):
        marks = ",".join("?" * len(chunk))
        for row in await tx.fetchall(
            f"SELECT order_id, order_name, paid, counted FROM shop_orders WHERE guild_id = ? AND shop = 'shopify'"
            f" AND order_id IN ({marks})",
            (guild_id, *chunk),
        ):
            seen[row["order_id"]] = row
    for chunk in _chunks([n for n in names if n], 900):
        marks = ",".join("?" * len(chunk))
        for row in await tx.fetchall(
            f"SELECT order_id, order_name, paid, counted FROM shop_orders WHERE guild_id = ? AND shop = 'shopify'"
            f" AND order_name IN ({marks})",
            (guild_id, *chunk),
        ):
            seen[f"name:{row['order_name']}"] = row
    codes = {
        row["code_norm"]: row
        for row in await tx.fetchall(
            "SELECT id, user_id, code, code_norm, status FROM codes WHERE guild_id = ?", (guild_id,)
        )
    }
    emails = {
        int(row["user_id"]): email_hash(row["email"])
        for row in await tx.fetchall(
            "SELECT user_id, email FROM members WHERE guild_id = ? AND email IS NOT NULL", (guild_id,)
        )
    }
    settings = await get_sales_settings(tx, guild_id)
    worth = int(await tx.fetchval("SELECT points_sale FROM guild_settings WHERE guild_id = ?", (guild_id,)) or 0)
    new_orders, new_sales, awards = [], [], []
    stamp = to_db(now)
    for item in batch:
        order = item.order
        existing = seen.get(order.order_id)
        if existing is not None:
            if not existing["counted"] and order.paid and not existing["paid"]:
                # Stored unpaid earlier (a webhook), paid now: the ordinary path decides (rare).
                result = await record_order(tx, guild_id, order, source="csv", now=now, settings=settings)
                report.attributed += result.outcome == "recorded"
            else:
                report.duplicates += 1
            continue
        seen[order.order_id] = {"counted": 1, "paid": 1}  # a second copy later in this batch is a duplicate
        match = next((codes[c] for c in order.codes if c in codes), None)
        for code in order.codes:
            if code not in codes:
                report.unknown_codes[code] = report.unknown_codes.get(code, 0) + 1
                await note_unknown_code(tx, guild_id, code, order.order_id, now)
            else:
                break
        countable = order.paid or settings.count_unpaid_orders
        counted = countable and match is not None
        new_orders.append(
            (guild_id, order.order_id, order.order_name, order.codes[0] if order.codes else None, int(order.paid),
             int(counted), to_db(order.ordered_at), stamp)
        )  # fmt: skip
        if not countable:
            report.unpaid += 1
        elif match is None:
            report.unattributed += 1
        else:
            report.attributed += 1
            holder = CodeHolder(match["id"], match["code"], int(match["user_id"]), match["status"] != "active")
            new_sales.append(sale_values(guild_id, order, holder, emails.get(holder.user_id), source="csv", at=stamp))
            awards.append((holder.user_id, sale_reference(order)))
    await tx.executemany(
        """INSERT INTO shop_orders (guild_id, shop, order_id, order_name, code, paid, counted, ordered_at, received_at)
           VALUES (?, 'shopify', ?, ?, ?, ?, ?, ?, ?)""",
        new_orders,
    )
    await tx.executemany(SALE_INSERT, new_sales)
    if worth:
        for user_id, reference in awards:
            await points.award(tx, guild_id, user_id, worth, "sale", reference, now)


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
