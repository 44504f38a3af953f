"""Payout runs: a closed month's statements per ambassador and currency, marked paid once, never paid twice.

A run for a month freezes every ledger row whose commission fell due before the month ended (in the server's
timezone) and that no earlier run froze (``payout_items``: each ledger row at most once). Per ambassador and
currency it writes a statement: sales (their commission), refunds inside the holding period, adjustments (refunds
after it), the balance carried over from earlier statements, and the total. A total below the currency's minimum
payout (or not above zero) is *carried*: the next statement that ambassador gets in that currency takes it over.
Otherwise the statement is *open* until a moderator marks it paid with a reference — once: the second click is
told who was first. A paid statement cannot change (the database refuses it); a later refund is next month's
adjustment. Running a month again shows the same run; runs go forward month by month.

After commit, each statement is sent to its ambassador once (the outbox, key per statement and event): a carried
one at the run, an open one when it is paid.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot import references as ref
from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotFound
from bot.services.affiliates import commission, store_credit
from bot.services.affiliates.rules import get_payout_settings
from bot.services.program import audit
from bot.services.sales.payloads import format_minor
from bot.services.sales.reports import month_period, plain_amount
from bot.storage.statements import Row

# Outbox topic: a statement to send to its ambassador ({"statement_id": …}), keyed "<id>:carried" / "<id>:paid".
STATEMENT_SENT = "payouts.statement"
Status = Literal["open", "paid", "carried"]
STATUS_LABELS: dict[str, str] = {"open": "to pay", "paid": "paid", "carried": "carried over"}
REFERENCE_MAX = 100


@dataclass(frozen=True)
class Statement:
    id: int
    guild_id: int
    run_id: int
    period: str
    user_id: int
    display_name: str
    currency: str
    orders: int
    sales_minor: int
    refunds_minor: int
    adjustments_minor: int
    carried_in_minor: int
    total_minor: int
    minimum_minor: int
    status: Status
    carried_into: int | None
    reference: str | None
    paid_by: int | None
    paid_at: datetime | None
    created_at: datetime
    method: str = "cash"  # paid: how it was paid; otherwise the member's chosen method (cash | store_credit)

    def money(self, minor: int) -> str:
        return format_minor(minor, self.currency)


@dataclass(frozen=True)
class Run:
    id: int
    guild_id: int
    period: str
    period_end: datetime
    created_by: int | None
    created_at: datetime
    statements: list[Statement]
    created: bool  # False: the month had been run before; this is that run

    def totals(self, status: Status) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for s in self.statements:
            if s.status == status:
                out[s.currency] += s.total_minor
        return dict(out)


def month_label(period: str) -> str:
    return datetime.strptime(period, "%Y-%m").strftime("%B %Y")


def closed_months(now: datetime, zone: ZoneInfo, count: int = 12) -> list[str]:
    """The last ``count`` months that have ended in the server's timezone, newest first ('2026-10', …)."""
    local = now.astimezone(zone)
    year, month = local.year, local.month
    out = []
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        out.append(f"{year:04d}-{month:02d}")
    return out


_STATEMENT_SQL = """SELECT st.*, r.period, COALESCE(m.display_name, CAST(st.user_id AS TEXT)) AS display_name,
        CASE WHEN st.status = 'paid' THEN st.method ELSE COALESCE(pm.method, 'cash') END AS pay_method
    FROM payout_statements st JOIN payout_runs r ON r.id = st.run_id
    LEFT JOIN members m ON m.guild_id = st.guild_id AND m.user_id = st.user_id
    LEFT JOIN payout_methods pm ON pm.guild_id = st.guild_id AND pm.user_id = st.user_id"""


def _statement(row: Row) -> Statement:
    return Statement(
        row["id"], row["guild_id"], row["run_id"], row["period"], row["user_id"], str(row["display_name"]),
        row["currency"], row["orders"], row["sales_minor"], row["refunds_minor"], row["adjustments_minor"],
        row["carried_in_minor"], row["total_minor"], row["minimum_minor"], row["status"], row["carried_into"],
        row["reference"], row["paid_by"], from_db(row["paid_at"]) if row["paid_at"] else None,
        from_db(row["created_at"]), row["pay_method"],
    )  # fmt: skip


async def get_statement(db: Database | Transaction, guild_id: int, statement_id: int) -> Statement:
    row = await db.fetchone(f"{_STATEMENT_SQL} WHERE st.guild_id = ? AND st.id = ?", (guild_id, statement_id))
    if row is None:
        raise NotFound(f"There's no statement #{statement_id}.")
    return _statement(row)


async def statements_of_member(db: Database | Transaction, guild_id: int, user_id: int) -> list[Statement]:
    rows = await db.fetchall(
        f"{_STATEMENT_SQL} WHERE st.guild_id = ? AND st.user_id = ? ORDER BY r.period DESC, st.currency",
        (guild_id, user_id),
    )
    return [_statement(row) for row in rows]


