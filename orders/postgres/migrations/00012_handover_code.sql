-- +goose Up
-- The consumer's hand-over code, drawn by orders.NewOrder and never changed (like the pickup
-- code), and the count of wrong hand-over codes tried. An order stored before has no code ('').
ALTER TABLE orders
    ADD COLUMN handover_code text NOT NULL DEFAULT '',
    ADD COLUMN wrong_codes bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE orders DROP COLUMN handover_code, DROP COLUMN wrong_codes;
