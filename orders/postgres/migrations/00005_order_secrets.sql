-- +goose Up
-- Each order carries two secrets that orders.NewOrder draws when the order is created and that
-- never change: the tracking secret, the random part of the token with which a consumer follows
-- the order, and the pickup code against which the store hands the goods to the rider. They are
-- read with the order, by its id: no index. With a constant default the columns are added
-- without rewriting the table; an order stored before has neither ('').
ALTER TABLE orders
    ADD COLUMN tracking_secret text NOT NULL DEFAULT '',
    ADD COLUMN pickup_code text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE orders DROP COLUMN tracking_secret, DROP COLUMN pickup_code;
