-- Events: in-person meetups and online focus-group sessions, with RSVPs, a waitlist, check-in codes
-- and attendance. Times are UTC text, as everywhere else.

CREATE TABLE events (
    id                       INTEGER PRIMARY KEY,
    guild_id                 INTEGER NOT NULL,
    title                    TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    description              TEXT    NOT NULL DEFAULT '',
    starts_at                TEXT    NOT NULL,
    ends_at                  TEXT    NOT NULL,
    location                 TEXT,                      -- in person: where
    channel_id               INTEGER,                   -- online: the voice or stage channel
    capacity                 INTEGER NOT NULL CHECK (capacity >= 1),
    tier                     TEXT,                      -- audience tier (tiers.key); NULL = every ambassador
    points                   INTEGER NOT NULL CHECK (points >= 0),
    status                   TEXT    NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    discord_event_id         INTEGER,                   -- the guild scheduled event mirroring this one
    announcement_channel_id  INTEGER,
    announcement_message_id  INTEGER,
    created_by               INTEGER NOT NULL,
    created_at               TEXT    NOT NULL,
    updated_at               TEXT    NOT NULL,
    cancelled_at             TEXT,
    CHECK (starts_at < ends_at),
    CHECK ((location IS NULL) <> (channel_id IS NULL))   -- in person xor online
);
CREATE INDEX events_by_time ON events (guild_id, status, starts_at);
CREATE INDEX events_by_channel ON events (guild_id, channel_id) WHERE channel_id IS NOT NULL;

-- One answer per member and event. The waitlist is ordered by waitlist_seq (lowest moves up first).
CREATE TABLE event_rsvps (
    guild_id      INTEGER NOT NULL,
    event_id      INTEGER NOT NULL REFERENCES events (id),
    user_id       INTEGER NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('going', 'waitlisted', 'declined')),
    waitlist_seq  INTEGER,                              -- set while waitlisted
    responded_at  TEXT    NOT NULL,
    PRIMARY KEY (event_id, user_id),
    CHECK ((status = 'waitlisted') = (waitlist_seq IS NOT NULL))
);
CREATE INDEX event_rsvps_by_status ON event_rsvps (event_id, status, waitlist_seq);
CREATE INDEX event_rsvps_by_member ON event_rsvps (guild_id, user_id);

-- The event's check-in code: short, one per event, accepted only inside the event's window. Kept in
-- clear text because moderators show it at the door (it grants attendance points, nothing more).
CREATE TABLE event_checkin_codes (
    guild_id    INTEGER NOT NULL,
    event_id    INTEGER PRIMARY KEY REFERENCES events (id),
    code        TEXT    NOT NULL CHECK (length(code) BETWEEN 4 AND 12),
    created_at  TEXT    NOT NULL,
    UNIQUE (guild_id, code)
);

-- Who came: one row per member and event, however they were counted.
CREATE TABLE event_attendance (
    guild_id     INTEGER NOT NULL,
    event_id     INTEGER NOT NULL REFERENCES events (id),
    user_id      INTEGER NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('checkin', 'voice')),
    attended_at  TEXT    NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_attendance_by_time ON event_attendance (guild_id, attended_at);

-- Reminder DMs already sent, so a retried reminder timer never DMs a member twice.
CREATE TABLE event_reminders_sent (
    guild_id      INTEGER NOT NULL,
    event_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    reminder_key  TEXT    NOT NULL,
    sent_at       TEXT    NOT NULL,
    PRIMARY KEY (event_id, user_id, reminder_key)
);
