-- The program's core records, shared by every capability: who is in it, their codes, points and the
-- audit trail, and which Discord channels and roles the program uses.

-- Everyone the program knows: applicants, ambassadors, alumni. Personal data (email, city) is erasable.
CREATE TABLE members (
    guild_id          INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    display_name      TEXT    NOT NULL,
    status            TEXT    NOT NULL
                      CHECK (status IN ('applicant', 'waitlisted', 'active', 'paused', 'left', 'removed', 'rejected')),
    tier              TEXT,                         -- tiers.key; NULL until approved
    email             TEXT,                         -- lower-cased; used for self-referral checks
    city              TEXT,
    dm_closed         INTEGER NOT NULL DEFAULT 0,   -- Discord said 50007: stop trying to DM
    approved_at       TEXT,
    approved_by       INTEGER,
    status_changed_at TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    forgotten_at      TEXT,                         -- personal data erased on request
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX members_by_status ON members (guild_id, status);

-- Tiers: e.g. ambassador (free product), affiliate (commission), creator (paid).
CREATE TABLE tiers (
    guild_id        INTEGER NOT NULL,
    key             TEXT    NOT NULL CHECK (key GLOB '[a-z]*' AND length(key) <= 24),
    name            TEXT    NOT NULL,
    commission_bp   INTEGER NOT NULL DEFAULT 0 CHECK (commission_bp BETWEEN 0 AND 10000),  -- basis points
    perks           TEXT    NOT NULL DEFAULT '',
    position        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, key)
);

-- Which Discord channel or role serves which purpose ('channel:briefs', 'role:ambassador', 'role:tier:creator').
CREATE TABLE bindings (
    guild_id   INTEGER NOT NULL,
    purpose    TEXT    NOT NULL,
    discord_id INTEGER NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, purpose)
);

-- Discount codes. History is kept: a retired code still attributes sales (flagged).
CREATE TABLE codes (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    code        TEXT    NOT NULL,                   -- as issued (upper case)
    code_norm   TEXT    NOT NULL,                   -- upper-cased, for case-insensitive lookups
    status      TEXT    NOT NULL CHECK (status IN ('active', 'paused', 'retired')),
    kind        TEXT    NOT NULL CHECK (kind IN ('generated', 'vanity')),
    created_at  TEXT    NOT NULL,
    created_by  INTEGER,
    retired_at  TEXT,
    UNIQUE (guild_id, code_norm),
    FOREIGN KEY (guild_id, user_id) REFERENCES members (guild_id, user_id)
);
CREATE INDEX codes_by_member ON codes (guild_id, user_id, status);
-- At most one usable code per member at a time.
CREATE UNIQUE INDEX codes_one_active ON codes (guild_id, user_id) WHERE status IN ('active', 'paused');

-- Points: append-only; the unique reference makes every award happen exactly once.
CREATE TABLE points_ledger (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    points      INTEGER NOT NULL,
    reason      TEXT    NOT NULL
                CHECK (reason IN ('submission', 'sale', 'refund', 'poll', 'event', 'adjustment')),
    reference   TEXT    NOT NULL,                   -- e.g. 'submission:42', 'sale:shopify:450789469'
    note        TEXT,
    created_at  TEXT    NOT NULL,
    created_by  INTEGER,
    UNIQUE (guild_id, reference)
);
CREATE INDEX points_by_member_time ON points_ledger (guild_id, user_id, created_at);
CREATE INDEX points_by_time ON points_ledger (guild_id, created_at);

-- Every moderator action, also posted to the audit-log channel.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    actor_id   INTEGER,                             -- NULL for the bot itself (auto-approve, timers)
    action     TEXT    NOT NULL,
    target_id  INTEGER,
    details    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
    created_at TEXT    NOT NULL
);
CREATE INDEX audit_by_time ON audit_log (guild_id, created_at);

ALTER TABLE guild_settings ADD COLUMN code_pattern TEXT NOT NULL DEFAULT '{PREFIX}{NAME}{RAND3}';