async def get_run(db: Database | Transaction, guild_id: int, run_id: int, *, created: bool = False) -> Run:
    row = await db.fetchone("SELECT * FROM payout_runs WHERE guild_id = ? AND id = ?", (guild_id, run_id))
    if row is None:
        raise NotFound(f"There's no payout run #{run_id}.")
    statements = await db.fetchall(
        f"{_STATEMENT_SQL} WHERE st.run_id = ? ORDER BY st.status = 'carried', display_name, st.user_id, st.currency",
        (run_id,),
    )
    return Run(
        row["id"], guild_id, row["period"], from_db(row["period_end"]), row["created_by"], from_db(row["created_at"]),
        [_statement(s) for s in statements], created,
    )  # fmt: skip


async def find_run(db: Database | Transaction, guild_id: int, period: str) -> Run | None:
    run_id = await db.fetchval("SELECT id FROM payout_runs WHERE guild_id = ? AND period = ?", (guild_id, period))
    return None if run_id is None else await get_run(db, guild_id, int(run_id))


def _period_key(text: str, zone: ZoneInfo) -> tuple[str, datetime]:
    span = month_period(text, zone)
    return span.start.astimezone(zone).strftime("%Y-%m"), span.end


async def run_period(
    tx: Transaction, guild_id: int, period: str, zone: ZoneInfo, now: datetime, *, actor_id: int | None
) -> Run:
    """Build the month's statements (or return the month's run if it was made before)."""
    key, end = _period_key(period, zone)
    existing = await find_run(tx, guild_id, key)
    if existing is not None:
        return existing
    if end > now:
        raise InvalidInput(f"{month_label(key)} isn't over yet; run it once it has ended.")
    latest = await tx.fetchval("SELECT MAX(period) FROM payout_runs WHERE guild_id = ?", (guild_id,))
    if latest is not None and latest > key:
        raise Conflict(
            f"{month_label(latest)} has been run already: what fell due in {month_label(key)} was in it "
            "(runs go forward month by month)."
        )
    new_id = await tx.insert(
        "INSERT INTO payout_runs (guild_id, period, period_end, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
        (guild_id, key, to_db(end), actor_id, to_db(now)),
    )
    run_id = new_id
    settings = await get_payout_settings(tx, guild_id)
    ledger = await commission.unfrozen(tx, guild_id)
    due = [item for item in ledger.items() if not item.frozen and item.due_at < end]
    groups: dict[tuple[int, str], list[commission.Item]] = defaultdict(list)
    for item in due:
        groups[(item.user_id, item.currency)].append(item)
    carried: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for row in await tx.fetchall(
        """SELECT id, user_id, currency, total_minor FROM payout_statements
           WHERE guild_id = ? AND status = 'carried' AND carried_into IS NULL ORDER BY id""",
        (guild_id,),
    ):
        carried[(int(row["user_id"]), row["currency"])].append((int(row["id"]), int(row["total_minor"])))
    stamp = to_db(now)
    for who in sorted(set(groups) | set(carried)):
        items = groups.get(who, [])
        carried_in = sum(total for _, total in carried.get(who, []))
        minimum = settings.minimum(who[1])
        earns = any(item.amount_minor for item in items)
        statement_id: int | None = None
        if earns or (carried_in > 0 and carried_in >= minimum):
            statement_id = await _write_statement(tx, guild_id, run_id, who, items, carried_in, minimum, stamp)
            for old_id, _ in carried.get(who, []):
                await tx.execute("UPDATE payout_statements SET carried_into = ? WHERE id = ?", (statement_id, old_id))
        await tx.executemany(
            """INSERT INTO payout_items (guild_id, sale_row, run_id, statement_id, kind, base_minor, amount_minor,
                   first_order) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            [(guild_id, i.row_id, run_id, statement_id, i.kind, i.base_minor, i.amount_minor, int(i.first_order))
             for i in items],
        )  # fmt: skip
    run = await get_run(tx, guild_id, run_id, created=True)
    for statement in run.statements:
        if statement.status == "carried":
            await tx.emit(guild_id, STATEMENT_SENT, now, {"statement_id": statement.id}, key=f"{statement.id}:carried")
    await audit.record(
        tx, guild_id, actor_id, "payouts.run", None, now, run=run_id, period=key, statements=len(run.statements),
        to_pay={c: format_minor(v, c) for c, v in run.totals("open").items()},
    )  # fmt: skip
    return run


async def _write_statement(
    tx: Transaction, guild_id: int, run_id: int, who: tuple[int, str], items: list[commission.Item],
    carried_in: int, minimum: int, stamp: str,
) -> int:  # fmt: skip
    user_id, currency = who
    sums = {kind: sum(i.amount_minor for i in items if i.kind == kind) for kind in ("sale", "refund", "adjustment")}
    total = sum(sums.values()) + carried_in
    status: Status = "open" if total > 0 and total >= minimum else "carried"
    return await tx.insert(
        """INSERT INTO payout_statements (guild_id, run_id, user_id, currency, orders, sales_minor, refunds_minor,
               adjustments_minor, carried_in_minor, total_minor, minimum_minor, status, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (guild_id, run_id, user_id, currency, sum(i.kind == "sale" for i in items), sums["sale"], sums["refund"],
         sums["adjustment"], carried_in, total, minimum, status, stamp),
    )  # fmt: skip


async def mark_paid(
    tx: Transaction, guild_id: int, statement_id: int, reference: str, now: datetime, *, actor_id: int
) -> Statement:
    """Close an open statement with the payment's reference, once; the loser of a race is told who won."""
    text = " ".join(reference.split())
    if not 1 <= len(text) <= REFERENCE_MAX:
        raise InvalidInput(f"The payment reference is 1–{REFERENCE_MAX} characters (e.g. the PayPal batch id).")
    user_id = await tx.fetchval(
        "SELECT user_id FROM payout_statements WHERE guild_id = ? AND id = ?", (guild_id, statement_id)
    )
    if user_id is None:
        raise NotFound(f"There's no statement #{statement_id}.")
    method, platform = await store_credit.method_to_pay(tx, guild_id, int(user_id))
    changed = await tx.execute(
        """UPDATE payout_statements SET status = 'paid', reference = ?, paid_by = ?, paid_at = ?, method = ?
           WHERE guild_id = ? AND id = ? AND status = 'open'""",
        (text, actor_id, to_db(now), method, guild_id, statement_id),
    )
    statement = await get_statement(tx, guild_id, statement_id)
    if not changed:
        if statement.status == "paid":
            by = ref.member(statement.paid_by) if statement.paid_by else "someone"
            when = ref.moment(statement.paid_at) if statement.paid_at else ""
            raise Conflict(
                f"Statement #{statement.id} was already marked paid by {by} {when} "
                f"(reference `{statement.reference}`). Nothing changed."
            )
        raise Conflict(f"Statement #{statement.id} is carried over: there is nothing to pay on it.")
    await tx.emit(guild_id, STATEMENT_SENT, now, {"statement_id": statement.id}, key=f"{statement.id}:paid")
    if method == "store_credit" and platform is not None:
        await store_credit.owe(tx, guild_id, statement.id, statement.user_id, platform, statement.total_minor,
                               statement.currency, now)  # fmt: skip
    await audit.record(
        tx, guild_id, actor_id, "payouts.paid", statement.user_id, now, statement=statement.id,
        period=statement.period, amount=statement.money(statement.total_minor), reference=text, method=method,
    )  # fmt: skip
    return statement


# -- exports -------------------------------------------------------------------------------------------------


def _cell(value: str) -> str:
    # A name starting with = + - @ would run as a formula when the CSV is opened in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


GENERIC_HEADER = ["statement", "period", "user_id", "name", "currency", "orders", "sales", "refunds", "adjustments",
                  "carried_in", "total", "minimum", "status", "reference", "paid_at", "method"]  # fmt: skip


def generic_csv(statements: list[Statement]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GENERIC_HEADER)
    for s in statements:
        c = s.currency
        writer.writerow(
            [s.id, s.period, str(s.user_id), _cell(s.display_name), c, s.orders, plain_amount(s.sales_minor, c),
             plain_amount(s.refunds_minor, c), plain_amount(s.adjustments_minor, c),
             plain_amount(s.carried_in_minor, c), plain_amount(s.total_minor, c), plain_amount(s.minimum_minor, c),
             s.status, _cell(s.reference or ""), s.paid_at.isoformat() if s.paid_at else "", s.method]
        )  # fmt: skip
    return out.getvalue().encode("utf-8")


@dataclass(frozen=True)
class PaypalExport:
    files: dict[str, bytes]  # currency → the upload file (PayPal takes one currency per file)
    missing_email: list[Statement]  # open statements whose ambassador left no email: pay them another way


async def paypal_export(db: Database | Transaction, guild_id: int, statements: list[Statement]) -> PaypalExport:
    """PayPal Payouts' bulk upload (no header; one currency per file): recipient email, amount, currency, customer
    id, note, wallet. Only statements still to pay in cash, and only ambassadors whose email the program holds (given
    when they applied; erased by /ambassador forget) — nothing else about them leaves Collective."""
    rows: dict[str, list[list[str]]] = defaultdict(list)
    missing = []
    for s in statements:
        if s.status != "open" or s.method == "store_credit":  # store credit: Mark paid creates it in the shop
            continue
        email = await db.fetchval(
            "SELECT email FROM members WHERE guild_id = ? AND user_id = ? AND forgotten_at IS NULL",
            (guild_id, s.user_id),
        )
        if not email:
            missing.append(s)
            continue
        note = f"Commission {month_label(s.period)} - statement {s.id}"
        rows[s.currency].append([str(email), plain_amount(s.total_minor, s.currency), s.currency,
                                 f"collective-{s.id}", note, "PAYPAL"])  # fmt: skip
    files = {}
    for currency, lines in sorted(rows.items()):
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(lines)
        files[currency] = out.getvalue().encode("utf-8")
    return PaypalExport(files, missing)
