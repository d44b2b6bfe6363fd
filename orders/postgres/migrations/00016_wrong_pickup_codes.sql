-- +goose Up
-- The count of wrong pickup codes told at the store for the order's rider of the moment.
ALTER TABLE orders ADD COLUMN wrong_pickup_codes bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE orders DROP COLUMN wrong_pickup_codes;
