-- +goose Up
-- The public API's keys (package api/auth). A key is "zx_" + key_id + "_" + secret; only the id
-- and the SHA-256 hash of the whole key are kept, so a key cannot be recovered from this table.
-- The principal's scope follows its role: a platform names its platform, a merchant one or more
-- stores, a rider its rider, an operator a platform or none (the city's), the bureau nothing.
-- rate_per_s and burst are the key's own rate limit, 0 for the server's default. A revoked key
-- keeps its row, with the time of revocation.
CREATE TABLE api_keys (
    key_id     text COLLATE "C" PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    hash       bytea NOT NULL CHECK (length(hash) = 32),
    role       text NOT NULL CHECK (role IN ('platform', 'merchant', 'rider', 'operator', 'bureau')),
    platform   text COLLATE "C" NOT NULL DEFAULT '',
    stores     text[] COLLATE "C" NOT NULL DEFAULT '{}',
    rider      text COLLATE "C" NOT NULL DEFAULT '',
    name       text NOT NULL DEFAULT '',
    rate_per_s double precision NOT NULL DEFAULT 0 CHECK (rate_per_s >= 0),
    burst      integer NOT NULL DEFAULT 0 CHECK (burst >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK (CASE role
        WHEN 'platform' THEN platform <> '' AND cardinality(stores) = 0 AND rider = ''
        WHEN 'merchant' THEN platform = '' AND cardinality(stores) > 0 AND rider = ''
        WHEN 'rider'    THEN platform = '' AND cardinality(stores) = 0 AND rider <> ''
        WHEN 'operator' THEN cardinality(stores) = 0 AND rider = ''
        WHEN 'bureau'   THEN platform = '' AND cardinality(stores) = 0 AND rider = ''
    END)
);

-- +goose Down
DROP TABLE api_keys;
