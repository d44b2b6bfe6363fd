package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

var (
	_ orders.HealthStore   = (*Repository)(nil)
	_ orders.DropoffFinder = (*Repository)(nil)
)

const (
	healthColumns = `rider_id, day, temperature_c, health_code, recorded_at`
	// putHealthCard records a card in the history and makes it the rider's card of the day,
	// unless the card kept was taken later: one statement, one transaction.
	putHealthCard = `WITH kept AS (
		INSERT INTO rider_health_records (` + healthColumns + `) VALUES ($1, $2::date, $3, $4, $5)
	)
	INSERT INTO rider_health_cards (` + healthColumns + `) VALUES ($1, $2::date, $3, $4, $5)
	ON CONFLICT (rider_id, day) DO UPDATE SET temperature_c = excluded.temperature_c,
		health_code = excluded.health_code, recorded_at = excluded.recorded_at
	WHERE rider_health_cards.recorded_at <= excluded.recorded_at`
	selectHealthCard       = `SELECT ` + healthColumns + ` FROM rider_health_cards WHERE rider_id = $1 AND day = $2::date`
	selectHealthCards      = `SELECT ` + healthColumns + ` FROM rider_health_cards WHERE day = $1::date ORDER BY rider_id`
	selectHealthCardsSince = `SELECT ` + healthColumns + ` FROM rider_health_cards WHERE day = $1::date AND recorded_at >= $2
		ORDER BY rider_id`
	selectHealthRecord = `SELECT ` + healthColumns + ` FROM rider_health_records WHERE rider_id = $1 AND day = $2::date
		ORDER BY recorded_at, id`
	// selectDroppedIn reads the orders of a box and a window; placed_at bounds the scan to the
	// window and the MaxOrderLife before it (orders_placed), the box and the end do the rest.
	selectDroppedIn = `SELECT ` + orderColumns + ` FROM orders
		WHERE placed_at BETWEEN $1 AND $2 AND dropoff_lat BETWEEN $3 AND $4 AND dropoff_lng BETWEEN $5 AND $6
			AND (ended_at IS NULL OR ended_at >= $7)
		ORDER BY placed_at, id`
)

// PutHealthCard records the rider's card of its day.
func (r *Repository) PutHealthCard(ctx context.Context, c orders.HealthCard) error {
	if err := c.Validate(); err != nil {
		return err
	}
	_, err := r.pool.Exec(ctx, putHealthCard, c.RiderID, c.Day.String(), c.TemperatureC, string(c.Code), ts(c.RecordedAt))
	return translate(err, "record the health card of rider %s on %s", c.RiderID, c.Day)
}

// HealthCard returns the rider's card of the day, or a KindNotFound error.
func (r *Repository) HealthCard(ctx context.Context, riderID string, day orders.Day) (orders.HealthCard, error) {
	rows, _ := r.pool.Query(ctx, selectHealthCard, riderID, day.String())
	c, err := pgx.CollectExactlyOneRow(rows, scanHealthCard)
	if errors.Is(err, pgx.ErrNoRows) {
		return orders.HealthCard{}, orders.NoHealthCard(riderID, day)
	}
	return c, translate(err, "health card of rider %s on %s", riderID, day)
}

// HealthCards returns every rider's card of the day, ordered by rider.
func (r *Repository) HealthCards(ctx context.Context, day orders.Day) ([]orders.HealthCard, error) {
	rows, _ := r.pool.Query(ctx, selectHealthCards, day.String())
	out, err := pgx.CollectRows(rows, scanHealthCard)
	return out, translate(err, "health cards of %s", day)
}

// HealthCardsSince returns the cards of the day recorded at or after since, ordered by rider.
func (r *Repository) HealthCardsSince(ctx context.Context, day orders.Day, since time.Time) ([]orders.HealthCard, error) {
	if since.IsZero() { // ts writes the zero time as NULL, which no time is after
		return r.HealthCards(ctx, day)
	}
	rows, _ := r.pool.Query(ctx, selectHealthCardsSince, day.String(), ts(since))
	out, err := pgx.CollectRows(rows, scanHealthCard)
	return out, translate(err, "health cards of %s recorded since %s", day, since.Format(time.RFC3339))
}

// HealthCardHistory returns the rider's cards of the day, oldest first.
func (r *Repository) HealthCardHistory(ctx context.Context, riderID string, day orders.Day) ([]orders.HealthCard, error) {
	rows, _ := r.pool.Query(ctx, selectHealthRecord, riderID, day.String())
	out, err := pgx.CollectRows(rows, scanHealthCard)
	return out, translate(err, "health card history of rider %s on %s", riderID, day)
}

// OrdersDroppedIn returns the orders delivered to the box whose life overlaps the window.
func (r *Repository) OrdersDroppedIn(ctx context.Context, sw, ne geo.Point, from, to time.Time) ([]orders.Order, error) {
	if err := orders.CheckDropoffQuery(sw, ne, from, to); err != nil {
		return nil, err
	}
	rows, _ := r.pool.Query(ctx, selectDroppedIn, ts(from.Add(-orders.MaxOrderLife)), ts(to),
		sw.Lat, ne.Lat, sw.Lng, ne.Lng, ts(from))
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (orders.Order, error) { return scanOrder(row) })
	return out, translate(err, "orders delivered to %v..%v", sw, ne)
}

func scanHealthCard(row pgx.CollectableRow) (orders.HealthCard, error) {
	var c orders.HealthCard
	var day time.Time
	var code string
	err := row.Scan(&c.RiderID, &day, &c.TemperatureC, &code, &c.RecordedAt)
	c.Day, c.Code = orders.Day{Year: day.Year(), Month: day.Month(), Day: day.Day()}, orders.HealthCode(code)
	return c, err
}
