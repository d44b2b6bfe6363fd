-- +goose Up
-- The free-delivery quota of the 郑享百味 (Flavours) section (orders.QuotaStore): each platform has
-- a number of free deliveries a day, days counted in China Standard Time.
--
-- free_delivery_quotas holds a row per platform and day on which a free delivery was asked for or
-- a quota was set: quota is the platform's own quota of the day, NULL for the default that the
-- serving process is configured with, and used the free deliveries granted. A take is
-- `UPDATE ... SET used = used + 1 WHERE used < coalesce(quota, default)`: the row's lock makes the
-- takers of one platform and day wait for each other, and each re-reads used once it has the lock,
-- so no more than the quota are ever granted. A quota may be lowered below used.
CREATE TABLE free_delivery_quotas (
    platform text COLLATE "C" NOT NULL,
    day      date NOT NULL,
    quota    integer CHECK (quota >= 0),
    used     integer NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (platform, day)
);

-- free_delivery_grants holds the answer every order got, free or not, by its key: the platform and
-- the platform's own id of the order (orders.platform, orders.platform_order_id), so that a resend
-- gets the same answer and takes nothing, and so that the bureau can count the free deliveries and
-- find their orders. day is the day whose quota the order was counted against.
CREATE TABLE free_delivery_grants (
    platform  text COLLATE "C" NOT NULL,
    order_key text COLLATE "C" NOT NULL,
    day       date NOT NULL,
    granted   boolean NOT NULL,
    taken_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, order_key)
);

CREATE INDEX free_delivery_grants_day ON free_delivery_grants (day, platform) WHERE granted;

-- +goose Down
DROP TABLE free_delivery_grants;
DROP TABLE free_delivery_quotas;
