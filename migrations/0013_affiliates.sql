-- Affiliates (issue 18): commission rules per tier, the holding period and minimum payouts, and payout runs.
-- Pending and payable commission are derived from the sales ledger every time they are shown; these tables
-- hold only the rules and what a payout run froze (each ledger row at most once: never paid twice).

-- Program settings for payouts (a row appears the first time a moderator changes one; absent = defaults).
CREATE TABLE payout_settings (
    guild_id   INTEGER PRIMARY KEY,
    hold_days  INTEGER NOT NULL DEFAULT 30 CHECK (hold_days BETWEEN 0 AND 365),
    updated_at TEXT    NOT NULL
);

-- The minimum payout per currency (minor units): a statement below it is carried over. No row: no minimum.
CREATE TABLE payout_minimums (
    guild_id      INTEGER NOT NULL,
    currency      TEXT    NOT NULL CHECK (length(currency) = 3),
    minimum_minor INTEGER NOT NULL CHECK (minimum_minor >= 0),
    PRIMARY KEY (guild_id, currency)
);

-- Commission rules beside the tier's rate (tiers.commission_bp): a first-order rate (NULL: the tier's rate).
CREATE TABLE commission_rules (
    guild_id       INTEGER NOT NULL,
    tier           TEXT    NOT NULL,
    first_order_bp INTEGER CHECK (first_order_bp BETWEEN 0 AND 10000),
    PRIMARY KEY (guild_id, tier)
);

-- A fixed bonus per order, per tier and currency (minor units): only orders in that currency earn it.
CREATE TABLE commission_bonuses (
    guild_id    INTEGER NOT NULL,
    tier        TEXT    NOT NULL,
    currency    TEXT    NOT NULL CHECK (length(currency) = 3),
    bonus_minor INTEGER NOT NULL CHECK (bonus_minor > 0),
    PRIMARY KEY (guild_id, tier, currency)
);

-- One payout run per calendar month (server timezone): running a month again shows the same run.
CREATE TABLE payout_runs (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    period       TEXT    NOT NULL CHECK (period GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    period_end   TEXT    NOT NULL,                  -- UTC, exclusive: commission due before it is in the run
    created_by   INTEGER,
    created_at   TEXT    NOT NULL,
    UNIQUE (guild_id, period)
);

-- A statement per ambassador and currency in a run. Amounts are commission in minor units of `currency`.
CREATE TABLE payout_statements (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    run_id            INTEGER NOT NULL REFERENCES payout_runs (id),
    user_id           INTEGER NOT NULL,
    currency          TEXT    NOT NULL CHECK (length(currency) = 3),
    orders            INTEGER NOT NULL,             -- sales whose commission fell due in the run
    sales_minor       INTEGER NOT NULL,             -- their commission, before refunds
    refunds_minor     INTEGER NOT NULL,             -- refunds inside the holding period (<= 0)
    adjustments_minor INTEGER NOT NULL,             -- refunds after it, or after an earlier statement (<= 0)
    carried_in_minor  INTEGER NOT NULL,             -- balances of earlier statements carried over
    total_minor       INTEGER NOT NULL,
    minimum_minor     INTEGER NOT NULL,             -- the minimum payout when the run was made
    status            TEXT    NOT NULL CHECK (status IN ('open', 'paid', 'carried')),
    carried_into      INTEGER,                      -- a 'carried' statement: the statement that took its balance
    reference         TEXT,                         -- the payment's reference, typed when marked paid
    paid_by           INTEGER,
    paid_at           TEXT,
    created_at        TEXT    NOT NULL,
    UNIQUE (run_id, user_id, currency)
);
CREATE INDEX payout_statements_by_member ON payout_statements (guild_id, user_id, currency, id);

-- What a run froze: each ledger row (sales.id) once. statement_id NULL: frozen at zero commission (no statement).
CREATE TABLE payout_items (
    guild_id     INTEGER NOT NULL,
    sale_row     INTEGER NOT NULL,                  -- sales.id (a sale or a refund)
    run_id       INTEGER NOT NULL REFERENCES payout_runs (id),
    statement_id INTEGER REFERENCES payout_statements (id),
    kind         TEXT    NOT NULL CHECK (kind IN ('sale', 'refund', 'adjustment')),
    base_minor   INTEGER NOT NULL,                  -- a sale: its whole commission (what its refunds take shares of)
    amount_minor INTEGER NOT NULL,                  -- what this row adds to the statement (refunds negative)
    first_order  INTEGER NOT NULL DEFAULT 0 CHECK (first_order IN (0, 1)),
    PRIMARY KEY (guild_id, sale_row)
);
CREATE INDEX payout_items_by_statement ON payout_items (statement_id);

-- "A buyer never seen before": the first sale per buyer's email hash.
CREATE INDEX sales_by_buyer ON sales (guild_id, email_hash, occurred_at) WHERE email_hash IS NOT NULL;

-- A paid statement and what a run froze cannot change.
CREATE TRIGGER payout_statement_paid_is_final BEFORE UPDATE ON payout_statements WHEN OLD.status = 'paid'
BEGIN
    SELECT RAISE(ABORT, 'a paid statement cannot change');
END;
CREATE TRIGGER payout_statement_kept BEFORE DELETE ON payout_statements
BEGIN
    SELECT RAISE(ABORT, 'statements are kept');
END;
CREATE TRIGGER payout_items_frozen BEFORE UPDATE ON payout_items
BEGIN
    SELECT RAISE(ABORT, 'what a payout run froze cannot change');
END;
