-- +goose Up
-- The proof of a contactless drop-off: the code of the locker slot or drop point the goods were
-- left in, and a reference to the photo of them.
ALTER TABLE orders ADD COLUMN dropoff_code text NOT NULL DEFAULT '',
    ADD COLUMN photo_ref text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE orders DROP COLUMN dropoff_code, DROP COLUMN photo_ref;
