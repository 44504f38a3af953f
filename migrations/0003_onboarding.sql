-- Onboarding: applications to join the program, their review decisions and the waitlist.
-- A member's program status lives in `members` (0002); an application keeps the answers and the decision.

CREATE TABLE applications (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    status            TEXT    NOT NULL
                      CHECK (status IN ('pending', 'waitlisted', 'approved', 'rejected', 'withdrawn')),
    social_links      TEXT    NOT NULL DEFAULT '',   -- one URL per line; erased by /ambassador forget
    niche             TEXT    NOT NULL DEFAULT '',
    why               TEXT    NOT NULL DEFAULT '',
    order_ref         TEXT,                          -- order number or email the applicant gave
    city              TEXT,
    review_channel_id INTEGER,                       -- where the review post with the buttons lives
    review_message_id INTEGER,
    decided_by        INTEGER,                       -- NULL with a decision: the bot (auto-approve/promote)
    decided_at        TEXT,
    reason            TEXT,                          -- why it was rejected (told to the applicant)
    waitlisted_at     TEXT,                          -- waitlist order: earliest first
    created_at        TEXT    NOT NULL
);
-- One open application per person: a second /apply while one waits is refused.
CREATE UNIQUE INDEX applications_one_open ON applications (guild_id, user_id) WHERE status IN ('pending', 'waitlisted');
CREATE INDEX applications_by_status ON applications (guild_id, status, created_at);
CREATE INDEX applications_by_user ON applications (guild_id, user_id, created_at);

ALTER TABLE guild_settings ADD COLUMN reapply_cooldown_days INTEGER NOT NULL DEFAULT 30
    CHECK (reapply_cooldown_days BETWEEN 0 AND 365);
ALTER TABLE guild_settings ADD COLUMN auto_approve INTEGER NOT NULL DEFAULT 0 CHECK (auto_approve IN (0, 1));
ALTER TABLE guild_settings ADD COLUMN auto_promote INTEGER NOT NULL DEFAULT 0 CHECK (auto_promote IN (0, 1));
