-- Rewards: a catalogue members spend points on, their redemptions, and the spending ledger.
--
-- Lifetime points (points_ledger) never go down when a member spends: spending is its own append-only ledger,
-- point_spends, with one row per redemption (positive) and one reversing row when it is refunded (negative),
-- each under a unique reference. A member's spendable balance is SUM(points_ledger) - SUM(point_spends).

CREATE TABLE rewards (
    id                 INTEGER PRIMARY KEY,
    guild_id           INTEGER NOT NULL,
    title              TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    description        TEXT    NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    image_url          TEXT,                               -- a link; an uploaded image is in reward_images
    cost               INTEGER NOT NULL CHECK (cost > 0),  -- points
    stock              INTEGER CHECK (stock IS NULL OR stock >= 0),  -- how many are left; NULL: unlimited
    per_member_limit   INTEGER CHECK (per_member_limit IS NULL OR per_member_limit > 0),
    tier               TEXT,                               -- tiers.key; NULL: every ambassador
    kind               TEXT    NOT NULL CHECK (kind IN ('code', 'role', 'perk')),
    -- kind 'code': a single-use discount created in the shop at redemption, valid code_days days:
    -- a fixed amount off (code_amount_minor in code_currency) or 100% off one product (code_product_id)
    code_amount_minor  INTEGER CHECK (code_amount_minor IS NULL OR code_amount_minor > 0),
    code_currency      TEXT,
    code_product_id    TEXT,
    code_product_title TEXT,
    code_days          INTEGER CHECK (code_days IS NULL OR code_days BETWEEN 1 AND 365),
    -- kind 'role': a Discord role for role_days days, taken back by a durable timer
    role_id            INTEGER,
    role_days          INTEGER CHECK (role_days IS NULL OR role_days BETWEEN 1 AND 365),
    -- kind 'perk': something a moderator hands out (a call, a product to ship…): a queue with "Mark given"
    status             TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_by         INTEGER,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    retired_at         TEXT,
    CHECK (kind <> 'code' OR (code_days IS NOT NULL
        AND ((code_amount_minor IS NOT NULL AND code_currency IS NOT NULL) <> (code_product_id IS NOT NULL)))),
    CHECK (kind <> 'role' OR (role_id IS NOT NULL AND role_days IS NOT NULL))
);
CREATE INDEX rewards_by_status ON rewards (guild_id, status, cost);

-- An image uploaded with /reward create or edit (Discord's attachment links expire, so the bytes are kept).
CREATE TABLE reward_images (
    reward_id    INTEGER PRIMARY KEY REFERENCES rewards (id),
    guild_id     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    data         BLOB    NOT NULL
);

-- One row per redemption: points, stock and this row commit together.
CREATE TABLE redemptions (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    reward_id     INTEGER NOT NULL REFERENCES rewards (id),
    request_key   TEXT    NOT NULL,      -- the confirm button's nonce: a double click finds the same redemption
    kind          TEXT    NOT NULL CHECK (kind IN ('code', 'role', 'perk')),
    cost          INTEGER NOT NULL CHECK (cost > 0),
    status        TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'fulfilled', 'cancelled', 'failed')),
    code          TEXT,                  -- kind 'code': the single-use code (the member's and moderators' only)
    remote_ref    TEXT,                  -- the shop's id for it, once created
    ends_at       TEXT,                  -- when the code expires or the role is taken back
    error         TEXT,                  -- why it failed (the shop's words)
    created_at    TEXT    NOT NULL,
    fulfilled_at  TEXT,
    fulfilled_by  INTEGER,               -- the moderator who marked a perk given
    closed_at     TEXT,                  -- cancelled or failed
    closed_by     INTEGER,               -- the moderator who cancelled; NULL: the bot (a refusal)
    close_reason  TEXT,
    role_removed_at TEXT,
    UNIQUE (guild_id, user_id, request_key)
);
CREATE INDEX redemptions_by_member ON redemptions (guild_id, user_id, reward_id, status);
CREATE INDEX redemptions_by_status ON redemptions (guild_id, status, kind, created_at);
CREATE UNIQUE INDEX redemptions_by_code ON redemptions (guild_id, code) WHERE code IS NOT NULL;

-- The spending ledger: 'redemption:<id>' spends the cost; 'refund:<id>' gives it back, once.
CREATE TABLE point_spends (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    points        INTEGER NOT NULL CHECK (points <> 0),   -- positive: spent; negative: given back
    reason        TEXT    NOT NULL CHECK (reason IN ('redemption', 'refund')),
    reference     TEXT    NOT NULL,
    redemption_id INTEGER NOT NULL REFERENCES redemptions (id),
    created_at    TEXT    NOT NULL,
    UNIQUE (guild_id, reference)
);
CREATE INDEX point_spends_by_member ON point_spends (guild_id, user_id, points);
