// Package pgtest gives tests a PostgreSQL schema of their own in the
// database of ZX_PG_URL (which `make services-up` writes to .services.env).
// Without ZX_PG_URL a test skips, unless ZX_REQUIRE_SERVICES=1 (as in CI),
// where a missing database fails it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"zhengxiang/orders/postgres"
)

// URL returns the test database's URL from ZX_PG_URL, or skips (or fails)
// the test without it.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("ZX_PG_URL")
	if u == "" {
		if os.Getenv("ZX_REQUIRE_SERVICES") == "1" {
			tb.Fatal("ZX_PG_URL is not set, and ZX_REQUIRE_SERVICES=1 requires PostgreSQL")
		}
		tb.Skip("ZX_PG_URL is not set: skipping the PostgreSQL tests (make services-up writes it to .services.env)")
	}
	return u
}

// Schema creates a schema with a random name for the test, drops it when
// the test ends and returns the database URL with the schema as its
// search_path.
func Schema(tb testing.TB) string {
	tb.Helper()
	base := URL(tb)
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
	return WithSearchPath(base, name)
}

// WithSearchPath adds search_path=schema to a postgres:// URL or a
// keyword/value string.
func WithSearchPath(base, schema string) string {
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

// DB migrates a new schema (Schema) and opens it; the pool closes when the
// test ends.
func DB(tb testing.TB) *postgres.DB {
	tb.Helper()
	u := Schema(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := postgres.Migrate(ctx, u); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	db, err := postgres.Open(ctx, u)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(db.Close)
	return db
}
