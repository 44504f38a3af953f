-- Engagement: focus-group polls and the points read models behind leaderboards and profiles.

-- A poll. Options live in poll_options; who may vote: active ambassadors, optionally of one tier,
-- optionally only the members listed in poll_voters (restricted = 1, e.g. an event's attendees).
CREATE TABLE polls (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    question        TEXT    NOT NULL CHECK (length(question) BETWEEN 1 AND 300),
    anonymous       INTEGER NOT NULL DEFAULT 1 CHECK (anonymous IN (0, 1)),
    multiple        INTEGER NOT NULL DEFAULT 0 CHECK (multiple IN (0, 1)),
    comment_prompt  TEXT,                           -- NULL: no written comment invited
    tier            TEXT,                           -- tiers.key; NULL: every tier may vote
    restricted      INTEGER NOT NULL DEFAULT 0 CHECK (restricted IN (0, 1)),
    status          TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closes_at       TEXT    NOT NULL,
    created_by      INTEGER,
    created_at      TEXT    NOT NULL,
    closed_at       TEXT,
    closed_by       INTEGER,                        -- NULL: closed by its timer
    channel_id      INTEGER,                        -- where the poll was posted (NULL when DM'd)
    message_id      INTEGER,
    results_url     TEXT                            -- link to the posted results, for the digest
);
CREATE INDEX polls_by_status ON polls (guild_id, status, closes_at);
CREATE INDEX polls_by_closed ON polls (guild_id, closed_at);

CREATE TABLE poll_options (
    guild_id INTEGER NOT NULL,
    poll_id  INTEGER NOT NULL REFERENCES polls (id),
    position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 9),
    label    TEXT    NOT NULL CHECK (length(label) BETWEEN 1 AND 80),
    PRIMARY KEY (poll_id, position)
);

CREATE TABLE poll_voters (
    guild_id INTEGER NOT NULL,
    poll_id INTEGER NOT NULL REFERENCES polls (id),
    user_id INTEGER NOT NULL,
    PRIMARY KEY (poll_id, user_id)
);

-- One row per member and poll; changing a vote rewrites the row.
CREATE TABLE poll_votes (
    poll_id    INTEGER NOT NULL REFERENCES polls (id),
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    choices    TEXT    NOT NULL CHECK (json_valid(choices)),   -- JSON list of option positions
    comment    TEXT,
    tier       TEXT,                                           -- the voter's tier when they voted
    voted_at   TEXT    NOT NULL,
    changed_at TEXT    NOT NULL,
    PRIMARY KEY (poll_id, user_id)
);

-- Points: a running all-time total per member, kept by triggers, so the all-time leaderboard reads
-- 10,000 rows instead of summing a million. The ledger stays the truth (rebuildable from it).
CREATE TABLE points_totals (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    points   INTEGER NOT NULL,
    last_at  TEXT    NOT NULL,                      -- latest award: ties go to whoever got there first
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX points_totals_rank ON points_totals (guild_id, points DESC, last_at, user_id);

INSERT INTO points_totals (guild_id, user_id, points, last_at)
    SELECT guild_id, user_id, SUM(points), MAX(created_at) FROM points_ledger GROUP BY guild_id, user_id;

CREATE TRIGGER points_totals_on_insert AFTER INSERT ON points_ledger
BEGIN
    INSERT INTO points_totals (guild_id, user_id, points, last_at)
        VALUES (NEW.guild_id, NEW.user_id, NEW.points, NEW.created_at)
        ON CONFLICT (guild_id, user_id) DO UPDATE
            SET points = points + excluded.points, last_at = max(last_at, excluded.last_at);
END;

CREATE TRIGGER points_totals_on_delete AFTER DELETE ON points_ledger
BEGIN
    UPDATE points_totals SET points = points - OLD.points WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id;
END;

-- Week and month leaderboards sum a time range: this index covers that scan.
CREATE INDEX points_by_time_covering ON points_ledger (guild_id, created_at, user_id, points);
