-- Content: briefs (what the brand would love to see), drops (insider access), submissions and their review.
-- Times are UTC text like every other table; Discord ids are kept so posts can be edited later.

CREATE TABLE briefs (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    title        TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    what_to_make TEXT    NOT NULL,
    deliverables TEXT    NOT NULL DEFAULT '',           -- deliverables and hashtags
    due_at       TEXT    NOT NULL,
    points       INTEGER NOT NULL CHECK (points BETWEEN 0 AND 10000),
    tier         TEXT,                                  -- tiers.key; NULL: every ambassador
    status       TEXT    NOT NULL CHECK (status IN ('draft', 'open', 'closed', 'cancelled')),
    channel_id   INTEGER,                               -- where it was posted
    message_id   INTEGER,
    thread_id    INTEGER,                               -- the questions thread
    created_by   INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    published_at TEXT,
    closed_at    TEXT
);
CREATE INDEX briefs_by_status_due ON briefs (guild_id, status, due_at);

-- "I'm in": who opted in, and whether the reminder reached them (so a retried reminder never repeats).
CREATE TABLE brief_optins (
    guild_id    INTEGER NOT NULL,
    brief_id    INTEGER NOT NULL REFERENCES briefs (id),
    user_id     INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    reminded_at TEXT,
    PRIMARY KEY (brief_id, user_id)
);

CREATE TABLE drops (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    title          TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    body           TEXT    NOT NULL,
    image_url      TEXT,                                -- a link given by the moderator
    image_name     TEXT,                                -- an uploaded image, kept here because
    image_type     TEXT,                                --   Discord's attachment links expire
    image_data     BLOB,
    publish_at     TEXT    NOT NULL,
    embargo_until  TEXT,                                -- "I won't share before …"
    ask_ack        INTEGER NOT NULL DEFAULT 0,          -- show the acknowledgement button
    status         TEXT    NOT NULL CHECK (status IN ('scheduled', 'published', 'cancelled')),
    channel_id     INTEGER,
    message_id     INTEGER,
    created_by     INTEGER NOT NULL,
    created_at     TEXT    NOT NULL,
    published_at   TEXT
);
CREATE INDEX drops_by_status ON drops (guild_id, status, publish_at);

CREATE TABLE drop_acks (
    guild_id   INTEGER NOT NULL,
    drop_id    INTEGER NOT NULL REFERENCES drops (id),
    user_id    INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (drop_id, user_id)
);

CREATE TABLE submissions (
    id                  INTEGER PRIMARY KEY,
    guild_id            INTEGER NOT NULL,
    user_id             INTEGER NOT NULL,
    brief_id            INTEGER REFERENCES briefs (id),  -- NULL: free-form content
    link                TEXT    NOT NULL CHECK (length(link) <= 2048),
    link_key            TEXT    NOT NULL,                -- normalised link, for the duplicate check
    platform            TEXT    NOT NULL,                -- 'TikTok', 'Instagram', … or 'link'
    note                TEXT,
    attachment_url      TEXT,
    attachment_name     TEXT,
    reshare_consent     INTEGER NOT NULL CHECK (reshare_consent = 1),
    consent_at          TEXT    NOT NULL,
    status              TEXT    NOT NULL
                        CHECK (status IN ('pending', 'approved', 'changes_requested', 'rejected')),
    feedback            TEXT,
    reviewer_id         INTEGER,
    reviewed_at         TEXT,
    resubmission_of     INTEGER REFERENCES submissions (id),
    points_awarded      INTEGER NOT NULL DEFAULT 0,
    review_channel_id   INTEGER,
    review_message_id   INTEGER,
    showcase_message_id INTEGER,
    flagged_at          TEXT,                            -- told moderators it waited > 48 h
    created_at          TEXT    NOT NULL
);
CREATE INDEX submissions_by_status ON submissions (guild_id, status, created_at);
CREATE INDEX submissions_by_member ON submissions (guild_id, user_id, created_at);
CREATE INDEX submissions_by_brief ON submissions (brief_id, user_id);
-- The same link cannot be in the queue or approved twice (a resubmission may reuse its original's link,
-- whose status is then 'changes_requested').
CREATE UNIQUE INDEX submissions_one_live_link ON submissions (guild_id, link_key)
    WHERE status IN ('pending', 'approved');
-- One resubmission per request for changes.
CREATE UNIQUE INDEX submissions_one_resubmission ON submissions (resubmission_of)
    WHERE resubmission_of IS NOT NULL;

CREATE TABLE content_settings (
    guild_id             INTEGER PRIMARY KEY,
    reminder_days_before INTEGER NOT NULL DEFAULT 2 CHECK (reminder_days_before BETWEEN 0 AND 30),
    feature_in_showcase  INTEGER NOT NULL DEFAULT 1 CHECK (feature_in_showcase IN (0, 1)),
    updated_at           TEXT    NOT NULL
);
