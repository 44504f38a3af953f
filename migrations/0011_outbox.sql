-- The outbox: what must follow a committed change (an audit post, a domain event, a push to the shop) is
-- written here in the same transaction as the change, and carried out after the commit by bot/outbox.py.
-- A crash between commit and delivery leaves the row pending; the next start delivers it.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    topic        TEXT    NOT NULL,                   -- e.g. 'audit.recorded', 'sale.recorded'
    key          TEXT,                               -- optional idempotency key: one row per (topic, key)
    payload      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    delivered_to TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(delivered_to)),  -- subscribers already done
    available_at TEXT    NOT NULL,                   -- not before (backoff after a failure)
    created_at   TEXT    NOT NULL,
    finished_at  TEXT,
    last_error   TEXT,
    UNIQUE (topic, key)
);
CREATE INDEX outbox_due ON outbox (status, available_at);
