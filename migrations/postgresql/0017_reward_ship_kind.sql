-- PostgreSQL twin of migrations/0017_reward_ship_kind.sql (the type mapping and what differs: see 0001_foundation.sql here).
-- Issue 17: a reward of the kind "a product to ship". Redeeming it puts the product in the gifting fulfilment
-- queue (gifts, reference 'redemption:<id>') with the member's shipping details; the redemption stays pending until
-- it ships, and is refunded (points and stock back, once) when the gift is cancelled.
--
-- SQLite rebuilds rewards, redemptions, reward_images and point_spends because it cannot change a CHECK in place;
-- PostgreSQL can, so the same end state is reached with ALTER TABLE: the kind CHECKs are replaced, rewards gains
-- its two columns and the 'ship' CHECK, and gifts its cancel_reason. reward_images and point_spends come out of
-- SQLite's rebuild as they went in (the same columns, keys, references and indexes), so nothing changes here, and
-- the indexes SQLite re-creates were never dropped on this side. The constraints keep the names PostgreSQL gave
-- them in 0014 (and the new table CHECK the name a fresh CREATE TABLE would give it), so the catalogue reads as if
-- the tables had been created this way.

ALTER TABLE rewards DROP CONSTRAINT rewards_kind_check;
ALTER TABLE rewards ADD CONSTRAINT rewards_kind_check CHECK (kind IN ('code', 'role', 'perk', 'ship'));
-- kind 'ship': the product as members and moderators read it, and the store's variant when it was picked from
-- a connected Shopify store (then a zero-value draft order ships it; otherwise moderators' /fulfilment queue)
ALTER TABLE rewards ADD COLUMN ship_product TEXT
    CHECK (ship_product IS NULL OR length(ship_product) BETWEEN 1 AND 200);
ALTER TABLE rewards ADD COLUMN ship_variant_ref TEXT;
ALTER TABLE rewards ADD CONSTRAINT rewards_check2 CHECK (kind <> 'ship' OR ship_product IS NOT NULL);

ALTER TABLE redemptions DROP CONSTRAINT redemptions_kind_check;
ALTER TABLE redemptions ADD CONSTRAINT redemptions_kind_check CHECK (kind IN ('code', 'role', 'perk', 'ship'));

-- A moderator's reason for cancelling one gift (told to the member; never personal data of theirs).
ALTER TABLE gifts ADD COLUMN cancel_reason TEXT;
