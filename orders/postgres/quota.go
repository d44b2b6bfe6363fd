package postgres

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
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
	selectGrant  = `SELECT granted FROM free_delivery_grants WHERE platform = $1 AND order_key = $2`
	lockQuotaDay = `SELECT greatest(coalesce(quota, $3) - used, 0) FROM free_delivery_quotas
		WHERE platform = $1 AND day = $2::date FOR UPDATE`
	// insertGrants records the keys not taken before as refused, the first takers granted by
	// grantKeys; it returns the keys it recorded.
	insertGrants = `INSERT INTO free_delivery_grants (platform, order_key, day, granted)
		SELECT p, k, d::date, false FROM unnest($1::text[], $2::text[], $3::text[]) AS t(p, k, d)
		ON CONFLICT (platform, order_key) DO NOTHING
		RETURNING platform, order_key`
	grantKeys = `UPDATE free_delivery_grants SET granted = true
		WHERE (platform, order_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`
	countGrants  = `UPDATE free_delivery_quotas SET used = used + $3 WHERE platform = $1 AND day = $2::date`
	selectGrants = `SELECT platform, order_key, granted FROM free_delivery_grants
		WHERE (platform, order_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`
	selectUse  = `SELECT used, coalesce(quota, $3) FROM free_delivery_quotas WHERE platform = $1 AND day = $2::date`
	selectUsed = `SELECT platform, day, used, coalesce(quota, $3) FROM free_delivery_quotas
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

// TakeFreeDeliveries takes as TakeFreeDelivery for each of takes, in one transaction of four
// round trips: the rows of the platforms' days are locked (in order, as a single take locks its
// one), the keys not taken before are recorded as refused (in order of key, so that batches
// naming the same keys wait for each other rather than deadlock), then the first of them on each
// day are granted what is left of its quota, and the answers of the keys taken before are read.
func (q *Quota) TakeFreeDeliveries(ctx context.Context, takes []orders.QuotaTake) ([]bool, error) {
	if err := orders.CheckTakes(takes); err != nil {
		return nil, err
	}
	type day struct {
		platform string
		day      orders.Day
	}
	type key struct{ platform, key string }
	first := map[key]int{} // the take of each key that decides it
	left := map[day]int{}
	var keys []key
	for i, tk := range takes {
		k := key{tk.Platform, tk.OrderKey}
		if _, ok := first[k]; !ok {
			first[k] = i
			keys = append(keys, k)
			left[day{tk.Platform, tk.Day}] = 0
		}
	}
	days := slices.SortedFunc(maps.Keys(left), func(a, b day) int {
		return cmp.Or(cmp.Compare(a.platform, b.platform), a.day.Compare(b.day))
	})
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.platform, b.platform), cmp.Compare(a.key, b.key)) })
	answer := map[key]bool{}
	err := pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
		clear(answer)
		b := &pgx.Batch{}
		for _, d := range days {
			b.Queue(ensureQuotaDay, d.platform, d.day.String())
			b.Queue(lockQuotaDay, d.platform, d.day.String(), q.def).QueryRow(func(row pgx.Row) error {
				n := 0
				err := row.Scan(&n)
				left[d] = n
				return err
			})
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		ps, ks, ds := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
		for i, k := range keys {
			tk := takes[first[k]]
			ps[i], ks[i], ds[i] = k.platform, k.key, tk.Day.String()
		}
		rows, _ := tx.Query(ctx, insertGrants, ps, ks, ds)
		fresh := map[key]bool{}
		var k key
		if _, err := pgx.ForEachRow(rows, []any{&k.platform, &k.key}, func() error { fresh[k] = true; return nil }); err != nil {
			return err
		}
		// The fresh keys are granted in the order of takes, while their day has some left.
		granted := map[day]int{}
		var gp, gk, seenP, seenK []string
		for i, tk := range takes {
			k := key{tk.Platform, tk.OrderKey}
			switch {
			case first[k] != i:
			case !fresh[k]:
				seenP, seenK = append(seenP, k.platform), append(seenK, k.key)
			default:
				d := day{tk.Platform, tk.Day}
				answer[k] = granted[d] < left[d]
				if answer[k] {
					granted[d]++
					gp, gk = append(gp, k.platform), append(gk, k.key)
				}
			}
		}
		b = &pgx.Batch{}
		for _, d := range days {
			if granted[d] > 0 {
				b.Queue(countGrants, d.platform, d.day.String(), granted[d])
			}
		}
		if len(gp) > 0 {
			b.Queue(grantKeys, gp, gk)
		}
		if len(seenP) > 0 {
			b.Queue(selectGrants, seenP, seenK).Query(func(rows pgx.Rows) error {
				var k key
				var g bool
				_, err := pgx.ForEachRow(rows, []any{&k.platform, &k.key, &g}, func() error { answer[k] = g; return nil })
				return err
			})
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, translate(err, "take %d free deliveries", len(takes))
	}
	out := make([]bool, len(takes))
	for i, tk := range takes {
		out[i] = answer[key{tk.Platform, tk.OrderKey}]
	}
	return out, nil
}

// FreeDeliveryUse returns the platform's quota of the day and the free deliveries granted.
func (q *Quota) FreeDeliveryUse(ctx context.Context, platform string, day orders.Day) (orders.QuotaUse, error) {
	if err := orders.CheckQuotaDay(platform, day); err != nil {
		return orders.QuotaUse{}, err
	}
	u := orders.QuotaUse{Platform: platform, Day: day, Quota: q.def}
	err := q.pool.QueryRow(ctx, selectUse, platform, day.String(), q.def).Scan(&u.Used, &u.Quota)
	if errors.Is(err, pgx.ErrNoRows) {
		err = nil
	}
	return u, translate(err, "free deliveries of %s on %s", platform, day)
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
