-- +goose Up
-- The riders' health cards (安心卡, orders.HealthStore): each shift day a rider records the
-- temperature taken and the colour of the health code; days are counted in China Standard Time.
--
-- rider_health_cards holds the card of each rider and day, the one dispatch looks at: a card
-- recorded again the same day replaces it, unless it was taken before the one kept (a late
-- retry). rider_health_records keeps every card recorded, replaced ones too, so that a fever
-- taken back an hour later stays on record for the bureau.
CREATE TABLE rider_health_cards (
    rider_id      text COLLATE "C" NOT NULL,
    day           date NOT NULL,
    temperature_c double precision NOT NULL CHECK (temperature_c BETWEEN 34 AND 42),
    health_code   text NOT NULL CHECK (health_code IN ('GREEN', 'YELLOW', 'RED')),
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (rider_id, day)
);

-- A dispatcher reads the cards of the day when it restarts.
CREATE INDEX rider_health_cards_day ON rider_health_cards (day, rider_id);

CREATE TABLE rider_health_records (
    id            bigserial PRIMARY KEY,
    rider_id      text COLLATE "C" NOT NULL,
    day           date NOT NULL,
    temperature_c double precision NOT NULL CHECK (temperature_c BETWEEN 34 AND 42),
    health_code   text NOT NULL CHECK (health_code IN ('GREEN', 'YELLOW', 'RED')),
    recorded_at   timestamptz NOT NULL
);

CREATE INDEX rider_health_records_rider ON rider_health_records (rider_id, day, recorded_at);

-- +goose Down
DROP TABLE rider_health_records;
DROP TABLE rider_health_cards;
