-- PostgreSQL twin of migrations/0008_engagement_speed.sql (the type mapping and what differs: see 0001_foundation.sql here).
-- Engagement at scale: read models kept by triggers in the same transaction as the ledger rows they sum,
-- so /leaderboard, /profile and the digest read thousands of rows instead of hundreds of thousands.
-- The ledgers (points_ledger, sales) stay the truth: every table below is rebuildable from them, and the
-- delete/update triggers recompute the affected row from the ledger rather than trusting arithmetic.

-- Points per member and UTC calendar month ('YYYY-MM'). A month in the server's timezone is the buckets
-- from its nearest UTC month boundary, corrected by the few raw ledger hours between the two.
CREATE TABLE points_monthly (
    guild_id BIGINT  NOT NULL,
    month    TEXT    NOT NULL,                      -- substr(created_at, 1, 7): the UTC month
    user_id  BIGINT  NOT NULL,
    points   BIGINT  NOT NULL,
    entries  BIGINT  NOT NULL,                      -- ledger rows summed (0 rows: the row is deleted)
    last_at  TEXT    NOT NULL,                      -- latest created_at among them (leaderboard ties)
    PRIMARY KEY (guild_id, month, user_id)
);
CREATE INDEX points_monthly_rank ON points_monthly (guild_id, month, points DESC, last_at, user_id);

INSERT INTO points_monthly (guild_id, month, user_id, points, entries, last_at)
    SELECT guild_id, substr(created_at, 1, 7), user_id, SUM(points), COUNT(*), MAX(created_at)
    FROM points_ledger GROUP BY guild_id, substr(created_at, 1, 7), user_id;

-- SQLite's triggers as plpgsql trigger functions (one per trigger, named after it), same semantics.
CREATE FUNCTION points_monthly_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO points_monthly (guild_id, month, user_id, points, entries, last_at)
        VALUES (NEW.guild_id, substr(NEW.created_at, 1, 7), NEW.user_id, NEW.points, 1, NEW.created_at)
        ON CONFLICT (guild_id, month, user_id) DO UPDATE
            SET points = points_monthly.points + excluded.points, entries = points_monthly.entries + 1,
                last_at = GREATEST(points_monthly.last_at, excluded.last_at);
    RETURN NULL;
END;
$$;
CREATE TRIGGER points_monthly_on_insert AFTER INSERT ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION points_monthly_on_insert();

CREATE FUNCTION points_monthly_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM points_monthly
        WHERE guild_id = OLD.guild_id AND month = substr(OLD.created_at, 1, 7) AND user_id = OLD.user_id;
    INSERT INTO points_monthly (guild_id, month, user_id, points, entries, last_at)
        SELECT guild_id, substr(created_at, 1, 7), user_id, SUM(points), COUNT(*), MAX(created_at)
        FROM points_ledger
        WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id AND substr(created_at, 1, 7) = substr(OLD.created_at, 1, 7)
        GROUP BY guild_id, substr(created_at, 1, 7), user_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER points_monthly_on_delete AFTER DELETE ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION points_monthly_on_delete();

-- The ledger is append-only; should a row ever be corrected in place, both months it touches are rebuilt.
CREATE FUNCTION points_monthly_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM points_monthly
        WHERE (guild_id = OLD.guild_id AND month = substr(OLD.created_at, 1, 7) AND user_id = OLD.user_id)
           OR (guild_id = NEW.guild_id AND month = substr(NEW.created_at, 1, 7) AND user_id = NEW.user_id);
    INSERT INTO points_monthly (guild_id, month, user_id, points, entries, last_at)
        SELECT guild_id, substr(created_at, 1, 7), user_id, SUM(points), COUNT(*), MAX(created_at)
        FROM points_ledger
        WHERE (guild_id = OLD.guild_id AND user_id = OLD.user_id AND substr(created_at, 1, 7) = substr(OLD.created_at, 1, 7))
           OR (guild_id = NEW.guild_id AND user_id = NEW.user_id AND substr(created_at, 1, 7) = substr(NEW.created_at, 1, 7))
        GROUP BY guild_id, substr(created_at, 1, 7), user_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER points_monthly_on_update AFTER UPDATE OF guild_id, user_id, points, created_at ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION points_monthly_on_update();

