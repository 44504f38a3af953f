-- Gifting campaigns (product seeding), the gifts that follow them to a member's door, and members' shipping
-- details — personal data, kept only while a gift needs them (bot/services/gifting/shipping.py).

-- How many days shipping details are kept once nothing of the member's is left to ship.
ALTER TABLE guild_settings ADD COLUMN shipping_retention_days INTEGER NOT NULL DEFAULT 30
    CHECK (shipping_retention_days BETWEEN 0 AND 365);

-- A campaign: a product, how many, who may take part, and the opt-in window.
CREATE TABLE gift_campaigns (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    product      TEXT    NOT NULL CHECK (length(product) BETWEEN 1 AND 200),  -- as members read it
    variant_ref  TEXT,                                   -- picked from the store: what an order names; NULL: typed
    quantity     INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    tier         TEXT,                                   -- audience: this tier only (NULL: every ambassador)
    picked       INTEGER NOT NULL DEFAULT 0,             -- audience: only the members in gift_invitees
    opens_at     TEXT    NOT NULL,
    closes_at    TEXT    NOT NULL,
    brief_id     INTEGER REFERENCES briefs (id),         -- the brief chosen members are asked to follow
    status       TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'cancelled')),
    channel_id   INTEGER,                                -- the announcement
    message_id   INTEGER,
    created_by   INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    closed_at    TEXT,
    CHECK (closes_at > opens_at)
);
CREATE INDEX gift_campaigns_by_status ON gift_campaigns (guild_id, status);

CREATE TABLE gift_invitees (
    campaign_id  INTEGER NOT NULL REFERENCES gift_campaigns (id),
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, user_id)
);

-- "I'd love one". ``id`` is the order of arrival: the first come are chosen when the window closes.
CREATE TABLE gift_optins (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES gift_campaigns (id),
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    opted_at     TEXT    NOT NULL,
    chosen       INTEGER,                                -- NULL while open; 1 chosen, 0 not this time
    UNIQUE (campaign_id, user_id)
);

-- One thing to send one member: a campaign's gift, or any feature's item (request_fulfilment). It goes either
-- to the store as a zero-value order (route 'shop') or to the moderators' fulfilment queue (route 'queue').
CREATE TABLE gifts (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    reference     TEXT    NOT NULL,                      -- who asked for it: 'campaign:7', 'reward:12'…
    what          TEXT    NOT NULL,
    campaign_id   INTEGER REFERENCES gift_campaigns (id),
    variant_ref   TEXT,
    route         TEXT    NOT NULL CHECK (route IN ('shop', 'queue')),
    state         TEXT    NOT NULL CHECK (state IN ('awaiting_address', 'ready', 'ordered', 'shipped', 'delivered',
                                                    'cancelled')),
    order_key     TEXT    NOT NULL,                      -- the idempotency key a shop order is tagged with
    order_ref     TEXT,                                  -- the shop's order id, once placed
    order_name    TEXT,
    tracking_url  TEXT,
    error         TEXT,                                  -- the shop's words when it refused the order
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    shipped_at    TEXT,
    delivered_at  TEXT,
    finished_at   TEXT,                                  -- shipped or cancelled: the address is no longer needed
    UNIQUE (guild_id, user_id, reference)
);
CREATE INDEX gifts_by_state ON gifts (guild_id, state);
CREATE INDEX gifts_by_member ON gifts (guild_id, user_id);

-- A member's shipping details. Never copied elsewhere: not into outbox payloads, audit entries or logs.
CREATE TABLE shipping_details (
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    line1        TEXT    NOT NULL,
    line2        TEXT,
    city         TEXT    NOT NULL,
    postal_code  TEXT    NOT NULL,
    country      TEXT    NOT NULL CHECK (length(country) = 2),  -- ISO 3166-1 alpha-2
    phone        TEXT,
    updated_at   TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
