-- PostgreSQL twin of migrations/0010_submissions_by_review.sql (the type mapping and what differs: see 0001_foundation.sql here).
-- The digest's content section and its 8-week "content approved" chart select approved submissions by
-- review time; with only (guild_id, status, created_at) SQLite read every approved row of the program's
-- history (4.8 s at 192,000 submissions). This index answers both with a range read.
CREATE INDEX submissions_by_review ON submissions (guild_id, status, reviewed_at);
