-- +goose Up
-- The relay deletes the rows it has published instead of marking them (the events stay in
-- order_events): the outbox holds only the events still to publish, a row costs one insert and
-- one delete, and no index follows a published_at that changes. Vacuum runs on the outbox as
-- soon as 10,000 rows are dead, so that the claim, which reads it in id order, does not step
-- over the dead rows of a peak.
DELETE FROM outbox WHERE published_at IS NOT NULL;
DROP INDEX outbox_published;
DROP INDEX outbox_unpublished;
DROP INDEX outbox_unpublished_order;
ALTER TABLE outbox DROP COLUMN published_at;
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10000,
    autovacuum_vacuum_cost_delay = 0);

-- +goose Down
ALTER TABLE outbox RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
    autovacuum_vacuum_insert_scale_factor, autovacuum_vacuum_insert_threshold,
    autovacuum_vacuum_cost_delay);
ALTER TABLE outbox ADD COLUMN published_at timestamptz;
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_unpublished_order ON outbox (order_id, seq) WHERE published_at IS NULL;
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
