package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"zhengxiang/orders"
	"zhengxiang/orders/postgres"
)

// MustURL returns the test database's URL from ZX_PG_URL. Without it the test skips, unless
// ZX_REQUIRE_SERVICES=1 (CI), where a missing database is a failure.
func MustURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("ZX_PG_URL")
	if u == "" {
		if os.Getenv("ZX_REQUIRE_SERVICES") == "1" {
			tb.Fatal("ZX_PG_URL is not set, and ZX_REQUIRE_SERVICES=1 requires PostgreSQL")
		}
		tb.Skip("ZX_PG_URL is not set: skipping the PostgreSQL tests (deploy/services.sh up writes it to .services.env)")
	}
	return u
}

// MustSchema creates a schema with a random name for the test, drops it when the test ends and
// returns the database URL with the schema as its search_path.
func MustSchema(tb testing.TB) string {
	tb.Helper()
	base := MustURL(tb)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "zx_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to ZX_PG_URL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		tb.Fatalf("create schema %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("connect to drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return withSearchPath(base, name)
}

// withSearchPath adds search_path=schema to a postgres:// URL or a keyword/value string.
func withSearchPath(base, schema string) string {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return base + " search_path=" + schema
}

// MustDB migrates a new schema (MustSchema) and opens it; the pool closes when the test ends.
func MustDB(tb testing.TB) *postgres.DB {
	tb.Helper()
	u := MustSchema(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := postgres.Migrate(ctx, u); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	db, err := postgres.Open(ctx, u)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(db.Close)
	return db
}

// recorder is the broker side of a Publisher: it keeps what it is sent, fails while fail is
// set, and takes delay per call, as a broker's acknowledgement does.
type recorder struct {
	mu    sync.Mutex
	evs   []orders.Event
	calls int
	fail  error
	delay time.Duration
}

func (r *recorder) Publish(ctx context.Context, evs ...orders.Event) error {
	r.mu.Lock()
	fail, delay := r.fail, r.delay
	r.mu.Unlock()
	if fail != nil {
		return fail
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, evs...)
	r.calls++
	return nil
}

func (r *recorder) setFail(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

func (r *recorder) events() []orders.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]orders.Event(nil), r.evs...)
}

// tee publishes to its recorder and counts what went through it, to tell relays apart.
type tee struct {
	*recorder
	mu sync.Mutex
	n  int
}

func (t *tee) Publish(ctx context.Context, evs ...orders.Event) error {
	if err := t.recorder.Publish(ctx, evs...); err != nil {
		return err
	}
	t.mu.Lock()
	t.n += len(evs)
	t.mu.Unlock()
	return nil
}

func (t *tee) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// count returns the single number a query returns.
func count(tb testing.TB, db *postgres.DB, q string, args ...any) int {
	tb.Helper()
	var n int
	if err := db.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return n
}