-- Sales per member, all time, in the leaderboard's terms: value = net with refunds counted negative,
-- orders = rows that are not refunds, currency = MAX(currency), last_at = latest occurred_at.
CREATE TABLE sales_totals (
    guild_id BIGINT  NOT NULL,
    user_id  BIGINT  NOT NULL,
    value    BIGINT  NOT NULL,
    orders   BIGINT  NOT NULL,
    currency TEXT    NOT NULL,
    last_at  TEXT    NOT NULL,
    entries  BIGINT  NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX sales_totals_rank ON sales_totals (guild_id, value DESC, orders DESC, last_at, user_id);

INSERT INTO sales_totals (guild_id, user_id, value, orders, currency, last_at, entries)
    SELECT guild_id, user_id, SUM(CASE WHEN kind = 'refund' THEN -abs(net_minor) ELSE net_minor END),
           SUM(CASE WHEN kind <> 'refund' THEN 1 ELSE 0 END), MAX(currency), MAX(occurred_at), COUNT(*)
    FROM sales GROUP BY guild_id, user_id;

CREATE FUNCTION sales_totals_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_totals (guild_id, user_id, value, orders, currency, last_at, entries)
        VALUES (NEW.guild_id, NEW.user_id, CASE WHEN NEW.kind = 'refund' THEN -abs(NEW.net_minor) ELSE NEW.net_minor END,
                CASE WHEN NEW.kind <> 'refund' THEN 1 ELSE 0 END, NEW.currency, NEW.occurred_at, 1)
        ON CONFLICT (guild_id, user_id) DO UPDATE
            SET value = sales_totals.value + excluded.value, orders = sales_totals.orders + excluded.orders,
                currency = GREATEST(sales_totals.currency, excluded.currency),
                last_at = GREATEST(sales_totals.last_at, excluded.last_at),
                entries = sales_totals.entries + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sales_totals_on_insert AFTER INSERT ON sales
    FOR EACH ROW EXECUTE FUNCTION sales_totals_on_insert();

CREATE FUNCTION sales_totals_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sales_totals WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id;
    INSERT INTO sales_totals (guild_id, user_id, value, orders, currency, last_at, entries)
        SELECT guild_id, user_id, SUM(CASE WHEN kind = 'refund' THEN -abs(net_minor) ELSE net_minor END),
               SUM(CASE WHEN kind <> 'refund' THEN 1 ELSE 0 END), MAX(currency), MAX(occurred_at), COUNT(*)
        FROM sales WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id GROUP BY guild_id, user_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sales_totals_on_delete AFTER DELETE ON sales
    FOR EACH ROW EXECUTE FUNCTION sales_totals_on_delete();

CREATE FUNCTION sales_totals_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sales_totals
        WHERE (guild_id = OLD.guild_id AND user_id = OLD.user_id) OR (guild_id = NEW.guild_id AND user_id = NEW.user_id);
    INSERT INTO sales_totals (guild_id, user_id, value, orders, currency, last_at, entries)
        SELECT guild_id, user_id, SUM(CASE WHEN kind = 'refund' THEN -abs(net_minor) ELSE net_minor END),
               SUM(CASE WHEN kind <> 'refund' THEN 1 ELSE 0 END), MAX(currency), MAX(occurred_at), COUNT(*)
        FROM sales
        WHERE (guild_id = OLD.guild_id AND user_id = OLD.user_id) OR (guild_id = NEW.guild_id AND user_id = NEW.user_id)
        GROUP BY guild_id, user_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sales_totals_on_update AFTER UPDATE OF guild_id, user_id, kind, net_minor, currency, occurred_at ON sales
    FOR EACH ROW EXECUTE FUNCTION sales_totals_on_update();

-- Sales rows per currency: the digest charts revenue in the program's most used currency.
CREATE TABLE sales_currencies (
    guild_id BIGINT  NOT NULL,
    currency TEXT    NOT NULL,
    entries  BIGINT  NOT NULL,
    PRIMARY KEY (guild_id, currency)
);

INSERT INTO sales_currencies (guild_id, currency, entries)
    SELECT guild_id, currency, COUNT(*) FROM sales GROUP BY guild_id, currency;

CREATE FUNCTION sales_currencies_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_currencies (guild_id, currency, entries) VALUES (NEW.guild_id, NEW.currency, 1)
        ON CONFLICT (guild_id, currency) DO UPDATE SET entries = sales_currencies.entries + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sales_currencies_on_insert AFTER INSERT ON sales
    FOR EACH ROW EXECUTE FUNCTION sales_currencies_on_insert();

CREATE FUNCTION sales_currencies_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sales_currencies SET entries = entries - 1 WHERE guild_id = OLD.guild_id AND currency = OLD.currency;
    DELETE FROM sales_currencies WHERE guild_id = OLD.guild_id AND currency = OLD.currency AND entries <= 0;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sales_currencies_on_delete AFTER DELETE ON sales
    FOR EACH ROW EXECUTE FUNCTION sales_currencies_on_delete();

CREATE FUNCTION sales_currencies_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sales_currencies SET entries = entries - 1 WHERE guild_id = OLD.guild_id AND currency = OLD.currency;
    DELETE FROM sales_currencies WHERE guild_id = OLD.guild_id AND currency = OLD.currency AND entries <= 0;
    INSERT INTO sales_currencies (guild_id, currency, entries) VALUES (NEW.guild_id, NEW.currency, 1)
        ON CONFLICT (guild_id, currency) DO UPDATE SET entries = sales_currencies.entries + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sales_currencies_on_update AFTER UPDATE OF guild_id, currency ON sales
    FOR EACH ROW EXECUTE FUNCTION sales_currencies_on_update();

-- Time-ranged sales reads (week/month leaderboards, the digest's sales section and weekly chart, spike
-- flags) read this index alone instead of looking up each row in the table.
CREATE INDEX sales_by_time_covering ON sales (guild_id, occurred_at, user_id, kind, net_minor, currency, code_id);
-- Boards rank active members only: checking each ranked row's status from the index alone.
CREATE INDEX members_active ON members (guild_id, user_id, status);
-- Self-referrals are rare: the digest's flag check reads only them.
CREATE INDEX sales_self_referrals ON sales (guild_id, occurred_at) WHERE self_referral = 1;
