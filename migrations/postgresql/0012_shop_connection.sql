-- PostgreSQL twin of migrations/0012_shop_connection.sql (the type mapping and what differs: see 0001_foundation.sql here).
-- The brand's shop, as Collective keeps track of it. Secrets never live here: the access token or REST key
-- comes from configuration (README, Connecting your shop); this is what the bot learnt and what is owed.

-- One row per server with a configured shop, written at start (bot/shop/connections.py).
CREATE TABLE shop_connections (
    guild_id          BIGINT  PRIMARY KEY,
    platform          TEXT    NOT NULL CHECK (platform IN ('shopify', 'woocommerce')),
    shop              TEXT    NOT NULL,                -- the domain or store address (not secret)
    connected_at      TEXT    NOT NULL,                -- first seen in configuration
    scopes            TEXT,                            -- granted access scopes, from the last check
    checked_at        TEXT,
    problem           TEXT,                            -- the last connection-wide failure (a bad token…), or NULL
    problem_notified  BIGINT  NOT NULL DEFAULT 0,      -- moderators were told about ``problem``
    webhooks_at       TEXT,                            -- subscriptions last ensured
    webhooks          TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(webhooks)),  -- [{topic, address}]
    orders_cursor     TEXT,                            -- catch-up read every change up to here (UTC)
    caught_up_at      TEXT,                            -- the last catch-up run that finished
    backfill_from     TEXT,                            -- the backfill's start (now - 60 days at connection)
    backfill_done_at  TEXT,
    synced_at         TEXT                             -- the last /shop sync that finished
);

-- What an ambassador's code gives at checkout: the program's default (tier '') and optional per-tier ones.
CREATE TABLE code_discounts (
    guild_id          BIGINT  NOT NULL,
    tier              TEXT    NOT NULL DEFAULT '',     -- tiers.key, or '' for every tier without its own
    kind              TEXT    NOT NULL CHECK (kind IN ('percentage', 'fixed')),
    value             BIGINT  NOT NULL CHECK (value > 0),  -- whole percent (1–100) or minor units
    currency          TEXT,                            -- a fixed amount's currency
    once_per_customer BIGINT  NOT NULL DEFAULT 1,
    minimum_minor     BIGINT  CHECK (minimum_minor IS NULL OR minimum_minor > 0),
    combines_order    BIGINT  NOT NULL DEFAULT 0,
    combines_product  BIGINT  NOT NULL DEFAULT 0,
    combines_shipping BIGINT  NOT NULL DEFAULT 1,
    updated_at        TEXT    NOT NULL,
    PRIMARY KEY (guild_id, tier),
    CHECK (kind = 'fixed' OR value <= 100),
    CHECK (kind = 'percentage' OR currency IS NOT NULL)
);

-- Each code's state in the shop. ``version`` grows with every change Collective makes to the code; a push
-- records the version it carried, so a slow push never overwrites a newer one's result.
CREATE TABLE shop_codes (
    code_id         BIGINT  PRIMARY KEY REFERENCES codes (id),
    guild_id        BIGINT  NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'live', 'failed')),
    version         BIGINT  NOT NULL DEFAULT 1,
    pushed_version  BIGINT  NOT NULL DEFAULT 0,
    remote_ref      TEXT,                              -- the shop's id for the discount
    remote_active   BIGINT,                           -- what the shop last confirmed
    error           TEXT,                              -- the shop's own words, when it refused
    updated_at      TEXT    NOT NULL
);
CREATE INDEX shop_codes_by_state ON shop_codes (guild_id, state);
