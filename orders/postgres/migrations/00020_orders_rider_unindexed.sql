-- +goose Up
-- An order's rider changes with every offer, and a change of an indexed column writes a new
-- entry in each of the six indexes of orders instead of a heap-only update (00004). Riders see
-- their offers and trips from the dispatcher, not from this table; the rider filter of
-- ListOrders, for tools and tests, reads the table through another index or whole.
DROP INDEX orders_rider;

-- +goose Down
CREATE INDEX orders_rider ON orders (rider_id, placed_at, id) WHERE rider_id <> '';
