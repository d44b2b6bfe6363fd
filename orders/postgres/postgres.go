// Package postgres keeps Zhengxiang's system of record in PostgreSQL: the orders.Repository on a
// pgx connection pool, the embedded schema migrations, and the outbox relay that hands committed
// events to the stream.
//
// Every change of an order is one transaction that writes the order, its events, the rider
// assignments and deliveries the events imply, and one outbox row per event; the Relay publishes
// the outbox afterwards, in order within each order. Errors leave this package as domain errors
// with a kind (orders.KindConflict for a unique violation, orders.KindUnavailable for a database
// that cannot be reached, ...); no pgx type escapes it.
//
// All SQL of Zhengxiang lives here, so that any write can share a transaction with the outbox.
package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"zhengxiang/orders"
)

// DB is an open pool of connections to the Zhengxiang database.
type DB struct {
	pool *pgxpool.Pool
	// events are the events that Repository's writers committed, for Relay.
	events *eventCache
}

// DefaultMaxConns is the pool's size unless the url says otherwise. pgx's own default, four on
// a small machine, makes the intake, the rounds, the relay and the riders' answers queue for a
// connection at a peak while the database has cores to spare; each transaction waits on the
// disk for its commit, so more of them in flight let the database commit them together.
const DefaultMaxConns = 32

// Open connects to the database at url, a postgres:// URL or a "host=... dbname=..." string, and
// checks that it answers. A malformed url is orders.KindInvalid; a database that does not answer
// is orders.KindUnavailable. The pool's settings come from url (pool_max_conns, ...); without
// pool_max_conns the pool holds up to DefaultMaxConns connections.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, orders.Invalid("postgres url", "%s", redact(err))
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, translate(err, "open database")
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, translate(err, "open database %s/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Database)
	}
	return &DB{pool: pool, events: newEventCache()}, nil
}

// Pool returns the connection pool, for New and NewRelay.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Repository returns the orders.Repository on db. The events its writes commit wait in memory
// for the relays that Relay makes, which publish them without reading them back.
func (db *DB) Repository() *Repository { return &Repository{pool: db.pool, events: db.events} }

// Relay returns a relay of db's outbox, as NewRelay does, that takes the events which db's
// repositories committed from memory and reads from the database only the others.
func (db *DB) Relay(pub orders.Publisher, cfg RelayConfig) (*Relay, error) {
	r, err := NewRelay(db.pool, pub, cfg)
	if err != nil {
		return nil, err
	}
	r.events = db.events
	return r, nil
}

// Ping reports whether the database answers, as a readiness check does.
func (db *DB) Ping(ctx context.Context) error {
	return translate(db.pool.Ping(ctx), "ping database")
}

// Close waits for the connections in use to be returned and closes them all.
func (db *DB) Close() { db.pool.Close() }

// redact returns the error of a connection string that could not be parsed without repeating
// the string, which may hold a password that pgx could not recognise to mask.
func redact(err error) string {
	s := err.Error()
	if rest, ok := strings.CutPrefix(s, "cannot parse `"); ok {
		if _, why, ok := strings.Cut(rest, "`: "); ok {
			return why
		}
	}
	return s
}
