-- +goose Up
-- An order's row is rewritten at every step of its life. With room left on its page, a step
-- that touches no indexed column (a store's acceptance, readiness, a rider at the store, the
-- pickup) is a heap-only update: none of the six indexes of orders gets a new entry.
ALTER TABLE orders SET (fillfactor = 75);

-- +goose Down
ALTER TABLE orders RESET (fillfactor);
