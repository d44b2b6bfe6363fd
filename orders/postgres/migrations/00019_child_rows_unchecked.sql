-- +goose Up
-- An order's events, assignments and deliveries are written only by this package, in the
-- statement or the transaction that writes the order's row or holds its lock, so they cannot
-- name an order that does not exist. Checking that again in the database cost about 11 µs a row
-- (an index look-up and a row lock per row), half the cost of writing an event: at a city's
-- peak, several thousand rows a second.
ALTER TABLE order_events DROP CONSTRAINT order_events_order_id_fkey;
ALTER TABLE assignments DROP CONSTRAINT assignments_order_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_order_id_fkey;

-- +goose Down
ALTER TABLE order_events ADD CONSTRAINT order_events_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE assignments ADD CONSTRAINT assignments_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id);
