-- +goose Up
-- Suspensions (the festival plan's 立即下架) and merchants' missed acknowledgements
-- (orders.SuspensionStore, orders.AckStore).
--
-- suspensions holds the stops of sales in force: a whole store when sku is '' (the store's row in
-- stores is then suspended as well, in the same transaction), else one product of it. audit_id is
-- the audit entry of the suspension in force, to which orders cancelled later for it (after a
-- restart) are added.
CREATE TABLE suspensions (
    store_id text COLLATE "C" NOT NULL,
    sku      text COLLATE "C" NOT NULL DEFAULT '',
    actor    text NOT NULL,
    reason   text NOT NULL,
    at       timestamptz NOT NULL,
    audit_id bigint NOT NULL,
    PRIMARY KEY (store_id, sku)
);

-- suspension_audit is every suspension and restore: who, what, why, when, and the orders the
-- suspension cancelled. Rows are never deleted.
CREATE TABLE suspension_audit (
    id        bigserial PRIMARY KEY,
    action    text NOT NULL CHECK (action IN ('SUSPEND', 'RESTORE')),
    store_id  text COLLATE "C" NOT NULL,
    sku       text COLLATE "C" NOT NULL DEFAULT '',
    actor     text NOT NULL,
    reason    text NOT NULL,
    at        timestamptz NOT NULL,
    cancelled text[] NOT NULL DEFAULT '{}'
);

CREATE INDEX suspension_audit_store ON suspension_audit (store_id, id);

-- missed_acks holds the orders auto-cancelled because their store did not acknowledge the ticket
-- in time, once each; operators see the stores with many in a window.
CREATE TABLE missed_acks (
    order_id text COLLATE "C" PRIMARY KEY,
    store_id text COLLATE "C" NOT NULL,
    at       timestamptz NOT NULL
);

CREATE INDEX missed_acks_at ON missed_acks (at, store_id);

-- +goose Down
DROP TABLE missed_acks;
DROP TABLE suspension_audit;
DROP TABLE suspensions;
