-- The system of record of Zhengxiang: stores, riders, orders with their events, the riders'
-- assignments, the finished deliveries, and the outbox of events waiting for the stream.
--
-- Ids and keys are COLLATE "C" so that they sort byte by byte, as the Go code does. Times are
-- timestamptz (microseconds); an unset time is NULL. Optional text is '' rather than NULL.
-- Orders do not reference stores or riders: a platform's order may name a store before an
-- operator has entered it, and riders come and go.

-- +goose Up

CREATE TABLE stores (
    id           text COLLATE "C" PRIMARY KEY,
    name         text NOT NULL DEFAULT '',
    district     text NOT NULL DEFAULT '',
    section      text NOT NULL CHECK (section IN ('deals', 'flavours', 'made')),
    lat          double precision NOT NULL,
    lng          double precision NOT NULL,
    prep_minutes double precision NOT NULL CHECK (prep_minutes >= 0),
    suspended    boolean NOT NULL DEFAULT false
);

CREATE TABLE riders (
    id          text COLLATE "C" PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    capacity    integer NOT NULL CHECK (capacity >= 1),
    shift_start timestamptz,
    shift_end   timestamptz,
    lat         double precision NOT NULL DEFAULT 0,
    lng         double precision NOT NULL DEFAULT 0,
    last_ping   timestamptz,
    on_shift    boolean NOT NULL DEFAULT false
);

CREATE TABLE orders (
    id                 text COLLATE "C" PRIMARY KEY,
    platform           text COLLATE "C" NOT NULL,
    platform_order_id  text COLLATE "C" NOT NULL,
    store_id           text COLLATE "C" NOT NULL,
    section            text NOT NULL CHECK (section IN ('deals', 'flavours', 'made')),
    items              jsonb NOT NULL,
    subtotal_cents     bigint NOT NULL CHECK (subtotal_cents >= 0),
    delivery_fee_cents bigint NOT NULL CHECK (delivery_fee_cents >= 0),
    dropoff_lat        double precision NOT NULL,
    dropoff_lng        double precision NOT NULL,
    address            text NOT NULL DEFAULT '',
    district           text NOT NULL DEFAULT '',
    placed_at          timestamptz NOT NULL,
    ready_at           timestamptz NOT NULL,
    promise_at         timestamptz NOT NULL,
    status             text NOT NULL CHECK (status IN ('CREATED', 'TICKET_SENT', 'MERCHANT_ACCEPTED',
                           'READY_FOR_PICKUP', 'REJECTED', 'AUTO_CANCELLED', 'CANCELLED')),
    delivery           text NOT NULL CHECK (delivery IN ('UNASSIGNED', 'OFFERED', 'ASSIGNED',
                           'ARRIVED_AT_PICKUP', 'PICKED_UP', 'ARRIVED_AT_DROPOFF', 'DELIVERED',
                           'CANCELLED', 'FAILED', 'RETURNED')),
    rider_id           text COLLATE "C" NOT NULL DEFAULT '',
    offer_expires_at   timestamptz,
    handover           text NOT NULL DEFAULT '',
    accepted_at        timestamptz,
    ready_marked_at    timestamptz,
    assigned_at        timestamptz,
    picked_up_at       timestamptz,
    delivered_at       timestamptz,
    ended_at           timestamptz,
    reason             text NOT NULL DEFAULT '',
    actor              text NOT NULL DEFAULT '',
    -- active is orders.Order.Active() as the writer computed it, so that the rule lives in Go.
    active             boolean NOT NULL,
    seq                bigint NOT NULL CHECK (seq >= 1),
    UNIQUE (platform, platform_order_id)
);

-- ListOrders sorts by (placed_at, id); these serve its filters.
CREATE INDEX orders_placed ON orders (placed_at, id);
CREATE INDEX orders_active ON orders (placed_at, id) WHERE active;
CREATE INDEX orders_store ON orders (store_id, placed_at, id);
CREATE INDEX orders_rider ON orders (rider_id, placed_at, id) WHERE rider_id <> '';

CREATE TABLE order_events (
    order_id   text COLLATE "C" NOT NULL REFERENCES orders (id),
    seq        bigint NOT NULL CHECK (seq >= 1),
    type       text NOT NULL,
    at         timestamptz NOT NULL,
    status     text NOT NULL,
    delivery   text NOT NULL,
    rider_id   text COLLATE "C" NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    actor      text NOT NULL DEFAULT '',
    handover   text NOT NULL DEFAULT '',
    expires_at timestamptz,
    PRIMARY KEY (order_id, seq)
);

-- An assignment is a rider holding an order, from ASSIGNED until the order is released
-- (REASSIGNED, CANCELLED, MERCHANT_REJECTED, AUTO_CANCELLED) or the delivery ends (DELIVERED,
-- FAILED). The partial unique index makes a second active assignment of an order impossible.
CREATE TABLE assignments (
    id          bigserial PRIMARY KEY,
    order_id    text COLLATE "C" NOT NULL REFERENCES orders (id),
    rider_id    text COLLATE "C" NOT NULL,
    assigned_at timestamptz NOT NULL,
    released_at timestamptz,
    reason      text NOT NULL DEFAULT ''
);

CREATE UNIQUE INDEX assignments_one_active ON assignments (order_id) WHERE released_at IS NULL;
CREATE INDEX assignments_rider_active ON assignments (rider_id) WHERE released_at IS NULL;

-- A delivery is the outcome of an order that left the store: DELIVERED or FAILED, once.
CREATE TABLE deliveries (
    order_id     text COLLATE "C" PRIMARY KEY REFERENCES orders (id),
    rider_id     text COLLATE "C" NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('DELIVERED', 'FAILED')),
    picked_up_at timestamptz,
    delivered_at timestamptz,
    failed_at    timestamptz,
    handover     text NOT NULL DEFAULT '',
    reason       text NOT NULL DEFAULT ''
);

CREATE INDEX deliveries_rider ON deliveries (rider_id);

-- The outbox holds every committed event until the relay has published it. Within one order,
-- ids grow with seq: writers of an order hold its row lock while they insert.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    order_id     text COLLATE "C" NOT NULL,
    seq          bigint NOT NULL,
    event        jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    UNIQUE (order_id, seq)
);

CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_unpublished_order ON outbox (order_id, seq) WHERE published_at IS NULL;

-- +goose Down

DROP TABLE outbox;
DROP TABLE deliveries;
DROP TABLE assignments;
DROP TABLE order_events;
DROP TABLE orders;
DROP TABLE riders;
DROP TABLE stores;
