"""SQLite's and PostgreSQL's migrations stay in lockstep: the same files, the same schema, the same triggers.

All of ``migrations/`` is applied to a fresh SQLite file and all of ``migrations/postgresql/`` to a fresh
PostgreSQL database; each schema is read back from the engine's own catalogue as a set of facts ("sales: column
net_minor integer NOT NULL no default", "sales: index sales_by_time (guild_id, occurred_at)", …) and the two
sets must be equal. A failure lists what only one engine has. Then the read models' triggers are run on both
with the same ledger rows (inserted, updated, deleted; before and after the backfilling migrations) and the
read-model tables must hold the same rows.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.db import Database, bundled_migrations
from bot.storage.postgres_migrations import apply_postgres_migrations, bundled_postgres_migrations
from tests.postgres import PostgresServer

READ_MODELS = ("points_totals", "points_monthly", "sales_totals", "sales_currencies", "sales_monthly")
# The last migration before the read models' backfills (0006 creates points_totals, 0008/0009 the others).
BEFORE_BACKFILLS = 5


# -- the files -------------------------------------------------------------------------------------------------


def test_every_migration_has_its_postgresql_twin() -> None:
    sqlite_names = [m.name for m in bundled_migrations()]
    postgres_names = [m.name for m in bundled_postgres_migrations()]
    only_sqlite = sorted(set(sqlite_names) - set(postgres_names))
    only_postgres = sorted(set(postgres_names) - set(sqlite_names))
    assert not only_sqlite and not only_postgres, (
        f"migrations without a twin — only in migrations/: {only_sqlite}; only in migrations/postgresql/: "
        f"{only_postgres}. Write the other engine's migration with the same number and name."
    )
    assert sqlite_names == postgres_names
    assert sqlite_names, "no migrations found"
    assert all("postgresql" not in name for name in sqlite_names)  # bundled_migrations ignores the subfolder


# -- reading a schema as facts --------------------------------------------------------------------------------


def _type_class(declared: str) -> str:
    """SQLite's affinity rules, which also sort PostgreSQL's type names into the same four classes."""
    name = declared.upper()
    if "INT" in name:
        return "integer"
    if any(word in name for word in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if name in ("", "BLOB", "BYTEA"):
        return "blob"
    if any(word in name for word in ("REAL", "FLOA", "DOUB")):
        return "real"
    return f"numeric({declared})"


def _default(value: str | None) -> str:
    """A column default, without PostgreSQL's casts: ``'{}'::text`` and SQLite's ``'{}'`` are the same."""
    if value is None:
        return "no default"
    return "default " + re.sub(r"::[a-z ]+$", "", value.strip())


def _column_fact(table: str, name: str, declared: str, not_null: bool, default: str | None) -> str:
    null = "NOT NULL" if not_null else "NULL"
    return f"{table}: column {name} {_type_class(declared)} {null} {_default(default)}"


def _predicate(sql: str | None) -> str:
    """A partial index's WHERE clause in words both engines print alike (casts, brackets and case dropped)."""
    if sql is None:
        return ""
    text = re.sub(r"::[a-z]+(\[\])?", "", sql)
    text = re.sub(r"= ANY \(ARRAY\[(.*?)\]\)", r"IN (\1)", text)  # PostgreSQL prints IN (…) so
    text = " ".join(re.sub(r"[()]", " ", text).split())
    return f" WHERE {text.lower()}"


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


_CHECK = re.compile(r"\bCHECK\s*\(", re.IGNORECASE)
_SQLITE_TRIGGER = re.compile(
    r"CREATE\s+TRIGGER\s+(?P<name>\w+)\s+(?P<timing>BEFORE|AFTER|INSTEAD\s+OF)\s+(?P<event>INSERT|UPDATE|DELETE)"
    r"(?:\s+OF\s+(?P<columns>[\w\s,]+?))?\s+ON\s+(?P<table>\w+)(?P<when>\s+WHEN\s)?",
    re.IGNORECASE,
)


def _trigger_fact(table: str, name: str, timing: str, event: str, columns: Sequence[str], when: bool) -> str:
    of = f" OF {', '.join(columns)}" if columns else ""
    return f"{table}: trigger {name} {timing} {event}{of} FOR EACH ROW{' WHEN …' if when else ''}"


