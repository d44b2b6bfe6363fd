package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"zhengxiang/orders"
	"zhengxiang/orders/postgres"
)

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

// relayAll runs rounds of r until one publishes nothing.
func relayAll(t *testing.T, r *postgres.Relay) {
	t.Helper()
	for {
		n, err := r.RelayOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}
