-- +goose Up
-- When the consumer confirmed having the goods of a delivered order (orders.Order.ConfirmReceipt);
-- NULL until then, like the other times of an order's life. It is read with the order, by its
-- id: no index. A nullable column without a default is added without rewriting the table. The
-- RECEIPT_CONFIRMED event needs nothing more: order_events.type lists no types.
ALTER TABLE orders ADD COLUMN receipt_confirmed_at timestamptz;

-- +goose Down
ALTER TABLE orders DROP COLUMN receipt_confirmed_at;
