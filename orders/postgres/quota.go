package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"zhengxiang/orders"
)

var _ orders.QuotaStore = (*Quota)(nil)

// Quota is the orders.QuotaStore in PostgreSQL (tables free_delivery_quotas and
// free_delivery_grants, migration 00009).
//
// A take is one transaction: the platform's row of the day is made if missing, then one
// statement counts the grant on it, UPDATE ... SET used = used + 1 WHERE used < quota, and
// records the answer under the order's key. The row's lock makes the takers of a platform's day
// wait for each other and each re-reads used once it holds the lock, so that no more than the
// quota are granted, under READ COMMITTED and whatever the number of takers. When the key is
// taken already (a resend, maybe on another day or at the same moment), the transaction is
// rolled back, the count with it, and the answer stored under the key is returned.
type Quota struct {
	pool *pgxpool.Pool
	def  int
}

// NewQuota returns the QuotaStore on pool, whose platforms have defaultPerDay free deliveries a
// day unless SetFreeDeliveryQuota gives them another number. The default is not stored: a
// platform's day without a quota of its own has the default of the process that asks. A
// defaultPerDay out of 0 to orders.MaxFreeDeliveryQuota is KindInvalid.
func NewQuota(pool *pgxpool.Pool, defaultPerDay int) (*Quota, error) {
	if defaultPerDay < 0 || defaultPerDay > orders.MaxFreeDeliveryQuota {
		return nil, orders.Invalid("default_quota", "%d is not between 0 and %d", defaultPerDay, orders.MaxFreeDeliveryQuota)
	}
	return &Quota{pool: pool, def: defaultPerDay}, nil
}

// Quota returns the QuotaStore on db; see NewQuota.
func (db *DB) Quota(defaultPerDay int) (*Quota, error) { return NewQuota(db.pool, defaultPerDay) }

const (
	upsertQuota = `INSERT INTO free_delivery_quotas (platform, day, quota) VALUES ($1, $2::date, $3)
		ON CONFLICT (platform, day) DO UPDATE SET quota = excluded.quota`
	selectLeft = `SELECT greatest(coalesce(quota, $3) - used, 0) FROM free_delivery_quotas
		WHERE platform = $1 AND day = $2::date`
	ensureQuotaDay = `INSERT INTO free_delivery_quotas (platform, day) VALUES ($1, $2::date)
		ON CONFLICT (platform, day) DO NOTHING`
	// takeFreeDelivery counts a grant on the day's row when one is left and records the answer
	// under the key: one row, the answer, or none when the key is taken.
	takeFreeDelivery = `WITH took AS (
		UPDATE free_delivery_quotas SET used = used + 1
		WHERE platform = $1 AND day = $2::date AND used < coalesce(quota, $4)
		RETURNING used
	)
	INSERT INTO free_delivery_grants (platform, order_key, day, granted)
	SELECT $1, $3, $2::date, EXISTS (SELECT FROM took)
	ON CONFLICT (platform, order_key) DO NOTHING
	RETURNING granted`
	selectGrant = `SELECT granted FROM free_delivery_grants WHERE platform = $1 AND order_key = $2`
	selectUsed  = `SELECT platform, day, used, coalesce(quota, $3) FROM free_delivery_quotas
		WHERE day BETWEEN $1::date AND $2::date ORDER BY day, platform`
)

// errKeyTaken rolls back a take whose key was taken before.
var errKeyTaken = errors.New("order key taken")

// SetFreeDeliveryQuota sets the platform's quota of the day.
func (q *Quota) SetFreeDeliveryQuota(ctx context.Context, platform string, day orders.Day, n int) error {
	if err := orders.CheckQuota(platform, day, n); err != nil {
		return err
	}
	_, err := q.pool.Exec(ctx, upsertQuota, platform, day.String(), n)
	return translate(err, "set the free-delivery quota of %s on %s", platform, day)
}

// FreeDeliveryLeft returns the platform's free deliveries left on the day.
func (q *Quota) FreeDeliveryLeft(ctx context.Context, platform string, day orders.Day) (int, error) {
	if err := orders.CheckQuotaDay(platform, day); err != nil {
		return 0, err
	}
	var left int
	err := q.pool.QueryRow(ctx, selectLeft, platform, day.String(), q.def).Scan(&left)
	if errors.Is(err, pgx.ErrNoRows) {
		return q.def, nil
	}
	if err != nil {
		return 0, translate(err, "free deliveries left to %s on %s", platform, day)
	}
	return left, nil
}

// TakeFreeDelivery grants the order a free delivery when one is left, once per key.
func (q *Quota) TakeFreeDelivery(ctx context.Context, platform string, day orders.Day, orderKey string) (bool, error) {
	if err := orders.CheckTake(platform, day, orderKey); err != nil {
		return false, err
	}
	var granted bool
	err := pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(ensureQuotaDay, platform, day.String())
		answered := false
		b.Queue(takeFreeDelivery, platform, day.String(), orderKey, q.def).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				answered = true
				if err := rows.Scan(&granted); err != nil {
					return err
				}
			}
			return rows.Err()
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if !answered {
			return errKeyTaken
		}
		return nil
	})
	if errors.Is(err, errKeyTaken) {
		// The key's answer is committed: ON CONFLICT waited for its writer.
		err = q.pool.QueryRow(ctx, selectGrant, platform, orderKey).Scan(&granted)
	}
	if err != nil {
		return false, translate(err, "take a free delivery of %s on %s for %s", platform, day, orderKey)
	}
	return granted, nil
}

// FreeDeliveriesUsed returns the use of the quotas on the days from from to to.
func (q *Quota) FreeDeliveriesUsed(ctx context.Context, from, to orders.Day) ([]orders.QuotaUse, error) {
	if err := orders.CheckDays(from, to); err != nil {
		return nil, err
	}
	rows, _ := q.pool.Query(ctx, selectUsed, from.String(), to.String(), q.def)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (orders.QuotaUse, error) {
		var u orders.QuotaUse
		var day time.Time
		err := row.Scan(&u.Platform, &day, &u.Used, &u.Quota)
		u.Day = orders.Day{Year: day.Year(), Month: day.Month(), Day: day.Day()}
		return u, err
	})
	return out, translate(err, "free deliveries used from %s to %s", from, to)
}
