package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
	"zhengxiang/orders/postgres"
	"zhengxiang/orders/postgres/pgtest"
)

func mustRelay(t *testing.T, db *postgres.DB, pub orders.Publisher, cfg postgres.RelayConfig) *postgres.Relay {
	t.Helper()
	r, err := postgres.NewRelay(db.Pool(), pub, cfg)
	if err != nil {
		t.Fatalf("NewRelay: %v", err)
	}
	return r
}

const unpublished = "SELECT count(*) FROM outbox"

// waitPublished waits until the outbox holds no unpublished row.
func waitPublished(t *testing.T, db *postgres.DB) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for count(t, db, unpublished) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d events still unpublished after a minute", count(t, db, unpublished))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkPublished checks that evs hold every stored event exactly once, each order's in Seq
// order, and equal to what Events returns.
func checkPublished(t *testing.T, db *postgres.DB, evs []orders.Event) {
	t.Helper()
	byOrder := make(map[string][]orders.Event)
	for _, ev := range evs {
		got := byOrder[ev.OrderID]
		if want := int64(len(got) + 1); ev.Seq != want {
			t.Fatalf("order %s: published seq %d after %d events, want seq %d (a duplicate, a gap or out of order)",
				ev.OrderID, ev.Seq, len(got), want)
		}
		byOrder[ev.OrderID] = append(got, ev)
	}
	if total := count(t, db, "SELECT count(*) FROM order_events"); total != len(evs) {
		t.Errorf("published %d events, stored %d", len(evs), total)
	}
	repo := db.Repository()
	for id, got := range byOrder {
		want, err := repo.Events(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("order %s: published %d events, stored %d", id, len(got), len(want))
			continue
		}
		for i := range want {
			if !orderstest.SameEvent(got[i], want[i]) {
				t.Errorf("order %s: published\n%+v\nstored\n%+v", id, got[i], want[i])
			}
		}
	}
}

// lifecycle creates the order id and takes it through four changes.
func lifecycle(ctx context.Context, repo orders.Repository, id string, at time.Time) error {
	o, ev, err := orders.NewOrder(orderstest.SampleOrder(id))
	if err != nil {
		return err
	}
	if _, _, err := repo.CreateOrder(ctx, o, ev); err != nil {
		return err
	}
	for _, f := range []func(o *orders.Order) (orders.Event, error){
		func(o *orders.Order) (orders.Event, error) { return o.SendTicket(at) },
		func(o *orders.Order) (orders.Event, error) { return o.Offer(at, "rider-1", at.Add(time.Minute)) },
		func(o *orders.Order) (orders.Event, error) { return o.DeclineOffer(at, "rider-1") },
		func(o *orders.Order) (orders.Event, error) { return o.Assign(at, "rider-2") },
	} {
		_, err := repo.UpdateOrder(ctx, id, func(o *orders.Order) ([]orders.Event, error) {
			ev, err := f(o)
			return []orders.Event{ev}, err
		})
		if err != nil {
			return fmt.Errorf("update order %s: %w", id, err)
		}
	}
	return nil
}

