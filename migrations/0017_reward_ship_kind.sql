-- Issue 17: a reward of the kind "a product to ship". Redeeming it puts the product in the gifting fulfilment
-- queue (gifts, reference 'redemption:<id>') with the member's shipping details; the redemption stays pending until
-- it ships, and is refunded (points and stock back, once) when the gift is cancelled.
--
-- SQLite cannot change a CHECK constraint in place, so rewards and redemptions are rebuilt: new table, copy, drop,
-- rename, re-create the indexes. Their children (reward_images, point_spends) are rebuilt with them, each new table
-- first referring to the new parent's temporary name: dropping an old parent then finds no child row pointing at
-- it (foreign keys stay on and are checked immediately), and the renames rewrite those references to the final
-- names (SQLite >= 3.26 with legacy_alter_table off, the default). No trigger or view refers to these tables.

CREATE TABLE rewards_new (
    id                 INTEGER PRIMARY KEY,
    guild_id           INTEGER NOT NULL,
    title              TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    description        TEXT    NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    image_url          TEXT,
    cost               INTEGER NOT NULL CHECK (cost > 0),
    stock              INTEGER CHECK (stock IS NULL OR stock >= 0),
    per_member_limit   INTEGER CHECK (per_member_limit IS NULL OR per_member_limit > 0),
    tier               TEXT,
    kind               TEXT    NOT NULL CHECK (kind IN ('code', 'role', 'perk', 'ship')),
    code_amount_minor  INTEGER CHECK (code_amount_minor IS NULL OR code_amount_minor > 0),
    code_currency      TEXT,
    code_product_id    TEXT,
    code_product_title TEXT,
    code_days          INTEGER CHECK (code_days IS NULL OR code_days BETWEEN 1 AND 365),
    role_id            INTEGER,
    role_days          INTEGER CHECK (role_days IS NULL OR role_days BETWEEN 1 AND 365),
    -- kind 'ship': the product as members and moderators read it, and the store's variant when it was picked from
    -- a connected Shopify store (then a zero-value draft order ships it; otherwise moderators' /fulfilment queue)
    ship_product       TEXT    CHECK (ship_product IS NULL OR length(ship_product) BETWEEN 1 AND 200),
    ship_variant_ref   TEXT,
    status             TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_by         INTEGER,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    retired_at         TEXT,
    CHECK (kind <> 'code' OR (code_days IS NOT NULL
        AND ((code_amount_minor IS NOT NULL AND code_currency IS NOT NULL) <> (code_product_id IS NOT NULL)))),
    CHECK (kind <> 'role' OR (role_id IS NOT NULL AND role_days IS NOT NULL)),
    CHECK (kind <> 'ship' OR ship_product IS NOT NULL)
);

CREATE TABLE reward_images_new (
    reward_id    INTEGER PRIMARY KEY REFERENCES rewards_new (id),
    guild_id     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    data         BLOB    NOT NULL
);

CREATE TABLE redemptions_new (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    reward_id     INTEGER NOT NULL REFERENCES rewards_new (id),
    request_key   TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('code', 'role', 'perk', 'ship')),
    cost          INTEGER NOT NULL CHECK (cost > 0),
    status        TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'fulfilled', 'cancelled', 'failed')),
    code          TEXT,                  -- kind 'code': the single-use code; erased by /ambassador forget
    remote_ref    TEXT,
    ends_at       TEXT,
    error         TEXT,
    created_at    TEXT    NOT NULL,
    fulfilled_at  TEXT,                  -- kind 'ship': when it shipped
    fulfilled_by  INTEGER,
    closed_at     TEXT,
    closed_by     INTEGER,
    close_reason  TEXT,
    role_removed_at TEXT,
    UNIQUE (guild_id, user_id, request_key)
);

CREATE TABLE point_spends_new (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    points        INTEGER NOT NULL CHECK (points <> 0),
    reason        TEXT    NOT NULL CHECK (reason IN ('redemption', 'refund')),
    reference     TEXT    NOT NULL,
    redemption_id INTEGER NOT NULL REFERENCES redemptions_new (id),
    created_at    TEXT    NOT NULL,
    UNIQUE (guild_id, reference)
);

INSERT INTO rewards_new (id, guild_id, title, description, image_url, cost, stock, per_member_limit, tier, kind,
        code_amount_minor, code_currency, code_product_id, code_product_title, code_days, role_id, role_days, status,
        created_by, created_at, updated_at, retired_at)
    SELECT id, guild_id, title, description, image_url, cost, stock, per_member_limit, tier, kind, code_amount_minor,
           code_currency, code_product_id, code_product_title, code_days, role_id, role_days, status, created_by,
           created_at, updated_at, retired_at
    FROM rewards;
INSERT INTO reward_images_new (reward_id, guild_id, name, content_type, data)
    SELECT reward_id, guild_id, name, content_type, data FROM reward_images;
INSERT INTO redemptions_new (id, guild_id, user_id, reward_id, request_key, kind, cost, status, code, remote_ref,
        ends_at, error, created_at, fulfilled_at, fulfilled_by, closed_at, closed_by, close_reason, role_removed_at)
    SELECT id, guild_id, user_id, reward_id, request_key, kind, cost, status, code, remote_ref, ends_at, error,
           created_at, fulfilled_at, fulfilled_by, closed_at, closed_by, close_reason, role_removed_at
    FROM redemptions;
INSERT INTO point_spends_new (id, guild_id, user_id, points, reason, reference, redemption_id, created_at)
    SELECT id, guild_id, user_id, points, reason, reference, redemption_id, created_at FROM point_spends;

-- Children first: when a parent goes, nothing refers to it any more.
DROP TABLE point_spends;
DROP TABLE reward_images;
DROP TABLE redemptions;
DROP TABLE rewards;

ALTER TABLE rewards_new RENAME TO rewards;
ALTER TABLE reward_images_new RENAME TO reward_images;
ALTER TABLE redemptions_new RENAME TO redemptions;
ALTER TABLE point_spends_new RENAME TO point_spends;

CREATE INDEX rewards_by_status ON rewards (guild_id, status, cost);
CREATE INDEX redemptions_by_member ON redemptions (guild_id, user_id, reward_id, status);
CREATE INDEX redemptions_by_status ON redemptions (guild_id, status, kind, created_at);
CREATE UNIQUE INDEX redemptions_by_code ON redemptions (guild_id, code) WHERE code IS NOT NULL;
CREATE INDEX point_spends_by_member ON point_spends (guild_id, user_id, points);

-- A moderator's reason for cancelling one gift (told to the member; never personal data of theirs).
ALTER TABLE gifts ADD COLUMN cancel_reason TEXT;
