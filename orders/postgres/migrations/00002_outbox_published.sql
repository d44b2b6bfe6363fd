-- +goose Up
-- The relay's prune deletes the published rows older than its retention every minute; without an
-- index on published_at it reads the whole outbox each time, which at a peak's volume of events is
-- tens of millions of rows.
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;

-- +goose Down
DROP INDEX outbox_published;
