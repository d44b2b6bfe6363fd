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
// afterwards, by this relay, at least once. A round takes the oldest outbox rows, finds their
// events (a relay made by DB.Relay in the memory of the DB's repositories, which keep what they
// committed; the others in order_events), publishes them in one Publish call and deletes the
// rows; if Publish fails nothing is deleted and the rows wait for the next round. An event is
// published again only when a round published it but could not delete its row; consumers skip
// it by its Seq.
//
// Several relays may run at once, on one process or many. A relay works only while its
// database session holds the outbox's advisory lock (one per schema); a relay that finds it
// taken waits as if the outbox were empty, and takes over when the holder stops: when it
// returns the lock after a failure, or its session ends with its process. Holding the lock from
// round to round, a round is two statements, with no transaction around them. The events of
// one order leave in Seq order, because:
//
//   - within one order, outbox ids grow with Seq, and a row becomes visible only after the rows
//     of the order's earlier events: every writer of an order holds the order's row lock from
//     before it takes an id until it commits;
//   - a round takes the oldest rows in id order, so it takes an order's later event only with
//     its earlier ones (or after them), and publishes them in id order;
//   - no other relay works meanwhile, and the rows a round published are gone, committed, before
//     the next round, or another relay, claims again.
//
// Taking rows without locking them keeps the claim to one index scan and writes nothing but
// the deletes.
type Relay struct {
	pool   *pgxpool.Pool
	pub    orders.Publisher
	cfg    RelayConfig
	events *eventCache // nil: every event is read from order_events (NewRelay)
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
	s := relaySession{own: true}
	defer s.end()
	for {
		n, err := r.round(ctx, &s)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.end() // let another relay take over
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

// relayLock is the first key of the advisory lock a relay holds while it works; the second is
// a hash of the schema (schemaKey), so that each schema's outbox has its own relay.
const relayLock int32 = 0x7a78_726c // "zxrl"

// lockOutbox takes the outbox's lock for the relay's session, if no other relay holds it, and
// sets the session's settings: the claim's estimated cost, which grows with Batch, is past the
// point where the server would compile it (JIT), which costs more than running it.
var lockOutbox = "SELECT pg_try_advisory_lock($1, " + schemaKey + "), set_config('jit', 'off', false)"

// unlockOutbox gives the lock back and the session's settings before the connection returns to
// the pool.
var unlockOutbox = "SELECT pg_advisory_unlock($1, " + schemaKey + "), set_config('jit', reset_val, false) FROM pg_settings WHERE name = 'jit'"

// claimOutbox returns the ids of up to $1 of the oldest outbox rows, in id order, with the
// events they name.
const claimOutbox = `SELECT id, order_id, seq FROM outbox ORDER BY id LIMIT $1`

// selectNamed returns the events named by the order ids of $1 and the seqs of $2.
var selectNamed = `SELECT ` + prefixed("e", eventCols) + `
	FROM unnest($1::text[], $2::bigint[]) AS x(order_id, seq)
	JOIN order_events e ON e.order_id = x.order_id AND e.seq = x.seq`

// vacuumEvery is how many rows the relay deletes between two vacuums of the outbox. At a peak
// the outbox sheds tens of thousands of rows a second, and until a vacuum clears them the claim
// steps over every dead one at the head of the id index; autovacuum looks at a database only
// once a minute or so. The relay vacuums in the background, beside its rounds, and leaves it to
// the vacuum already at work on the outbox, if any (another relay's).
const vacuumEvery = 20_000

const vacuumOutbox = `VACUUM (SKIP_LOCKED, TRUNCATE false) outbox`

// markPublished takes the published rows out of the outbox; the events stay in order_events.
const markPublished = `DELETE FROM outbox WHERE id = ANY($1)`

// markTimeout bounds the delete of a round's rows once they are published, which a relay's
// stop does not cut short.
const markTimeout = 10 * time.Second

// RelayOnce runs one round: it publishes up to Batch events and returns how many; none while
// another relay holds the outbox. On a Publisher error nothing is marked and the error is
// returned. It holds the outbox's lock only for the round; Run holds it from round to round.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	var s relaySession
	defer s.end()
	return r.round(ctx, &s)
}

// relaySession is a relay's connection, and whether the session holds the outbox's lock. Run's
// session owns its connection, taken out of the pool, so that closing the pool never waits for
// a relay that is still running; RelayOnce's borrows one from the pool for the round.
type relaySession struct {
	own    bool
	conn   *pgx.Conn
	pooled *pgxpool.Conn // the borrowed connection, when not own
	locked bool
}

// round publishes up to Batch events on s, taking a connection and the lock first if s has
// none. Once s holds the lock a round is two statements, the claim and the delete, each its own
// transaction: no other relay can claim meanwhile, and the delete commits before the next claim.
func (r *Relay) round(ctx context.Context, s *relaySession) (int, error) {
	if s.conn == nil {
		c, err := r.pool.Acquire(ctx)
		if err != nil {
			return 0, translate(err, "relay outbox")
		}
		if s.own {
			s.conn = c.Hijack()
		} else {
			s.pooled, s.conn = c, c.Conn()
		}
	}
	if !s.locked {
		if err := s.conn.QueryRow(ctx, lockOutbox, relayLock).Scan(&s.locked, nil); err != nil || !s.locked {
			return 0, translate(err, "relay outbox")
		}
	}
	rows, _ := s.conn.Query(ctx, claimOutbox, r.cfg.Batch)
	var (
		ids  []int64
		keys []eventKey
	)
	for rows.Next() {
		var id int64
		var k eventKey
		if err := rows.Scan(&id, &k.orderID, &k.seq); err != nil {
			rows.Close()
			return 0, translate(err, "relay outbox")
		}
		ids, keys = append(ids, id), append(keys, k)
	}
	if err := rows.Err(); err != nil || len(keys) == 0 {
		return 0, translate(err, "relay outbox")
	}
	evs := make([]orders.Event, len(keys))
	if missing := r.events.get(keys, evs); len(missing) > 0 {
		if err := readNamed(ctx, s.conn, keys, missing, evs); err != nil {
			return 0, translate(err, "relay outbox")
		}
	}
	if err := r.pub.Publish(ctx, evs...); err != nil {
		return 0, fmt.Errorf("relay: publish %d events: %w", len(evs), err)
	}
	// A relay told to stop once the events are out still deletes their rows, so that whoever
	// relays next does not publish them again.
	del, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	if _, err := s.conn.Exec(del, markPublished, ids); err != nil {
		return 0, translate(err, "relay outbox")
	}
	r.events.forget(keys)
	return len(evs), nil
}

// readNamed reads from order_events the events of keys[i] for each i of missing into evs[i].
func readNamed(ctx context.Context, conn *pgx.Conn, keys []eventKey, missing []int, evs []orders.Event) error {
	orderIDs, seqs := make([]string, len(missing)), make([]int64, len(missing))
	at := make(map[eventKey]int, len(missing))
	for j, i := range missing {
		orderIDs[j], seqs[j] = keys[i].orderID, keys[i].seq
		at[keys[i]] = i
	}
	rows, _ := conn.Query(ctx, selectNamed, orderIDs, seqs)
	for rows.Next() {
		ev, err := scanEventAfter(rows)
		if err != nil {
			rows.Close()
			return err
		}
		ev.At, ev.ExpiresAt = ev.At.UTC(), ev.ExpiresAt.UTC() // an unset time stays unset
		evs[at[eventKey{ev.OrderID, ev.Seq}]] = ev
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, i := range missing {
		if evs[i].OrderID == "" {
			return fmt.Errorf("the outbox names event %d of order %s, which order_events does not hold", keys[i].seq, keys[i].orderID)
		}
	}
	return nil
}

// end ends s: an owned connection is closed, which ends its session and the lock with it; a
// borrowed one gives the lock back, if it holds it, and returns to the pool (closed if it
// cannot give the lock back).
func (s *relaySession) end() {
	if s.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.own {
		s.conn.Close(ctx)
	} else {
		if s.locked {
			if _, err := s.conn.Exec(ctx, unlockOutbox, relayLock); err != nil {
				s.conn.Close(ctx)
			}
		}
		s.pooled.Release()
	}
	*s = relaySession{own: s.own}
}