// TestTwoRelays runs two relays while writers create orders and change them, some of them from
// several goroutines at once, and checks that every event is published once and in order.
func TestTwoRelays(t *testing.T) {
	db := pgtest.DB(t)
	repo := db.Repository()
	rec := &recorder{delay: time.Millisecond}
	pubs := []*tee{{recorder: rec}, {recorder: rec}}
	var stops []context.CancelFunc
	var relays sync.WaitGroup
	for i, p := range pubs {
		ctx, stop := context.WithCancel(t.Context())
		stops = append(stops, stop)
		// One relay takes the events from the repository's memory, the other reads them.
		cfg := postgres.RelayConfig{Batch: 7, Idle: 5 * time.Millisecond}
		r := mustRelay(t, db, p, cfg)
		if i == 0 {
			var err error
			if r, err = db.Relay(p, cfg); err != nil {
				t.Fatal(err)
			}
		}
		relays.Go(func() {
			if err := r.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}

	at := orderstest.FestivalStart.Add(time.Minute)
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Go(func() {
			for i := range 20 {
				if err := lifecycle(t.Context(), repo, fmt.Sprintf("w%d-o%d", w, i), at); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	hot := []string{"hot-1", "hot-2"}
	for _, id := range hot {
		create(t, repo, id)
	}
	for w := range 6 {
		id := hot[w%len(hot)]
		writers.Go(func() {
			for range 30 {
				_, err := repo.UpdateOrder(t.Context(), id, func(o *orders.Order) ([]orders.Event, error) {
					if o.Delivery == orders.DeliveryUnassigned {
						ev, err := o.Assign(at, fmt.Sprintf("rider-%d", w))
						return []orders.Event{ev}, err
					}
					ev, err := o.Reassign(at, "rebalance")
					return []orders.Event{ev}, err
				})
				if err != nil {
					t.Errorf("UpdateOrder(%s): %v", id, err)
					return
				}
			}
		})
	}
	// The relay that holds the outbox stops after 100 events; the other takes over.
	stopped, deadline := -1, time.Now().Add(time.Minute)
	for stopped < 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the relays published %d and %d events in a minute", pubs[0].count(), pubs[1].count())
		}
		for i, p := range pubs {
			if p.count() >= 100 {
				stops[i]()
				stopped = i
			}
		}
		time.Sleep(time.Millisecond)
	}
	writers.Wait()
	waitPublished(t, db)
	for _, stop := range stops {
		stop()
	}
	relays.Wait()

	evs := rec.events()
	checkPublished(t, db, evs)
	if other := pubs[1-stopped]; other.count() == 0 {
		t.Errorf("relay %d published nothing after relay %d stopped", 2-stopped, stopped+1)
	}
	t.Logf("%d events in %d Publish calls; relay 1 published %d, relay 2 %d", len(evs), rec.calls, pubs[0].count(), pubs[1].count())
}

func TestRelayPublishError(t *testing.T) {
	db := pgtest.DB(t)
	repo := db.Repository()
	at := orderstest.FestivalStart.Add(time.Minute)
	for _, id := range []string{"o-1", "o-2", "o-3"} {
		create(t, repo, id)
		step(t, repo, id, func(o *orders.Order) (orders.Event, error) { return o.SendTicket(at) })
		step(t, repo, id, func(o *orders.Order) (orders.Event, error) { return o.MerchantAccept(at) })
	}
	errBroker := errors.New("broker unreachable")
	rec := &recorder{fail: errBroker}
	r := mustRelay(t, db, rec, postgres.RelayConfig{})

	n, err := r.RelayOnce(t.Context())
	if !errors.Is(err, errBroker) || n != 0 {
		t.Fatalf("RelayOnce with a failing publisher = %d, %v; want 0, %v", n, err, errBroker)
	}
	if got := count(t, db, unpublished); got != 9 {
		t.Fatalf("%d events unpublished after a failed publication, want all 9", got)
	}
	rec.setFail(nil)
	if n, err := r.RelayOnce(t.Context()); n != 9 || err != nil {
		t.Fatalf("RelayOnce after the broker came back = %d, %v; want 9", n, err)
	}
	if n, err := r.RelayOnce(t.Context()); n != 0 || err != nil {
		t.Fatalf("RelayOnce with nothing to publish = %d, %v; want 0", n, err)
	}
	checkPublished(t, db, rec.events())

	// Run keeps trying through the failures.
	rec.setFail(errBroker)
	r = mustRelay(t, db, rec, postgres.RelayConfig{Idle: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	create(t, repo, "o-4")
	time.Sleep(100 * time.Millisecond)
	if got := count(t, db, unpublished); got != 1 {
		t.Errorf("%d events unpublished while the broker fails, want 1", got)
	}
	rec.setFail(nil)
	waitPublished(t, db)
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run = %v after its context ended, want nil", err)
	}
	checkPublished(t, db, rec.events())
}

// TestRelayTakesTurns holds the outbox's lock as another relay's round would while it
// publishes, and checks that the relay publishes nothing meanwhile, then, once the other round
// ended, exactly what that round left: everything when it failed, the rest when it published
// the order's first event.
func TestRelayTakesTurns(t *testing.T) {
	for _, tc := range []struct {
		name      string
		published bool // whether the other round publishes o-1's first event
	}{
		{"other relay fails", false},
		{"other relay publishes", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := pgtest.DB(t)
			repo, ctx := db.Repository(), t.Context()
			at := orderstest.FestivalStart.Add(time.Minute)
			create(t, repo, "o-1")
			step(t, repo, "o-1", func(o *orders.Order) (orders.Event, error) { return o.SendTicket(at) })
			step(t, repo, "o-1", func(o *orders.Order) (orders.Event, error) { return o.MerchantAccept(at) })

			other, err := db.Pool().Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Rollback(context.Background())
			// The relay's lock: "zxrl" and the schema (relay.go).
			if _, err := other.Exec(ctx, "SELECT pg_advisory_xact_lock(x'7a78726c'::int, hashtext(coalesce(current_schema(), '')))"); err != nil {
				t.Fatal(err)
			}
			var id int64
			if err := other.QueryRow(ctx, "SELECT id FROM outbox WHERE order_id = 'o-1' AND seq = 1").Scan(&id); err != nil {
				t.Fatal(err)
			}

			rec := &recorder{}
			r := mustRelay(t, db, rec, postgres.RelayConfig{})
			if n, err := r.RelayOnce(ctx); n != 0 || err != nil {
				t.Fatalf("RelayOnce while another round holds the outbox = %d, %v; want 0, nil", n, err)
			}

			want := []int64{1, 2, 3}
			if tc.published {
				if _, err := other.Exec(ctx, "DELETE FROM outbox WHERE id = $1", id); err != nil {
					t.Fatal(err)
				}
				if err := other.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				want = []int64{2, 3}
			} else if err := other.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			if n, err := r.RelayOnce(ctx); n != len(want) || err != nil {
				t.Fatalf("RelayOnce after the other round ended = %d, %v; want %d", n, err, len(want))
			}
			var got []int64
			for _, ev := range rec.events() {
				if ev.OrderID != "o-1" {
					t.Errorf("published an event of %s, want o-1", ev.OrderID)
				}
				got = append(got, ev.Seq)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("published seqs %v of o-1, want %v", got, want)
			}
		})
	}
}

func TestRelayConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  postgres.RelayConfig
		ok   bool
	}{
		{"zero takes the defaults", postgres.RelayConfig{}, true},
		{"set", postgres.RelayConfig{Batch: 10, Idle: time.Second, MaxBackoff: time.Minute}, true},
		{"negative batch", postgres.RelayConfig{Batch: -1}, false},
		{"negative idle", postgres.RelayConfig{Idle: -time.Second}, false},
		{"negative backoff", postgres.RelayConfig{MaxBackoff: -time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.ok && err != nil || !tc.ok && !orders.IsKind(err, orders.KindInvalid) {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestRelayDeletesPublished takes the published rows out of the outbox and keeps the rest, and
// the events stay in the order's history.
func TestRelayDeletesPublished(t *testing.T) {
	db := pgtest.DB(t)
	repo := db.Repository()
	at := orderstest.FestivalStart.Add(time.Minute)
	for _, id := range []string{"o-1", "o-2"} {
		create(t, repo, id)
		step(t, repo, id, func(o *orders.Order) (orders.Event, error) { return o.SendTicket(at) })
	}
	rec := &recorder{}
	r := mustRelay(t, db, rec, postgres.RelayConfig{})
	if n, err := r.RelayOnce(t.Context()); n != 4 || err != nil {
		t.Fatalf("RelayOnce = %d, %v; want 4", n, err)
	}
	if got := count(t, db, unpublished); got != 0 {
		t.Errorf("%d rows left in the outbox after publishing them all, want 0", got)
	}
	create(t, repo, "o-3")
	if got := count(t, db, unpublished); got != 1 {
		t.Errorf("%d rows in the outbox after a new order, want its 1", got)
	}
	evs, err := repo.Events(t.Context(), "o-1")
	if err != nil || len(evs) != 2 {
		t.Errorf("o-1 has %d events after publishing, %v; want its 2", len(evs), err)
	}
}

// TestRelayFromMemory checks that a relay made by DB.Relay publishes the events that the DB's
// repositories committed as they were committed, without reading them back, and reads the
// others: after the commits every stored event's reason is changed behind the repositories'
// backs, so the events a relay read come out changed.
func TestRelayFromMemory(t *testing.T) {
	db := pgtest.DB(t)
	ctx := t.Context()
	at := orderstest.FestivalStart.Add(time.Minute)
	mine, others := db.Repository(), postgres.New(db.Pool()) // New's repository keeps nothing
	for i := range 3 {
		if err := lifecycle(ctx, mine, fmt.Sprintf("mine-%d", i), at); err != nil {
			t.Fatal(err)
		}
		if err := lifecycle(ctx, others, fmt.Sprintf("other-%d", i), at); err != nil {
			t.Fatal(err)
		}
	}
	ps := []orders.Placement{{Order: orderstest.SampleOrder("batch-1")}, {Order: orderstest.SampleOrder("batch-2")}}
	for i := range ps {
		o, ev, err := orders.NewOrder(ps[i].Order)
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = orders.Placement{Order: o, Events: []orders.Event{ev}}
	}
	if _, err := mine.CreateOrders(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if _, err := mine.UpdateOrders(ctx, []string{"batch-1", "batch-2"}, func(o *orders.Order) ([]orders.Event, error) {
		ev, err := o.SendTicket(at)
		return []orders.Event{ev}, err
	}); err != nil {
		t.Fatal(err)
	}
	committed := map[string][]orders.Event{}
	for _, id := range []string{"mine-0", "mine-1", "mine-2", "other-0", "other-1", "other-2", "batch-1", "batch-2"} {
		evs, err := mine.Events(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		committed[id] = evs
	}
	const changed = "changed after the commit"
	if _, err := db.Pool().Exec(ctx, "UPDATE order_events SET reason = $1", changed); err != nil {
		t.Fatal(err)
	}

	rec := &recorder{}
	r, err := db.Relay(rec, postgres.RelayConfig{Batch: 5})
	if err != nil {
		t.Fatal(err)
	}
	relayAll(t, r)
	got := map[string][]orders.Event{}
	for _, ev := range rec.events() {
		got[ev.OrderID] = append(got[ev.OrderID], ev)
	}
	for id, want := range committed {
		if len(got[id]) != len(want) {
			t.Errorf("order %s: published %d events, want %d", id, len(got[id]), len(want))
			continue
		}
		for i, ev := range got[id] {
			w := want[i]
			w.At, w.ExpiresAt = w.At.UTC(), w.ExpiresAt.UTC() // as the relay reads them
			if strings.HasPrefix(id, "other-") {
				w.Reason = changed // read from order_events
			}
			if ev != w {
				t.Errorf("order %s: published\n%+v\nwant\n%+v", id, ev, w)
			}
		}
	}
	if n := count(t, db, unpublished); n != 0 {
		t.Errorf("%d outbox rows left", n)
	}
}
