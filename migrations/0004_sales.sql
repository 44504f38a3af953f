-- Sales attribution: every order the shop told us about, the ledger of attributed sales and refunds,
-- webhook deliveries (for dedupe), CSV imports, unknown codes seen, and celebration bookkeeping.
-- Money is integer minor units (cents; yen; fils) with its ISO currency; order ids are TEXT, exact.

-- Per-server sales settings (a row appears the first time a moderator changes one; absent = defaults).
CREATE TABLE sales_settings (
    guild_id            INTEGER PRIMARY KEY,
    count_unpaid_orders INTEGER NOT NULL DEFAULT 0 CHECK (count_unpaid_orders IN (0, 1)),
    shoutouts           INTEGER NOT NULL DEFAULT 0 CHECK (shoutouts IN (0, 1)),
    updated_at          TEXT    NOT NULL
);

-- Every order seen, attributed or not: dedupe on (shop, order id) and the paid/unpaid state.
CREATE TABLE shop_orders (
    guild_id     INTEGER NOT NULL,
    shop         TEXT    NOT NULL CHECK (shop IN ('shopify', 'woocommerce', 'generic', 'manual')),
    order_id     TEXT    NOT NULL,                  -- exact decimal text, never a float
    order_name   TEXT,                              -- e.g. '#1001'
    code         TEXT,                              -- the first discount code seen (upper case)
    paid         INTEGER NOT NULL CHECK (paid IN (0, 1)),
    counted      INTEGER NOT NULL DEFAULT 0 CHECK (counted IN (0, 1)),  -- a sale row exists
    ordered_at   TEXT    NOT NULL,
    received_at  TEXT    NOT NULL,
    PRIMARY KEY (guild_id, shop, order_id)
);
CREATE INDEX shop_orders_by_name ON shop_orders (guild_id, shop, order_name);

-- The attribution ledger: one row per attributed sale and per refund. Refund rows carry negative money.
CREATE TABLE sales (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('sale', 'refund')),
    shop           TEXT    NOT NULL,
    order_id       TEXT    NOT NULL,
    entry_ref      TEXT    NOT NULL,                -- 'sale' for the sale; the shop's refund id for a refund
    order_name     TEXT,
    code_id        INTEGER NOT NULL,                -- codes.id (history kept: retired codes still attribute)
    code           TEXT    NOT NULL,
    user_id        INTEGER NOT NULL,
    gross_minor    INTEGER NOT NULL,                -- line items before discounts
    discount_minor INTEGER NOT NULL,
    net_minor      INTEGER NOT NULL,                -- gross - discount (excl. tax and shipping); < 0 for refunds
    currency       TEXT    NOT NULL CHECK (length(currency) = 3),
    occurred_at    TEXT    NOT NULL,                -- when the shop says it happened
    recorded_at    TEXT    NOT NULL,
    source         TEXT    NOT NULL CHECK (source IN ('webhook', 'csv', 'manual')),
    code_retired   INTEGER NOT NULL DEFAULT 0,      -- attributed through a retired/paused code (flagged)
    self_referral  INTEGER NOT NULL DEFAULT 0,      -- buyer's email equals the ambassador's
    email_hash     TEXT,                            -- sha256 of the buyer's lower-cased email, never the email
    UNIQUE (guild_id, shop, order_id, kind, entry_ref)
);
CREATE INDEX sales_by_member_time ON sales (guild_id, user_id, occurred_at);
CREATE INDEX sales_by_time ON sales (guild_id, occurred_at);
CREATE INDEX sales_by_code_time ON sales (guild_id, code_id, occurred_at);

-- Webhook deliveries by the shop's event id: a replay is acknowledged and changes nothing.
CREATE TABLE webhook_deliveries (
    guild_id    INTEGER NOT NULL,
    shop        TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    topic       TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    received_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, shop, event_id)
);

-- CSV imports: progress is committed batch by batch with the orders, so a crash resumes cleanly.
CREATE TABLE sales_imports (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    file_sha256 TEXT    NOT NULL,
    filename    TEXT    NOT NULL,
    actor_id    INTEGER,
    status      TEXT    NOT NULL CHECK (status IN ('running', 'done')),
    stats       TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(stats)),
    started_at  TEXT    NOT NULL,
    finished_at TEXT
);
CREATE INDEX sales_imports_by_file ON sales_imports (guild_id, file_sha256);

-- Codes customers typed that no ambassador owns: a leak, a typo or an expired promotion.
CREATE TABLE unknown_codes (
    guild_id      INTEGER NOT NULL,
    code          TEXT    NOT NULL,                 -- upper case
    orders        INTEGER NOT NULL DEFAULT 0,
    first_seen_at TEXT    NOT NULL,
    last_seen_at  TEXT    NOT NULL,
    last_order_id TEXT,
    PRIMARY KEY (guild_id, code)
);

-- "Your code was just used": a burst of sales becomes one DM. pending_key names the durable timer.
CREATE TABLE sale_celebrations (
    guild_id         INTEGER NOT NULL,
    user_id          INTEGER NOT NULL,
    last_sale_id     INTEGER NOT NULL DEFAULT 0,    -- sales up to this id have been celebrated
    pending_key      TEXT,                          -- timers.key of the celebration due, if any
    updated_at       TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
