-- Foundation: per-server settings, durable timers, once-per-period job runs, bot bookkeeping.
-- Times are UTC, stored as fixed-width ISO-8601 text ('YYYY-MM-DDTHH:MM:SS.ffffffZ') so they sort.

CREATE TABLE guild_settings (
    guild_id                    INTEGER PRIMARY KEY,
    timezone                    TEXT    NOT NULL,
    digest_weekday              INTEGER NOT NULL CHECK (digest_weekday BETWEEN 0 AND 6),  -- 0 = Monday
    digest_time                 TEXT    NOT NULL CHECK (digest_time GLOB '[0-2][0-9]:[0-5][0-9]'),
    capacity                    INTEGER NOT NULL CHECK (capacity > 0),
    code_prefix                 TEXT    NOT NULL DEFAULT '',
    points_submission_approved  INTEGER NOT NULL CHECK (points_submission_approved >= 0),
    points_sale                 INTEGER NOT NULL CHECK (points_sale >= 0),
    points_poll_vote            INTEGER NOT NULL CHECK (points_poll_vote >= 0),
    points_event_attendance     INTEGER NOT NULL CHECK (points_event_attendance >= 0),
    created_at                  TEXT    NOT NULL,
    updated_at                  TEXT    NOT NULL
);

-- One-off future work (poll closes, drop publishes, reminders). The row is the truth;
-- APScheduler only wakes the bot up when the earliest one is due.
CREATE TABLE timers (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL,            -- caller's idempotency key, e.g. 'poll:42'
    due_at      TEXT    NOT NULL,
    retry_at    TEXT,                        -- set after a failed attempt
    payload     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'done', 'missed', 'failed', 'cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  TEXT    NOT NULL,
    finished_at TEXT,
    UNIQUE (guild_id, kind, key)
);
CREATE INDEX timers_by_status_due ON timers (status, due_at);

-- Recurring jobs claim their period here before running, so each runs once per period per server.
-- guild_id 0 is for process-wide jobs such as backups.
CREATE TABLE job_runs (
    guild_id    INTEGER NOT NULL,
    job         TEXT    NOT NULL,
    period_key  TEXT    NOT NULL,            -- e.g. '2026-W48' for a weekly job
    due_at      TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('claimed', 'done', 'failed', 'missed')),
    attempts    INTEGER NOT NULL DEFAULT 1,
    claimed_at  TEXT    NOT NULL,
    retry_at    TEXT,                        -- set after a failed attempt
    finished_at TEXT,
    last_error  TEXT,
    result      TEXT,
    PRIMARY KEY (guild_id, job, period_key)
);

-- Process bookkeeping, e.g. the hash of the last synced command tree per scope.
CREATE TABLE bot_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
