-- PostgreSQL twin of migrations/0016_tier_rules.sql (the type mapping and what differs: see 0001_foundation.sql here).
-- Tiers that move by themselves (issue 18 item 5): a rule per tier, the program's demotion grace, a member's
-- pin, and since when a member has been below their tier's rule. Evaluated once a day (job "tier-rules").

-- A tier's rule: met with at least min_orders sales or at least min_points points in the last window_days.
-- No row: the tier has no rule (the lowest tier is everyone's floor; a higher one is only given by hand).
CREATE TABLE tier_rules (
    guild_id    BIGINT  NOT NULL,
    tier        TEXT    NOT NULL,                   -- tiers.key
    min_orders  BIGINT  CHECK (min_orders >= 0),
    min_points  BIGINT  CHECK (min_points >= 0),
    window_days BIGINT  NOT NULL DEFAULT 90 CHECK (window_days BETWEEN 1 AND 365),
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (guild_id, tier),
    CHECK (min_orders IS NOT NULL OR min_points IS NOT NULL)
);

-- The program's demotion grace: a member is demoted after a whole window plus this many days below.
-- No row: 0 days.
CREATE TABLE tier_settings (
    guild_id    BIGINT  PRIMARY KEY,
    grace_days  BIGINT  NOT NULL DEFAULT 0 CHECK (grace_days BETWEEN 0 AND 365),
    updated_at  TEXT    NOT NULL
);

-- Per member: a moderator's pin (rules leave the member's tier alone) and since when they have been below
-- their tier's rule (NULL: not below). A row appears the first time either is needed.
CREATE TABLE tier_standing (
    guild_id    BIGINT  NOT NULL,
    user_id     BIGINT  NOT NULL,
    pinned      BIGINT  NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    pinned_by   BIGINT,
    pinned_at   TEXT,
    below_since TEXT,
    PRIMARY KEY (guild_id, user_id)
);
