package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// The benchmark's own SQL: its schema, the checks of the record it reads
// after a run, and the COPY baseline. The service's SQL stays in
// orders/postgres.

// withSearchPath returns the database URL (postgres:// or key=value) with
// schema as its search_path.
func withSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("e2e: the PostgreSQL URL does not parse")
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil
}

func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("e2e: connect to PostgreSQL: %w", err)
	}
	return conn, nil
}

// createSchema creates the run's schema and returns the URL that uses it.
func createSchema(ctx context.Context, dsn, schema string) (string, error) {
	u, err := withSearchPath(dsn, schema)
	if err != nil {
		return "", err
	}
	conn, err := connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", fmt.Errorf("e2e: create schema %s: %w", schema, err)
	}
	return u, nil
}

func dropSchema(ctx context.Context, dsn, schema string) error {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}

// riderPos is a rider of the fleet where it went on shift.
type riderPos struct {
	id string
	p  geo.Point
}

// loadRiders reads the riders serve put on shift.
func loadRiders(ctx context.Context, dsn string) ([]riderPos, error) {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, "SELECT id, lat, lng FROM riders WHERE on_shift ORDER BY id")
	var out []riderPos
	var rp riderPos
	_, err = pgx.ForEachRow(rows, []any{&rp.id, &rp.p.Lat, &rp.p.Lng}, func() error {
		out = append(out, rp)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("e2e: riders: %w", err)
	}
	return out, nil
}

// countOrders returns the rows of the orders table per platform order id of
// the run.
func countOrders(ctx context.Context, dsn, run string) (map[string]int, error) {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, "SELECT platform_order_id, count(*) FROM orders WHERE platform_order_id LIKE $1 GROUP BY 1", run+"-%")
	out := map[string]int{}
	var key string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&key, &n}, func() error {
		out[key] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("e2e: count orders: %w", err)
	}
	return out, nil
}

// outbox is what the outbox relay has yet to publish.
type outbox struct {
	events    int // rows
	creations int // rows of ORDER_CREATED events, seq 1
}

// outboxPending counts the outbox rows not published yet.
func outboxPending(ctx context.Context, dsn string) (outbox, error) {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return outbox{}, err
	}
	defer conn.Close(ctx)
	var o outbox
	err = conn.QueryRow(ctx, "SELECT count(*), count(*) FILTER (WHERE seq = 1) FROM outbox").Scan(&o.events, &o.creations)
	if err != nil {
		return outbox{}, fmt.Errorf("e2e: count the outbox: %w", err)
	}
	return o, nil
}

// copyColumns are the columns of the orders table a new order fills.
var copyColumns = []string{"id", "platform", "platform_order_id", "store_id", "section", "items",
	"subtotal_cents", "delivery_fee_cents", "dropoff_lat", "dropoff_lng", "address", "district",
	"placed_at", "ready_at", "promise_at", "status", "delivery", "active", "seq"}

// copyOrders times a plain COPY of n rows like new orders into a scratch
// table with the orders table's columns, constraints and indexes (the
// schema must be migrated), in batches of 1000 rows from one connection,
// and returns the rows per second.
func copyOrders(ctx context.Context, dsn string, os []orders.Order, sections map[string]orders.Section, n int) (float64, error) {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE bench_orders (LIKE orders INCLUDING ALL)"); err != nil {
		return 0, fmt.Errorf("e2e: scratch table: %w", err)
	}
	defer conn.Exec(context.Background(), "DROP TABLE bench_orders")
	items := make([][]byte, len(os))
	for i, o := range os {
		if items[i], err = json.Marshal(o.Items); err != nil {
			return 0, err
		}
	}
	now := time.Now()
	start := time.Now()
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		_, err := conn.CopyFrom(ctx, pgx.Identifier{"bench_orders"}, copyColumns, pgx.CopyFromSlice(hi-lo, func(j int) ([]any, error) {
			i := lo + j
			o := os[i%len(os)]
			return []any{fmt.Sprintf("B%015d", i), o.Platform, fmt.Sprintf("%s-%d", o.PlatformOrderID, i), o.StoreID,
				string(sections[o.StoreID]), items[i%len(os)], o.SubtotalCents, o.DeliveryFeeCents, o.Dropoff.Lat, o.Dropoff.Lng,
				o.Address, "Jinshui", now, now, now.Add(time.Hour), "CREATED", "UNASSIGNED", true, int64(1)}, nil
		}))
		if err != nil {
			return 0, fmt.Errorf("e2e: copy rows %d to %d: %w", lo, hi-1, err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
