package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"zhengxiang/orders"
)

// RelayConfig configures a Relay. A zero field takes its default.
type RelayConfig struct {
	Batch      int           // the most events claimed and published at once; default 500
	Idle       time.Duration // the wait when there is nothing to publish; default 50ms
	MaxBackoff time.Duration // the longest wait after a failure; default 5s
	Logger     *slog.Logger  // reports the failures that Run retries; nil: no logging
}

// The defaults of RelayConfig.
const (
	DefaultRelayBatch      = 500
	DefaultRelayIdle       = 50 * time.Millisecond
	DefaultRelayMaxBackoff = 5 * time.Second
)

// minBackoff is the wait after a first failure, when Idle is shorter.
const minBackoff = 100 * time.Millisecond

// Validate checks the configuration: no field may be negative.
func (c RelayConfig) Validate() error {
	switch {
	case c.Batch < 0:
		return orders.Invalid("relay.batch", "%d is negative", c.Batch)
	case c.Idle < 0:
		return orders.Invalid("relay.idle", "%v is negative", c.Idle)
	case c.MaxBackoff < 0:
		return orders.Invalid("relay.max_backoff", "%v is negative", c.MaxBackoff)
	}
	return nil
}

func (c RelayConfig) withDefaults() RelayConfig {
	if c.Batch == 0 {
		c.Batch = DefaultRelayBatch
	}
	if c.Idle == 0 {
		c.Idle = DefaultRelayIdle
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultRelayMaxBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Relay publishes the events of the outbox, the transactional outbox pattern: an event is
// written in the transaction of its change, with an outbox row that names it, and published
// afterwards, by this relay, at least once. Each round is one transaction that takes the oldest
// outbox rows, reads their events, publishes them in one Publish call and deletes the rows; if
// Publish fails the transaction rolls back and the rows wait for the next round. An event is
// published again only when a round published it but could not commit; consumers skip it by
// its Seq.
//
// Several relays may run at once, on one process or many. A round works only while it holds
// the outbox's advisory lock (one per schema); a relay that finds it taken waits as if the
// outbox were empty, and takes over when the holder stops. The events of one order leave in
// Seq order, because:
//
//   - within one order, outbox ids grow with Seq, and a row becomes visible only after the rows
//     of the order's earlier events: every writer of an order holds the order's row lock from
//     before it takes an id until it commits;
//   - a round takes the oldest rows in id order, so it takes an order's later event only with
//     its earlier ones (or after them), and publishes them in id order;
//   - no other round runs meanwhile, and the rows a round published are gone, committed, before
//     the next round takes the lock.
//
// Taking rows without locking them keeps the claim to one index scan and writes nothing but
// the deletes.
type Relay struct {
	pool *pgxpool.Pool
	pub  orders.Publisher
	cfg  RelayConfig
}

// NewRelay returns a relay that publishes the outbox of the database behind pool to pub.
func NewRelay(pool *pgxpool.Pool, pub orders.Publisher, cfg RelayConfig) (*Relay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pub == nil {
		return nil, orders.Invalid("relay.publisher", "must not be nil")
	}
	return &Relay{pool: pool, pub: pub, cfg: cfg.withDefaults()}, nil
}

// Run relays until ctx ends, then returns nil. It starts the next round at once after a round
// that published something, waits Idle after an empty one, and after a failure waits twice as
// long as after the previous one, up to MaxBackoff.
func (r *Relay) Run(ctx context.Context) error {
	var backoff time.Duration
	var deleted int
	vacuumed := make(chan struct{}, 1)
	vacuumed <- struct{}{}
	for {
		n, err := r.RelayOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if deleted += n; deleted >= vacuumEvery {
			select {
			case <-vacuumed:
				deleted = 0
				go func() {
					defer func() { vacuumed <- struct{}{} }()
					if _, err := r.pool.Exec(ctx, vacuumOutbox); err != nil && ctx.Err() == nil {
						r.cfg.Logger.WarnContext(ctx, "outbox vacuum failed", "err", err)
					}
				}()
			default: // the last one is still at work
			}
		}
		var wait time.Duration
		switch {
		case err != nil:
			backoff = min(max(2*backoff, r.cfg.Idle, minBackoff), r.cfg.MaxBackoff)
			wait = backoff
			r.cfg.Logger.WarnContext(ctx, "outbox relay round failed", "err", err, "retry_in", wait)
		case n == 0:
			backoff, wait = 0, r.cfg.Idle
		default:
			backoff = 0
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// relayLock is the first key of the advisory lock a round holds; the second is a hash of the
// schema (schemaKey), so that each schema's outbox has its own relay.
const relayLock int32 = 0x7a78_726c // "zxrl"

// lockOutbox takes the outbox's lock for the round's transaction, if no other round holds it,
// and sets the round's settings: the claim's estimated cost, which grows with Batch, is past the
// point where the server would compile it (JIT), which costs more than running it.
var lockOutbox = "SELECT pg_try_advisory_xact_lock($1, " + schemaKey + "), set_config('jit', 'off', true)"

// claimOutbox returns the ids and events of up to $1 of the oldest outbox rows, in id order.
var claimOutbox = `SELECT x.id, ` + prefixed("e", eventCols) + `
	FROM (SELECT id, order_id, seq FROM outbox ORDER BY id LIMIT $1) x
	JOIN order_events e ON e.order_id = x.order_id AND e.seq = x.seq
	ORDER BY x.id`

// vacuumEvery is how many rows the relay deletes between two vacuums of the outbox. At a peak
// the outbox sheds tens of thousands of rows a second, and until a vacuum clears them the claim
// steps over every dead one at the head of the id index; autovacuum looks at a database only
// once a minute or so. The relay vacuums in the background, beside its rounds, and leaves it to
// the vacuum already at work on the outbox, if any (another relay's).
const vacuumEvery = 20_000

const vacuumOutbox = `VACUUM (SKIP_LOCKED, TRUNCATE false) outbox`

// markPublished takes the published rows out of the outbox; the events stay in order_events.
const markPublished = `DELETE FROM outbox WHERE id = ANY($1)`

// RelayOnce runs one round: it publishes up to Batch events and returns how many; none while
// another relay's round holds the outbox. On a Publisher error nothing is marked and the error
// is returned.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	var n int
	var pubErr error
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var mine bool
		if err := tx.QueryRow(ctx, lockOutbox, relayLock).Scan(&mine, nil); err != nil || !mine {
			return err
		}
		rows, _ := tx.Query(ctx, claimOutbox, r.cfg.Batch)
		var (
			ids []int64
			evs []orders.Event
		)
		for rows.Next() {
			var id int64
			ev, err := scanEventAfter(rows, &id)
			if err != nil {
				rows.Close()
				return err
			}
			ev.At, ev.ExpiresAt = ev.At.UTC(), ev.ExpiresAt.UTC() // an unset time stays unset
			ids, evs = append(ids, id), append(evs, ev)
		}
		if err := rows.Err(); err != nil || len(evs) == 0 {
			return err
		}
		if err := r.pub.Publish(ctx, evs...); err != nil {
			pubErr = fmt.Errorf("relay: publish %d events: %w", len(evs), err)
			return pubErr
		}
		if _, err := tx.Exec(ctx, markPublished, ids); err != nil {
			return err
		}
		n = len(evs)
		return nil
	})
	if pubErr != nil {
		return 0, pubErr
	}
	if err != nil {
		return 0, translate(err, "relay outbox")
	}
	return n, nil
}
