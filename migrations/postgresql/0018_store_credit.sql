-- PostgreSQL twin of migrations/0018_store_credit.sql (the type mapping and what differs: see 0001_foundation.sql here).
-- Store credit (issue 18 item 4): an ambassador may be paid in the brand's store credit instead of cash.
-- The method each member chose, the method each statement was paid by, and the credit each store-credit
-- statement is owed in the shop (a Shopify gift card, a WooCommerce coupon), created once through the outbox.

-- The method a member chose with /payouts method (no row: cash).
CREATE TABLE payout_methods (
    guild_id   BIGINT  NOT NULL,
    user_id    BIGINT  NOT NULL,
    method     TEXT    NOT NULL CHECK (method IN ('cash', 'store_credit')),
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- How a statement was (or will be) paid: set when it is marked paid, from the member's method at that moment.
-- (A constant default: existing rows, paid ones included, read 'cash' without being rewritten, so the
-- payout_statement_paid_is_final trigger is not involved.)
ALTER TABLE payout_statements ADD COLUMN method TEXT NOT NULL DEFAULT 'cash'
    CHECK (method IN ('cash', 'store_credit'));

-- The credit a paid store-credit statement is owed in the shop. `code` is chosen in the paid unit of work (random,
-- secret: never logged nor audited) so every attempt asks the shop for the same one and finds it after a crash.
CREATE TABLE store_credits (
    statement_id BIGINT  PRIMARY KEY REFERENCES payout_statements (id),
    guild_id     BIGINT  NOT NULL,
    user_id      BIGINT  NOT NULL,
    platform     TEXT    NOT NULL CHECK (platform IN ('shopify', 'woocommerce')),
    code         TEXT    NOT NULL,
    amount_minor BIGINT  NOT NULL CHECK (amount_minor > 0),
    currency     TEXT    NOT NULL CHECK (length(currency) = 3),
    status       TEXT    NOT NULL DEFAULT 'owed' CHECK (status IN ('owed', 'created', 'refused')),
    remote_ref   TEXT,                              -- the gift card's gid, the coupon's id
    problem      TEXT,                              -- why the shop refused it (moderators pay another way)
    created_at   TEXT    NOT NULL,
    done_at      TEXT
);
CREATE INDEX store_credits_owed ON store_credits (guild_id, status);
