-- +goose Up
-- A dispatcher reads the cards of the day recorded since its last look every half minute
-- (HealthCardsSince): riders record them through any dispatcher serving the record.
CREATE INDEX rider_health_cards_recorded ON rider_health_cards (day, recorded_at);

-- +goose Down
DROP INDEX rider_health_cards_recorded;
