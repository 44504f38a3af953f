-- PostgreSQL twin of migrations/0009_sales_monthly.sql (the type mapping and what differs: see 0001_foundation.sql here).
-- The month's sales board at scale: sales per member and UTC calendar month, kept by triggers in the same
-- transaction as the ledger rows, like points_monthly (0008). A month in the server's timezone is the
-- nearest UTC month's buckets, with the few members who sold between the two boundaries summed from the
-- ledger itself. The ledger (sales) stays the truth: delete/update triggers recompute from it.
CREATE TABLE sales_monthly (
    guild_id BIGINT  NOT NULL,
    month    TEXT    NOT NULL,                      -- substr(occurred_at, 1, 7): the UTC month
    user_id  BIGINT  NOT NULL,
    value    BIGINT  NOT NULL,                      -- net, refunds counted negative whatever their stored sign
    orders   BIGINT  NOT NULL,                      -- rows that are not refunds
    currency TEXT    NOT NULL,                      -- MAX(currency), as the all-time board shows it
    last_at  TEXT    NOT NULL,                      -- latest occurred_at (leaderboard ties)
    entries  BIGINT  NOT NULL,                      -- ledger rows summed (0 rows: the row is deleted)
    PRIMARY KEY (guild_id, month, user_id)
);
CREATE INDEX sales_monthly_rank ON sales_monthly (guild_id, month, value DESC, orders DESC, last_at, user_id);

INSERT INTO sales_monthly (guild_id, month, user_id, value, orders, currency, last_at, entries)
    SELECT guild_id, substr(occurred_at, 1, 7), user_id,
           SUM(CASE WHEN kind = 'refund' THEN -abs(net_minor) ELSE net_minor END), SUM(CASE WHEN kind <> 'refund' THEN 1 ELSE 0 END),
           MAX(currency), MAX(occurred_at), COUNT(*)
    FROM sales GROUP BY guild_id, substr(occurred_at, 1, 7), user_id;

-- SQLite's triggers as plpgsql trigger functions (one per trigger, named after it), same semantics.
CREATE FUNCTION sales_monthly_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sales_monthly (guild_id, month, user_id, value, orders, currency, last_at, entries)
        VALUES (NEW.guild_id, substr(NEW.occurred_at, 1, 7), NEW.user_id,
                CASE WHEN NEW.kind = 'refund' THEN -abs(NEW.net_minor) ELSE NEW.net_minor END,
                CASE WHEN NEW.kind <> 'refund' THEN 1 ELSE 0 END, NEW.currency, NEW.occurred_at, 1)
        ON CONFLICT (guild_id, month, user_id) DO UPDATE
            SET value = sales_monthly.value + excluded.value, orders = sales_monthly.orders + excluded.orders,
                currency = GREATEST(sales_monthly.currency, excluded.currency),
                last_at = GREATEST(sales_monthly.last_at, excluded.last_at),
                entries = sales_monthly.entries + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sales_monthly_on_insert AFTER INSERT ON sales
    FOR EACH ROW EXECUTE FUNCTION sales_monthly_on_insert();

CREATE FUNCTION sales_monthly_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sales_monthly
        WHERE guild_id = OLD.guild_id AND month = substr(OLD.occurred_at, 1, 7) AND user_id = OLD.user_id;
    INSERT INTO sales_monthly (guild_id, month, user_id, value, orders, currency, last_at, entries)
        SELECT guild_id, substr(occurred_at, 1, 7), user_id,
               SUM(CASE WHEN kind = 'refund' THEN -abs(net_minor) ELSE net_minor END), SUM(CASE WHEN kind <> 'refund' THEN 1 ELSE 0 END),
               MAX(currency), MAX(occurred_at), COUNT(*)
        FROM sales
        WHERE guild_id = OLD.guild_id AND user_id = OLD.user_id
          AND substr(occurred_at, 1, 7) = substr(OLD.occurred_at, 1, 7)
        GROUP BY guild_id, substr(occurred_at, 1, 7), user_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sales_monthly_on_delete AFTER DELETE ON sales
    FOR EACH ROW EXECUTE FUNCTION sales_monthly_on_delete();

-- Sales rows are corrected in place rarely (a currency fix, a moved date): both months touched are rebuilt.
CREATE FUNCTION sales_monthly_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sales_monthly
        WHERE (guild_id = OLD.guild_id AND month = substr(OLD.occurred_at, 1, 7) AND user_id = OLD.user_id)
           OR (guild_id = NEW.guild_id AND month = substr(NEW.occurred_at, 1, 7) AND user_id = NEW.user_id);
    INSERT INTO sales_monthly (guild_id, month, user_id, value, orders, currency, last_at, entries)
        SELECT guild_id, substr(occurred_at, 1, 7), user_id,
               SUM(CASE WHEN kind = 'refund' THEN -abs(net_minor) ELSE net_minor END), SUM(CASE WHEN kind <> 'refund' THEN 1 ELSE 0 END),
               MAX(currency), MAX(occurred_at), COUNT(*)
        FROM sales
        WHERE (guild_id = OLD.guild_id AND user_id = OLD.user_id
               AND substr(occurred_at, 1, 7) = substr(OLD.occurred_at, 1, 7))
           OR (guild_id = NEW.guild_id AND user_id = NEW.user_id
               AND substr(occurred_at, 1, 7) = substr(NEW.occurred_at, 1, 7))
        GROUP BY guild_id, substr(occurred_at, 1, 7), user_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sales_monthly_on_update
AFTER UPDATE OF guild_id, user_id, kind, net_minor, currency, occurred_at ON sales
    FOR EACH ROW EXECUTE FUNCTION sales_monthly_on_update();
