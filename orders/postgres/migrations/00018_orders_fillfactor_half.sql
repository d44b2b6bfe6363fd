-- +goose Up
-- Half of each page of orders is left for the rewrites of its orders' rows (see 00004). A row is
-- about 500 bytes, and in the first minutes of its life an order is offered, taken by a rider
-- and accepted by its store: with a quarter of the page free, most of those steps found no room
-- on the page and wrote a new entry in every index.
ALTER TABLE orders SET (fillfactor = 50);

-- +goose Down
ALTER TABLE orders SET (fillfactor = 75);
