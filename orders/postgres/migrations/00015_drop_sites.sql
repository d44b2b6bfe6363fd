-- +goose Up
-- The drop sites (orders.DropSiteStore): smart lockers with their slots, and drop points at the
-- gates of closed residential compounds. gate_lat/gate_lng is where riders leave the parcels.
-- reserved counts the locker's slots held by orders: a reservation is
-- `UPDATE ... SET reserved = reserved + 1 WHERE reserved < slots`, whose row lock makes the
-- reservations of one locker wait for each other and re-read reserved, so that no more than its
-- slots are ever held.
CREATE TABLE drop_sites (
    id         text COLLATE "C" PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('LOCKER', 'DROP_POINT')),
    name       text NOT NULL,
    compound   text NOT NULL,
    gate_lat   double precision NOT NULL,
    gate_lng   double precision NOT NULL,
    slots      integer NOT NULL CHECK (slots >= 0),
    reserved   integer NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= slots),
    created_at timestamptz NOT NULL,
    closed_at  timestamptz
);

-- drop_site_slots holds the slot each order holds, at most one per order; a change of the order
-- that ends its claim (orders.FreesSlot) deletes its row and gives the slot back in the same
-- transaction.
CREATE TABLE drop_site_slots (
    order_id    text COLLATE "C" PRIMARY KEY,
    site_id     text COLLATE "C" NOT NULL REFERENCES drop_sites (id),
    reserved_at timestamptz NOT NULL DEFAULT now()
);

-- The drop site of a LOCKER or DROP_POINT order, given as it is placed and never changed; ''
-- for the others.
ALTER TABLE orders ADD COLUMN dropoff_site_id text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE orders DROP COLUMN dropoff_site_id;
DROP TABLE drop_site_slots;
DROP TABLE drop_sites;