def sqlite_facts(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return _sqlite_facts(conn)
    finally:
        conn.close()


def _sqlite_facts(conn: sqlite3.Connection) -> set[str]:
    facts: set[str] = set()
    tables = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    for table, sql in tables:
        facts.add(f"table {table}")
        columns = conn.execute(f"PRAGMA table_info({table})").fetchall()  # cid, name, type, notnull, dflt, pk
        pk = [c[1] for c in sorted(columns, key=lambda c: c[5]) if c[5]]
        for _cid, name, declared, notnull, default, in_pk in columns:
            # A primary key's columns are NOT NULL in PostgreSQL; SQLite only enforces it for INTEGER PRIMARY KEY.
            facts.add(_column_fact(table, name, declared, bool(notnull or in_pk), default))
        facts.add(f"{table}: primary key ({', '.join(pk)})")
        checks = len(_CHECK.findall(_strip_comments(sql)))
        facts.add(f"{table}: {checks} CHECK constraints")
        for _seq, index, unique, origin, partial in conn.execute(f"PRAGMA index_list({table})").fetchall():
            info = conn.execute(f"PRAGMA index_xinfo({index})").fetchall()  # seqno, cid, name, desc, coll, key
            keys = [
                ("<expression>" if cid == -2 else name) + (" DESC" if desc else "")
                for _seqno, cid, name, desc, _coll, key in info
                if key
            ]
            if origin == "u":
                facts.add(f"{table}: unique ({', '.join(keys)})")
            elif origin == "c":
                kind = "unique index" if unique else "index"
                where = None
                if partial:
                    (index_sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()
                    where = re.split(r"\bWHERE\b", _strip_comments(index_sql), maxsplit=1, flags=re.IGNORECASE)[1]
                facts.add(f"{table}: {kind} {index} ({', '.join(keys)}){_predicate(where)}")
        fks: dict[int, list[Any]] = {}
        for fk_id, _seq, parent, child_col, parent_col, on_update, on_delete, _match in conn.execute(
            f"PRAGMA foreign_key_list({table})"
        ).fetchall():
            fks.setdefault(fk_id, [parent, [], [], on_update, on_delete])
            fks[fk_id][1].append(child_col)
            fks[fk_id][2].append(parent_col)
        for parent, cols, parent_cols, on_update, on_delete in fks.values():
            facts.add(
                f"{table}: foreign key ({', '.join(cols)}) REFERENCES {parent} ({', '.join(parent_cols)})"
                f" ON UPDATE {on_update} ON DELETE {on_delete}"
            )
    for name, table, sql in conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"):
        match = _SQLITE_TRIGGER.search(_strip_comments(sql))
        assert match is not None, f"cannot read trigger {name}: {sql}"
        columns = [c.strip() for c in (match["columns"] or "").split(",") if c.strip()]
        timing = " ".join(match["timing"].upper().split())
        facts.add(_trigger_fact(table, name, timing, match["event"].upper(), columns, bool(match["when"])))
    return facts


_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


async def postgres_facts(conn: asyncpg.Connection) -> set[str]:
    facts: set[str] = set()
    tables = [
        row["relname"]
        for row in await conn.fetch(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace"
            " AND c.relkind = 'r' ORDER BY 1"
        )
    ]
    for table in tables:
        facts.add(f"table {table}")
        for row in await conn.fetch(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1",
            table,
        ):
            facts.add(
                _column_fact(table, row["column_name"], row["data_type"], row["is_nullable"] == "NO",
                             row["column_default"])
            )  # fmt: skip
        constraints = await conn.fetch(
            """SELECT con.contype::text, con.confdeltype::text, con.confupdtype::text,
                      con.confrelid::regclass::text AS parent,
                      ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS cols,
                      ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                            JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
                            AS parent_cols
               FROM pg_constraint con WHERE con.conrelid = $1::regclass""",
            table,
        )
        checks = 0
        for con in constraints:
            cols = ", ".join(con["cols"])
            if con["contype"] == "p":
                facts.add(f"{table}: primary key ({cols})")
            elif con["contype"] == "u":
                facts.add(f"{table}: unique ({cols})")
            elif con["contype"] == "f":
                facts.add(
                    f"{table}: foreign key ({cols}) REFERENCES {con['parent']} ({', '.join(con['parent_cols'])})"
                    f" ON UPDATE {_FK_ACTIONS[con['confupdtype']]} ON DELETE {_FK_ACTIONS[con['confdeltype']]}"
                )
            elif con["contype"] == "c":
                checks += 1
        facts.add(f"{table}: {checks} CHECK constraints")
        if not any(con["contype"] == "p" for con in constraints):
            facts.add(f"{table}: primary key ()")
        for index in await conn.fetch(
            """SELECT ic.relname AS name, i.indisunique, pg_get_expr(i.indpred, i.indrelid) AS predicate,
                      ARRAY(SELECT CASE WHEN k.n = 0 THEN '<expression>' ELSE a.attname END
                                   || CASE WHEN (i.indoption[k.i - 1] & 1) = 1 THEN ' DESC' ELSE '' END
                            FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, i)
                            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
                            WHERE k.i <= i.indnkeyatts ORDER BY k.i) AS keys
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
               WHERE i.indrelid = $1::regclass
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid
                                 AND con.conrelid = i.indrelid)""",
            table,
        ):
            kind = "unique index" if index["indisunique"] else "index"
            facts.add(f"{table}: {kind} {index['name']} ({', '.join(index['keys'])}){_predicate(index['predicate'])}")
        for trigger in await conn.fetch(
            """SELECT t.tgname, t.tgtype, t.tgqual IS NOT NULL AS has_when,
                      ARRAY(SELECT a.attname FROM unnest(t.tgattr::int2[]) WITH ORDINALITY k(n, i)
                            JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = k.n ORDER BY k.i) AS cols
               FROM pg_trigger t WHERE t.tgrelid = $1::regclass AND NOT t.tgisinternal""",
            table,
        ):
            tgtype = trigger["tgtype"]
            timing = "INSTEAD OF" if tgtype & 64 else "BEFORE" if tgtype & 2 else "AFTER"
            events = [name for bit, name in ((4, "INSERT"), (8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE"))
                      if tgtype & bit]  # fmt: skip
            fact = _trigger_fact(table, trigger["tgname"], timing, " OR ".join(events), trigger["cols"],
                                 trigger["has_when"])  # fmt: skip
            facts.add(fact if tgtype & 1 else fact.replace("FOR EACH ROW", "FOR EACH STATEMENT"))
    return facts


def _difference(sqlite: set[str], postgres: set[str]) -> str:
    lines = [f"- only in SQLite:     {fact}" for fact in sorted(sqlite - postgres)]
    lines += [f"+ only in PostgreSQL: {fact}" for fact in sorted(postgres - sqlite)]
    return "\n".join(lines)


# -- the schemas ----------------------------------------------------------------------------------------------


async def _sqlite_database(path: Path, upto: int | None = None) -> None:
    db = await Database.open(path)
    try:
        known = bundled_migrations()
        await db.migrate(known if upto is None else known[:upto])
    finally:
        await db.close()


async def test_both_engines_have_the_same_schema(tmp_path: Path, postgres_server: PostgresServer) -> None:
    await _sqlite_database(tmp_path / "collective.db")
    expected = sqlite_facts(tmp_path / "collective.db")
    async with postgres_server.fresh_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_postgres_migrations(conn)
            actual = await postgres_facts(conn)
        finally:
            await conn.close()
    assert len(expected) > 500, "reading SQLite's schema found too little"
    if actual != expected:
        pytest.fail(
            "the PostgreSQL migrations (migrations/postgresql/) do not produce SQLite's schema:\n"
            + _difference(expected, actual),
            pytrace=False,
        )


async def test_postgresql_integers_are_bigint_and_ids_are_identity_columns(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    await _sqlite_database(tmp_path / "collective.db")
    lite = sqlite3.connect(tmp_path / "collective.db")
    try:
        rowid_ids = {
            f"{table}.id"
            for (table,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            if [(c[1], c[2].upper(), c[5]) for c in lite.execute(f"PRAGMA table_info({table})") if c[5]]
            == [("id", "INTEGER", 1)]
        }
    finally:
        lite.close()
    async with postgres_server.fresh_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_postgres_migrations(conn)
            columns = await conn.fetch(
                "SELECT table_name, column_name, data_type, is_identity FROM information_schema.columns"
                " WHERE table_schema = current_schema()"
            )
        finally:
            await conn.close()
    narrow = [f"{c['table_name']}.{c['column_name']} {c['data_type']}" for c in columns
              if "int" in c["data_type"] and c["data_type"] != "bigint"]  # fmt: skip
    assert not narrow, f"Discord ids and money exceed 32 bits: make these BIGINT: {narrow}"
    identity = {f"{c['table_name']}.{c['column_name']}" for c in columns if c["is_identity"] == "YES"}
    assert identity == rowid_ids, (
        f"an `id INTEGER PRIMARY KEY` is `BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY` in PostgreSQL: "
        f"missing {sorted(rowid_ids - identity)}, unexpected {sorted(identity - rowid_ids)}"
    )


# -- the triggers ---------------------------------------------------------------------------------------------

POINTS = (
    "INSERT INTO points_ledger (guild_id, user_id, points, reason, reference, created_at) VALUES (?, ?, ?, ?, ?, ?)"
)
SALE = (
    "INSERT INTO sales (guild_id, kind, shop, order_id, entry_ref, code_id, code, user_id, gross_minor,"
    " discount_minor, net_minor, currency, occurred_at, recorded_at, source) VALUES"
    " (?, ?, 'shopify', ?, ?, 1, 'CODE', ?, ?, 0, ?, ?, ?, ?, 'webhook')"
)
GUILD, OTHER = 900_000_000_000_000_001, 900_000_000_000_000_002  # snowflakes beyond 32 bits
ANN, BOB = 800_000_000_000_000_011, 800_000_000_000_000_012


def _ledger_rows(batch: str) -> list[tuple[str, tuple[Any, ...]]]:
    """Points and sales across two members, two servers, three months and two currencies."""
    return [
        (POINTS, (GUILD, ANN, 10, "submission", f"{batch}:s1", "2026-10-31T23:59:59.000000Z")),
        (POINTS, (GUILD, ANN, 5, "poll", f"{batch}:p1", "2026-11-01T00:00:00.000000Z")),
        (POINTS, (GUILD, BOB, 7, "event", f"{batch}:e1", "2026-11-15T12:00:00.000000Z")),
        (POINTS, (OTHER, ANN, 3, "adjustment", f"{batch}:a1", "2026-12-01T08:00:00.000000Z")),
        (SALE, (GUILD, "sale", f"{batch}-1", "sale", ANN, 5000, 4500, "EUR", "2026-10-30T10:00:00.000000Z", "x")),
        (SALE, (GUILD, "sale", f"{batch}-2", "sale", ANN, 3000, 2500, "USD", "2026-11-02T10:00:00.000000Z", "x")),
        # a refund stored with a positive amount still counts negative
        (SALE, (GUILD, "refund", f"{batch}-1", "r1", ANN, 0, 1500, "EUR", "2026-11-03T10:00:00.000000Z", "x")),
        (SALE, (GUILD, "sale", f"{batch}-3", "sale", BOB, 9000, 8000, "EUR", "2026-11-20T10:00:00.000000Z", "x")),
        (SALE, (OTHER, "refund", f"{batch}-4", "r2", BOB, 0, -700, "GBP", "2026-12-05T10:00:00.000000Z", "x")),
    ]


def _corrections(batch: str) -> list[tuple[str, tuple[Any, ...]]]:
    """Rows corrected in place and deleted: each read model's update and delete triggers."""
    return [
        ("UPDATE points_ledger SET points = 12, created_at = ? WHERE reference = ?",
         ("2026-12-02T00:00:00.000000Z", f"{batch}:s1")),
        ("UPDATE points_ledger SET note = 'no trigger on this column' WHERE reference = ?", (f"{batch}:p1",)),
        ("DELETE FROM points_ledger WHERE reference = ?", (f"{batch}:e1",)),
        ("UPDATE sales SET currency = 'GBP', occurred_at = ? WHERE order_id = ? AND kind = 'sale'",
         ("2026-12-01T00:00:00.000000Z", f"{batch}-2")),
        ("UPDATE sales SET user_id = ? WHERE order_id = ?", (BOB, f"{batch}-1")),
        ("DELETE FROM sales WHERE order_id = ?", (f"{batch}-3",)),
        ("DELETE FROM sales WHERE order_id = ?", (f"{batch}-4",)),
    ]  # fmt: skip


def _numbered(sql: str) -> str:
    count = 0

    def next_mark(_match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"\?", next_mark, sql)


def _read_models_sqlite(lite: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {table: sorted(lite.execute(f"SELECT * FROM {table}").fetchall()) for table in READ_MODELS}


async def _read_models_postgres(conn: asyncpg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {table: sorted(tuple(row) for row in await conn.fetch(f"SELECT * FROM {table}")) for table in READ_MODELS}


async def test_read_model_triggers_agree(tmp_path: Path, postgres_server: PostgresServer) -> None:
    path = tmp_path / "collective.db"
    pg_known = bundled_postgres_migrations()
    await _sqlite_database(path, upto=BEFORE_BACKFILLS)
    lite = sqlite3.connect(path, isolation_level=None)
    async with postgres_server.fresh_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_postgres_migrations(conn, pg_known[:BEFORE_BACKFILLS])
            # (what, statements, then migrate to the newest schema: the read models' backfills run)
            steps: list[tuple[str, list[tuple[str, tuple[Any, ...]]], bool]] = [
                ("ledger rows before the read models existed", _ledger_rows("old"), True),
                ("ledger rows kept by the triggers", _ledger_rows("new"), False),
                ("rows corrected and deleted", _corrections("old") + _corrections("new"), False),
            ]
            for what, statements, migrate in steps:
                for sql, params in statements:
                    lite.execute(sql, params)
                    await conn.execute(_numbered(sql), *params)
                if migrate:  # the read models' migrations backfill from the rows already there
                    await _sqlite_database(path)
                    await apply_postgres_migrations(conn, pg_known)
                sqlite_rows = _read_models_sqlite(lite)
                postgres_rows = await _read_models_postgres(conn)
                for table in READ_MODELS:
                    assert sqlite_rows[table], f"{what}: {table} is empty on SQLite: the scenario tests nothing"
                    assert postgres_rows[table] == sqlite_rows[table], (
                        f"after {what}, {table} differs:\n  SQLite:     {sqlite_rows[table]}\n"
                        f"  PostgreSQL: {postgres_rows[table]}"
                    )
        finally:
            await conn.close()
            lite.close()


async def test_paid_statements_are_final_on_both(tmp_path: Path, postgres_server: PostgresServer) -> None:
    path = tmp_path / "collective.db"
    await _sqlite_database(path)
    setup = [
        "INSERT INTO payout_runs (id, guild_id, period, period_end, created_at) VALUES (1, 1, '2026-11', 'e', 'c')",
        "INSERT INTO payout_statements (id, guild_id, run_id, user_id, currency, orders, sales_minor,"
        " refunds_minor, adjustments_minor, carried_in_minor, total_minor, minimum_minor, status, created_at)"
        " VALUES (1, 1, 1, 5, 'EUR', 1, 100, 0, 0, 0, 100, 0, 'open', 'c')",
        "INSERT INTO payout_items (guild_id, sale_row, run_id, statement_id, kind, base_minor, amount_minor)"
        " VALUES (1, 1, 1, 1, 'sale', 100, 100)",
        "UPDATE payout_statements SET status = 'paid', reference = 'bank 1' WHERE id = 1",
    ]
    refused = {
        "UPDATE payout_statements SET reference = 'changed' WHERE id = 1": "a paid statement cannot change",
        "DELETE FROM payout_statements WHERE id = 1": "statements are kept",
        "UPDATE payout_items SET amount_minor = 1": "what a payout run froze cannot change",
    }
    lite = sqlite3.connect(path, isolation_level=None)
    async with postgres_server.fresh_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_postgres_migrations(conn)
            for sql in setup:
                lite.execute(sql)
                await conn.execute(sql)
            for sql, message in refused.items():
                with pytest.raises(sqlite3.IntegrityError, match=message):
                    lite.execute(sql)
                with pytest.raises(asyncpg.IntegrityConstraintViolationError, match=message):
                    await conn.execute(sql)
        finally:
            await conn.close()
            lite.close()


# -- the CHECKs written differently (GLOB as a regular expression, json_valid as a function) --------------------

_SETTINGS = (
    "INSERT INTO guild_settings (guild_id, timezone, digest_weekday, digest_time, capacity, points_submission_approved,"
    " points_sale, points_poll_vote, points_event_attendance, created_at, updated_at)"
    " VALUES (?, 'UTC', 0, ?, 10, 1, 1, 1, 1, 'c', 'c')"
)
_TIER = "INSERT INTO tiers (guild_id, key, name) VALUES (?, ?, 'Tier')"
_RUN = "INSERT INTO payout_runs (guild_id, period, period_end, created_at) VALUES (?, ?, 'e', 'c')"
_TIMER = "INSERT INTO timers (guild_id, kind, key, due_at, payload, created_at) VALUES (?, 'k', 'key', 'd', ?, 'c')"
_OUTBOX = (
    "INSERT INTO outbox (guild_id, topic, key, delivered_to, available_at, created_at)"
    " VALUES (?, 't', NULL, ?, 'a', 'c')"
)
CHECKED_VALUES = [
    (_SETTINGS, ["09:30", "23:59", "29:59"], ["9:30", "09:60", "09:30 ", " 09:30", "09:30\n", "0930", ""]),
    (_TIER, ["ambassador", "a", "creator2", "a-b", "x\ny"], ["Ambassador", "2nd", "", "_a", "a" * 25]),
    (_RUN, ["2026-11", "0000-00"], ["2026-1", "2026/11", "2026-111", "26-11", "2026-11\n"]),
    (_TIMER, ["{}", '{"a": [1, 2.5, null, true]}', "[]", "null", '"text"', "12"], ["", "{", "{'a': 1}", "[1,]", "nul"]),
    (_OUTBOX, ["[]", '["audit"]'], ["[", "audit"]),
]


async def test_checks_accept_and_refuse_the_same_values(tmp_path: Path, postgres_server: PostgresServer) -> None:
    path = tmp_path / "collective.db"
    await _sqlite_database(path)
    lite = sqlite3.connect(path, isolation_level=None)
    disagreements: list[str] = []
    async with postgres_server.fresh_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_postgres_migrations(conn)
            guild = 0
            for sql, good, bad in CHECKED_VALUES:
                for value in good + bad:
                    guild += 1
                    try:
                        lite.execute(sql, (guild, value))
                        lite_ok = True
                    except sqlite3.IntegrityError:
                        lite_ok = False
                    try:
                        await conn.execute(_numbered(sql), guild, value)
                        pg_ok = True
                    except asyncpg.CheckViolationError:
                        pg_ok = False
                    expected = value in good
                    if (lite_ok, pg_ok) != (expected, expected):
                        table = sql.split()[2]
                        disagreements.append(
                            f"{table} {value!r}: SQLite {lite_ok}, PostgreSQL {pg_ok}, meant {expected}"
                        )
        finally:
            await conn.close()
            lite.close()
    assert not disagreements, "the engines' CHECKs disagree (True = accepted):\n" + "\n".join(disagreements)


# -- SQLite's functions the PostgreSQL schema supplies for the application's SQL ------------------------------

SQLITE_FUNCTIONS = [  # (query, guild_id): GUILD has rows, 0 has none
    ("SELECT SUM(points > 5), SUM(reason = 'poll'), SUM(note IS NULL), SUM(note = 'x') FROM points_ledger"
     " WHERE guild_id = ?", GUILD),
    ("SELECT SUM(points > 5), COALESCE(SUM(reason = 'poll'), 0) FROM points_ledger WHERE guild_id = ?", 0),
    ("SELECT user_id, SUM(reason <> 'poll') FROM points_ledger WHERE guild_id = ? GROUP BY user_id ORDER BY 1", GUILD),
    ("SELECT id, max(created_at, '2026-11-01'), min(points, 6), max(note, 'a'), max(points, 0) FROM points_ledger"
     " WHERE guild_id = ? ORDER BY id", GUILD),
]  # fmt: skip


async def test_sqlite_functions_the_application_uses_answer_alike(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    path = tmp_path / "collective.db"
    await _sqlite_database(path)
    lite = sqlite3.connect(path, isolation_level=None)
    async with postgres_server.fresh_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_postgres_migrations(conn)
            for sql, params in _ledger_rows("f")[:4]:
                lite.execute(sql, params)
                await conn.execute(_numbered(sql), *params)
            for query, guild in SQLITE_FUNCTIONS:
                expected = lite.execute(query, (guild,)).fetchall()
                actual = [tuple(row) for row in await conn.fetch(_numbered(query), guild)]
                assert actual == expected, f"{query}\n  SQLite:     {expected}\n  PostgreSQL: {actual}"
        finally:
            await conn.close()
            lite.close()
