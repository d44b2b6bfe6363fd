-- +goose Up
-- The festival's campaigns (orders.CampaignStore), such as the 郑州消费节 of 15-22 March 2020: from
-- first_day to last_day (days of China Standard Time, both included) the orders of its sections
-- belong to it. Campaigns sharing a section never share a day: a creation checks it under the
-- table's lock (SHARE ROW EXCLUSIVE, which creations take one at a time), so an order belongs to
-- at most one campaign.
CREATE TABLE campaigns (
    id        text COLLATE "C" PRIMARY KEY,
    name      text NOT NULL CHECK (name <> ''),
    first_day date NOT NULL,
    last_day  date NOT NULL,
    sections  text[] NOT NULL CHECK (cardinality(sections) > 0),
    CHECK (first_day <= last_day)
);

-- The campaign an order belongs to, given as it is placed and never changed; '' for none.
ALTER TABLE orders ADD COLUMN campaign_id text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE orders DROP COLUMN campaign_id;
DROP TABLE campaigns;
