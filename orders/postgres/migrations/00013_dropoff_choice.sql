-- +goose Up
-- The drop-off the consumer chose when ordering ('' when none: any is taken) and the consumer's
-- instructions to the rider; both are what the order was placed with and never change.
ALTER TABLE orders
    ADD COLUMN dropoff_method text NOT NULL DEFAULT '',
    ADD COLUMN instructions text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE orders DROP COLUMN dropoff_method, DROP COLUMN instructions;
