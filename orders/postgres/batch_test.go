package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
	"zhengxiang/orders/postgres"
	"zhengxiang/orders/postgres/pgtest"
)

// stepFn is one change of an order: the events of one or more state machine steps.
type stepFn func(o *orders.Order) ([]orders.Event, error)

// steps chains state machine methods into one change.
func steps(fs ...func(o *orders.Order) (orders.Event, error)) stepFn {
	return func(o *orders.Order) ([]orders.Event, error) {
		var evs []orders.Event
		for _, f := range fs {
			ev, err := f(o)
			if err != nil {
				return nil, err
			}
			evs = append(evs, ev)
		}
		return evs, nil
	}
}

// clock returns a function that returns a minute after start, then a minute later at each call.
func clock(start time.Time) func() time.Time {
	return func() time.Time { start = start.Add(time.Minute); return start }
}

// scripts are lives of orders, change by change, that go through every kind of write: offers,
// assignments opened and released, deliveries delivered and failed, changes of several events.
// Each script has its own clock from at, so that it makes the same events however the scripts'
// changes interleave.
func scripts(at time.Time) map[string][]stepFn {
	type step = func(o *orders.Order) (orders.Event, error)
	var next func() time.Time
	offer := func(rider string, d time.Duration) step {
		return func(o *orders.Order) (orders.Event, error) { t := next(); return o.Offer(t, rider, t.Add(d)) }
	}
	assign := func(rider string) step {
		return func(o *orders.Order) (orders.Event, error) { return o.Assign(next(), rider) }
	}
	reassign := func(reason string) step {
		return func(o *orders.Order) (orders.Event, error) { return o.Reassign(next(), reason) }
	}
	pickUp := func(rider string) step {
		return func(o *orders.Order) (orders.Event, error) { return o.PickUp(next(), rider) }
	}
	var (
		sendTicket = func(o *orders.Order) (orders.Event, error) { return o.SendTicket(next()) }
		accept     = func(o *orders.Order) (orders.Event, error) { return o.MerchantAccept(next()) }
		markReady  = func(o *orders.Order) (orders.Event, error) { return o.MarkReady(next()) }
	)
	out := map[string][]stepFn{
		"delivered": {
			steps(sendTicket),
			steps(accept, markReady),
			steps(assign("rider-1")),
			steps(func(o *orders.Order) (orders.Event, error) { return o.ArriveAtPickup(next(), "rider-1") }),
			steps(pickUp("rider-1")),
			steps(func(o *orders.Order) (orders.Event, error) { return o.ArriveAtDropoff(next(), "rider-1") }),
			steps(func(o *orders.Order) (orders.Event, error) {
				return o.Deliver(next(), "rider-1", orders.HandoverDoor)
			}),
			steps(func(o *orders.Order) (orders.Event, error) { return o.ConfirmReceipt(next()) }),
		},
		"reassigned": {
			steps(assign("rider-2")),
			steps(reassign("flat tyre")),
			steps(offer("rider-3", time.Hour)),
			steps(func(o *orders.Order) (orders.Event, error) { return o.AcceptOffer(next(), "rider-3") },
				reassign("rebalance"), assign("rider-4")),
			steps(func(o *orders.Order) (orders.Event, error) { return o.Cancel(next(), "consumer", "changed mind") }),
		},
		"failed": {
			steps(sendTicket, accept),
			steps(markReady),
			steps(assign("rider-5")),
			steps(pickUp("rider-5")),
			steps(func(o *orders.Order) (orders.Event, error) { return o.Fail(next(), "nobody home") }),
			steps(func(o *orders.Order) (orders.Event, error) { return o.Return(next()) }),
		},
		"offered": {
			steps(offer("rider-6", time.Minute), func(o *orders.Order) (orders.Event, error) { return o.ExpireOffer(next()) }),
			steps(offer("rider-7", time.Hour)),
			steps(func(o *orders.Order) (orders.Event, error) { return o.DeclineOffer(next(), "rider-7") }),
			steps(assign("rider-8")),
		},
	}
	// Each script's steps set next to its own clock before they run.
	for name, script := range out {
		own := clock(at)
		for i, f := range script {
			script[i] = func(o *orders.Order) ([]orders.Event, error) { next = own; return f(o) }
		}
		out[name] = script
	}
	return out
}

// history is what the database holds of an order, without its id and its secrets: the order,
// its events, its outbox rows in id order, its assignments in id order and its delivery.
type history struct {
	order                           orders.Order
	events                          []orders.Event
	outbox, assignments, deliveries []string
}

func historyOf(t *testing.T, db *postgres.DB, id string) history {
	t.Helper()
	ctx := t.Context()
	repo := db.Repository()
	o, err := repo.GetOrder(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := repo.Events(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if o.TrackingSecret == "" || o.PickupCode == "" || o.HandoverCode == "" {
		t.Errorf("order %s has tracking secret %q, pickup code %q and hand-over code %q; want all set", id,
			o.TrackingSecret, o.PickupCode, o.HandoverCode)
	}
	o.ID, o.PlatformOrderID, o.TrackingSecret, o.PickupCode, o.HandoverCode = "", "", "", "", ""
	for i := range evs {
		evs[i].OrderID = ""
	}
	strs := func(q string) []string {
		rows, _ := db.Pool().Query(ctx, q, id)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	return history{order: o, events: evs,
		outbox: strs(`SELECT seq::text FROM outbox WHERE order_id = $1 ORDER BY id`),
		assignments: strs(`SELECT concat_ws(' ', rider_id, assigned_at, released_at, reason) FROM assignments
			WHERE order_id = $1 ORDER BY id`),
		deliveries: strs(`SELECT concat_ws(' ', rider_id, outcome, picked_up_at, delivered_at, failed_at, handover, reason)
			FROM deliveries WHERE order_id = $1`),
	}
}

func sameHistory(t *testing.T, what string, got, want history) {
	t.Helper()
	if fmt.Sprint(got.order) != fmt.Sprint(want.order) {
		t.Errorf("%s: order\n got %+v\nwant %+v", what, got.order, want.order)
	}
	if len(got.events) != len(want.events) {
		t.Errorf("%s: %d events, want %d", what, len(got.events), len(want.events))
	} else {
		for i := range want.events {
			if !orderstest.SameEvent(got.events[i], want.events[i]) {
				t.Errorf("%s: event %d\n got %+v\nwant %+v", what, i, got.events[i], want.events[i])
			}
		}
	}
	for _, c := range []struct {
		name      string
		got, want []string
	}{{"outbox", got.outbox, want.outbox}, {"assignments", got.assignments, want.assignments}, {"deliveries", got.deliveries, want.deliveries}} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: %s\n got %q\nwant %q", what, c.name, c.got, c.want)
		}
	}
}

// TestUpdateOrdersAsOneByOne takes orders through the scripts twice, once by UpdateOrder one
// change at a time and once by UpdateOrders in batches where an order comes up to three times,
// and checks that both leave the same rows.
func TestUpdateOrdersAsOneByOne(t *testing.T) {
	db := pgtest.DB(t)
	repo, ctx := db.Repository(), t.Context()
	at := orderstest.FestivalStart
	one, batch := scripts(at), scripts(at)
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range one {
			if !yield(name) {
				return
			}
		}
	})
	for _, name := range names {
		create(t, repo, "one-"+name)
		create(t, repo, "batch-"+name)
	}
	for _, name := range names {
		for i, f := range one[name] {
			if _, err := repo.UpdateOrder(ctx, "one-"+name, f); err != nil {
				t.Fatalf("UpdateOrder(one-%s) step %d: %v", name, i, err)
			}
		}
	}
	done := make(map[string]int) // the steps of each script taken
	fn := func(o *orders.Order) ([]orders.Event, error) {
		name := strings.TrimPrefix(o.ID, "batch-")
		i := done[name]
		if i == len(batch[name]) {
			return nil, nil
		}
		done[name]++
		return batch[name][i](o)
	}
	for round := 0; ; round++ {
		var ids []string
		for _, name := range names {
			for range 1 + round%3 {
				ids = append(ids, "batch-"+name)
			}
		}
		errs, err := repo.UpdateOrders(ctx, ids, fn)
		if err != nil {
			t.Fatalf("UpdateOrders round %d: %v", round, err)
		}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("UpdateOrders round %d: %s: %v", round, ids[i], err)
			}
		}
		finished := true
		for _, name := range names {
			finished = finished && done[name] == len(batch[name])
		}
		if finished {
			break
		}
	}
	for _, name := range names {
		sameHistory(t, name, historyOf(t, db, "batch-"+name), historyOf(t, db, "one-"+name))
	}
	// What both wrote is what the scripts mean.
	h := historyOf(t, db, "batch-reassigned")
	if len(h.assignments) != 3 || !strings.HasSuffix(h.assignments[0], "REASSIGNED: flat tyre") ||
		!strings.HasSuffix(h.assignments[1], "REASSIGNED: rebalance") || !strings.HasSuffix(h.assignments[2], "CANCELLED: changed mind") {
		t.Errorf("assignments of the reassigned order = %q", h.assignments)
	}
	if n := count(t, db, "SELECT count(*) FROM assignments WHERE released_at IS NULL"); n != 2 {
		t.Errorf("%d active assignments, want the offered order's, twice", n)
	}
	if n := count(t, db, "SELECT count(*) FROM deliveries"); n != 4 {
		t.Errorf("%d deliveries, want 4 (a delivery and a failure, twice)", n)
	}
}

// TestUpdateOrdersSecondActiveAssignment: a stray active assignment of one order of a batch makes
// the database refuse its Assign, and the whole batch is rolled back as a conflict.
func TestUpdateOrdersSecondActiveAssignment(t *testing.T) {
	db := pgtest.DB(t)
	repo, ctx := db.Repository(), t.Context()
	ids := []string{"o-1", "o-2", "o-3"}
	for _, id := range ids {
		create(t, repo, id)
	}
	if _, err := db.Pool().Exec(ctx, "INSERT INTO assignments (order_id, rider_id, assigned_at) VALUES ('o-2', 'rider-9', now())"); err != nil {
		t.Fatal(err)
	}
	at := orderstest.FestivalStart.Add(time.Minute)
	errs, err := repo.UpdateOrders(ctx, ids, func(o *orders.Order) ([]orders.Event, error) {
		ev, err := o.Assign(at, "rider-1")
		return []orders.Event{ev}, err
	})
	if !orders.IsKind(err, orders.KindConflict) {
		t.Fatalf("UpdateOrders over a stray active assignment: %v, want a conflict", err)
	}
	if len(errs) != len(ids) {
		t.Errorf("errs = %v, want one per id", errs)
	}
	for _, id := range ids {
		if o, err := repo.GetOrder(ctx, id); err != nil || o.Seq != 1 || o.Delivery != orders.DeliveryUnassigned {
			t.Errorf("%s after the refused batch = seq %d %s, %v; want unchanged", id, o.Seq, o.Delivery, err)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM outbox"); n != len(ids) {
		t.Errorf("%d outbox rows, want only the %d creations", n, len(ids))
	}
	if n := count(t, db, "SELECT count(*) FROM assignments"); n != 1 {
		t.Errorf("%d assignments, want only the stray one", n)
	}
}

// TestUpdateOrdersNULByte: a change the database would refuse fails alone, the rest of the batch
// is written.
func TestUpdateOrdersNULByte(t *testing.T) {
	db := pgtest.DB(t)
	repo, ctx := db.Repository(), t.Context()
	for _, id := range []string{"o-1", "o-2"} {
		create(t, repo, id)
	}
	at := orderstest.FestivalStart.Add(time.Minute)
	errs, err := repo.UpdateOrders(ctx, []string{"o-1", "o-2"}, func(o *orders.Order) ([]orders.Event, error) {
		reason := "changed mind"
		if o.ID == "o-1" {
			reason = "changed\x00mind"
		}
		ev, err := o.Cancel(at, "consumer", reason)
		return []orders.Event{ev}, err
	})
	if err != nil || len(errs) != 2 || !orders.IsKind(errs[0], orders.KindInvalid) || !strings.Contains(errs[0].Error(), "order.reason") || errs[1] != nil {
		t.Fatalf("UpdateOrders = %v, %v; want o-1 invalid for its reason, o-2 written", errs, err)
	}
	if o, err := repo.GetOrder(ctx, "o-1"); err != nil || o.Seq != 1 {
		t.Errorf("o-1 = seq %d, %v; want unchanged", o.Seq, err)
	}
	if o, err := repo.GetOrder(ctx, "o-2"); err != nil || o.Status != orders.StatusCancelled {
		t.Errorf("o-2 = %s, %v; want cancelled", o.Status, err)
	}
}

// TestUpdateOrdersContent: a batch of changes that leave the orders' content as it was writes
// only what follows their lives and keeps the rest; a batch in which one change alters content
// writes it.
func TestUpdateOrdersContent(t *testing.T) {
	db := pgtest.DB(t)
	repo, ctx := db.Repository(), t.Context()
	before := map[string]orders.Order{}
	for _, id := range []string{"o-1", "o-2"} {
		before[id] = create(t, repo, id)
	}
	at := orderstest.FestivalStart.Add(time.Minute)
	write := func(fn func(o *orders.Order) (orders.Event, error)) {
		t.Helper()
		errs, err := repo.UpdateOrders(ctx, []string{"o-1", "o-2"}, func(o *orders.Order) ([]orders.Event, error) {
			ev, err := fn(o)
			return []orders.Event{ev}, err
		})
		if err != nil || errs[0] != nil || errs[1] != nil {
			t.Fatalf("UpdateOrders = %v, %v", errs, err)
		}
	}
	write(func(o *orders.Order) (orders.Event, error) { return o.Offer(at, "rider-1", at.Add(time.Minute)) })
	for id, was := range before {
		o, err := repo.GetOrder(ctx, id)
		if err != nil || o.Delivery != orders.DeliveryOffered || o.Seq != 2 || o.RiderID != "rider-1" || !o.OfferExpiresAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("%s = %s seq %d rider %q, %v; want offered to rider-1 at seq 2", id, o.Delivery, o.Seq, o.RiderID, err)
		}
		if o.Address != was.Address || !slices.Equal(o.Items, was.Items) || o.SubtotalCents != was.SubtotalCents ||
			o.Dropoff != was.Dropoff || !o.PlacedAt.Equal(was.PlacedAt) || o.StoreID != was.StoreID {
			t.Errorf("%s content after the offer = %+v, want %+v", id, o, was)
		}
	}
	write(func(o *orders.Order) (orders.Event, error) {
		if o.ID == "o-2" {
			o.Address = "Gate 3, Jinshui Road 1"
			o.Items = []orders.Item{{SKU: "hu-la-tang", Name: "胡辣汤", Qty: 2, PriceCents: 800}}
		}
		return o.Cancel(at, "consumer", "changed mind")
	})
	o1, err1 := repo.GetOrder(ctx, "o-1")
	o2, err2 := repo.GetOrder(ctx, "o-2")
	if err1 != nil || err2 != nil || o1.Seq != 3 || o2.Seq != 3 {
		t.Fatalf("after the cancellation: %v, %v, seq %d and %d", err1, err2, o1.Seq, o2.Seq)
	}
	if o1.Address != before["o-1"].Address || !slices.Equal(o1.Items, before["o-1"].Items) {
		t.Errorf("o-1 content changed: %q %v", o1.Address, o1.Items)
	}
	if o2.Address != "Gate 3, Jinshui Road 1" || len(o2.Items) != 1 || o2.Items[0].Name != "胡辣汤" {
		t.Errorf("o-2 content = %q %v, want the changed address and items", o2.Address, o2.Items)
	}
}

// TestCreateOrdersAsOneByOne stores orders that went through the scripts by CreateOrders, and
// the same by CreateOrder and UpdateOrder, and checks that both leave the same rows, outbox
// events included; the relay then publishes every event once, in order, as Events returns it.
func TestCreateOrdersAsOneByOne(t *testing.T) {
	db := pgtest.DB(t)
	repo, ctx := db.Repository(), t.Context()
	at := orderstest.FestivalStart
	one, batch := scripts(at), scripts(at)
	var ps []orders.Placement
	var names []string
	for name, script := range batch {
		p := orderstest.MustPlacement(t, orderstest.SampleOrder("batch-"+name))
		for i, f := range script {
			evs, err := f(&p.Order)
			if err != nil {
				t.Fatalf("%s step %d: %v", name, i, err)
			}
			p.Events = append(p.Events, evs...)
		}
		ps = append(ps, p)
		names = append(names, name)

		create(t, repo, "one-"+name)
		for i, f := range one[name] {
			if _, err := repo.UpdateOrder(ctx, "one-"+name, f); err != nil {
				t.Fatalf("UpdateOrder(one-%s) step %d: %v", name, i, err)
			}
		}
	}
	out, err := repo.CreateOrders(ctx, ps)
	if err != nil {
		t.Fatalf("CreateOrders: %v", err)
	}
	for i, c := range out {
		if c.Err != nil || !c.New {
			t.Fatalf("CreateOrders: %s: New %v, %v", ps[i].Order.ID, c.New, c.Err)
		}
	}
	for _, name := range names {
		sameHistory(t, name, historyOf(t, db, "batch-"+name), historyOf(t, db, "one-"+name))
	}

	rec := &recorder{}
	r := mustRelay(t, db, rec, postgres.RelayConfig{})
	relayAll(t, r)
	checkPublished(t, db, rec.events())
}

// TestCreateOrdersAtomic: when the database refuses a write of the batch, nothing of it is
// stored.
func TestCreateOrdersAtomic(t *testing.T) {
	db := pgtest.DB(t)
	repo, ctx := db.Repository(), t.Context()
	// An outbox row left for an order that does not exist, and a key on the outbox that this test
	// adds, make the outbox refuse o-2's first event.
	if _, err := db.Pool().Exec(ctx, `CREATE UNIQUE INDEX outbox_refuses ON outbox (order_id, seq);
		INSERT INTO outbox (order_id, seq) VALUES ('o-2', 1)`); err != nil {
		t.Fatal(err)
	}
	ps := []orders.Placement{
		orderstest.MustPlacement(t, orderstest.SampleOrder("o-1")),
		orderstest.MustPlacement(t, orderstest.SampleOrder("o-2")),
	}
	out, err := repo.CreateOrders(ctx, ps)
	if !orders.IsKind(err, orders.KindConflict) || out != nil {
		t.Fatalf("CreateOrders over a stray outbox row = %v, %v; want no results, a conflict", out, err)
	}
	if _, err := repo.GetOrder(ctx, "o-1"); !orders.IsKind(err, orders.KindNotFound) {
		t.Errorf("o-1 after the refused batch: %v, want not found", err)
	}
	if n := count(t, db, "SELECT count(*) FROM order_events"); n != 0 {
		t.Errorf("%d events after the refused batch, want none", n)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if out, err := repo.CreateOrders(cancelled, ps[:1]); !errors.Is(err, context.Canceled) || out != nil {
		t.Errorf("CreateOrders with a cancelled context = %v, %v; want context.Canceled", out, err)
	}
	if _, err := repo.GetOrder(ctx, "o-1"); !orders.IsKind(err, orders.KindNotFound) {
		t.Errorf("o-1 after a cancelled batch: %v, want not found", err)
	}
}

// TestCreateOrdersNULByte: a placement the database would refuse fails alone.
func TestCreateOrdersNULByte(t *testing.T) {
	db := pgtest.DB(t)
	repo := db.Repository()
	bad := orderstest.SampleOrder("o-2")
	bad.Address = "金水区\x00花园路"
	badItem := orderstest.SampleOrder("o-3")
	badItem.Items = []orders.Item{{SKU: "rice\x00", Qty: 1, PriceCents: 100}}
	ps := []orders.Placement{
		orderstest.MustPlacement(t, orderstest.SampleOrder("o-1")),
		orderstest.MustPlacement(t, bad),
		orderstest.MustPlacement(t, badItem),
	}
	out, err := repo.CreateOrders(t.Context(), ps)
	if err != nil {
		t.Fatalf("CreateOrders: %v", err)
	}
	if !out[0].New {
		t.Errorf("o-1: New %v, %v; want stored", out[0].New, out[0].Err)
	}
	for i, field := range map[int]string{1: "order.address", 2: "order.items[0].sku"} {
		if !orders.IsKind(out[i].Err, orders.KindInvalid) || !strings.Contains(out[i].Err.Error(), field) {
			t.Errorf("placement %d: %v, want invalid %s", i, out[i].Err, field)
		}
	}
}

// TestConcurrentCreateOrders has batches of overlapping keys stored at once: each key is stored
// once, and every placement of it is that order, new in exactly one batch.
func TestConcurrentCreateOrders(t *testing.T) {
	db := pgtest.DB(t)
	repo := db.Repository()
	const writers, keys = 4, 60
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		news = make(map[string]int)
		ids  = make(map[string]map[string]bool)
	)
	for w := range writers {
		wg.Go(func() {
			var ps []orders.Placement
			for k := range keys {
				o := orderstest.SampleOrder(fmt.Sprintf("w%d-k%d", w, k)) // each writer its own ids
				o.PlatformOrderID = fmt.Sprintf("k%d", (k+w*7)%keys)
				ps = append(ps, orderstest.MustPlacement(t, o))
			}
			for {
				out, err := repo.CreateOrders(context.Background(), ps)
				if orders.IsKind(err, orders.KindConflict) {
					continue // a deadlock with another batch: retry
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for i, c := range out {
					key := ps[i].Order.Key()
					if c.Err != nil {
						t.Errorf("%s: %v", key, c.Err)
						continue
					}
					if c.New {
						news[key]++
					}
					if ids[key] == nil {
						ids[key] = make(map[string]bool)
					}
					ids[key][c.Order.ID] = true
				}
				mu.Unlock()
				return
			}
		})
	}
	wg.Wait()
	for k := range keys {
		key := fmt.Sprintf("eleme/k%d", k)
		if news[key] != 1 || len(ids[key]) != 1 {
			t.Errorf("%s: new in %d batches, returned as %v; want new once, one order", key, news[key], ids[key])
		}
	}
	if n := count(t, db, "SELECT count(*) FROM orders"); n != keys {
		t.Errorf("%d orders stored, want %d", n, keys)
	}
}

// statements counts the statements that reach the server: alone, or in a batch.
type statements struct {
	mu sync.Mutex
	n  int
}

func (s *statements) add() {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
}

func (s *statements) take() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.n
	s.n = 0
	return n
}

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.add()
	return ctx
}
func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (s *statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (s *statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) { s.add() }
func (s *statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestStatementsPerBatch checks that CreateOrders and UpdateOrders send as many statements for
// a large batch as for a small one.
func TestStatementsPerBatch(t *testing.T) {
	u := pgtest.Schema(t)
	ctx := t.Context()
	if err := postgres.Migrate(ctx, u); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	trace := &statements{}
	cfg.ConnConfig.Tracer = trace
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	repo := postgres.New(pool)
	at := orderstest.FestivalStart.Add(time.Minute)

	// Each batch holds new orders (some assigned, which writes assignments) and resends.
	placements := func(prefix string, n int) []orders.Placement {
		var ps []orders.Placement
		for i := range n {
			p := orderstest.SampleOrder(fmt.Sprintf("%s-%d", prefix, i))
			var fs []func(o *orders.Order) (orders.Event, error)
			if i%3 == 0 {
				fs = append(fs, func(o *orders.Order) (orders.Event, error) { return o.Assign(at, "rider-1") })
			}
			ps = append(ps, orderstest.MustPlacement(t, p, fs...))
		}
		return append(ps, ps[0], ps[1])
	}
	// Each change releases an assignment or opens one, and some orders deliver.
	change := func(o *orders.Order) ([]orders.Event, error) {
		switch o.Delivery {
		case orders.DeliveryAssigned:
			ev, err := o.Reassign(at, "rebalance")
			return []orders.Event{ev}, err
		default:
			return steps(func(o *orders.Order) (orders.Event, error) { return o.SendTicket(at) },
				func(o *orders.Order) (orders.Event, error) { return o.MerchantAccept(at) },
				func(o *orders.Order) (orders.Event, error) { return o.MarkReady(at) },
				func(o *orders.Order) (orders.Event, error) { return o.Assign(at, "rider-2") },
				func(o *orders.Order) (orders.Event, error) { return o.PickUp(at, "rider-2") },
				func(o *orders.Order) (orders.Event, error) { return o.Deliver(at, "rider-2", orders.HandoverDoor) })(o)
		}
	}
	var creates, updates []int
	for _, n := range []int{5, 300} {
		ps := placements(fmt.Sprint(n), n)
		trace.take()
		out, err := repo.CreateOrders(ctx, ps)
		if err != nil || out[n].New || !out[0].New {
			t.Fatalf("CreateOrders of %d: %v", n, err)
		}
		creates = append(creates, trace.take())
		var ids []string
		for _, p := range ps[:n] {
			ids = append(ids, p.Order.ID)
		}
		errs, err := repo.UpdateOrders(ctx, ids, change)
		if err != nil || errors.Join(errs...) != nil {
			t.Fatalf("UpdateOrders of %d: %v, %v", n, err, errors.Join(errs...))
		}
		updates = append(updates, trace.take())
	}
	if creates[0] != creates[1] {
		t.Errorf("CreateOrders sent %d statements for 5 orders, %d for 300", creates[0], creates[1])
	}
	if updates[0] != updates[1] {
		t.Errorf("UpdateOrders sent %d statements for 5 orders, %d for 300", updates[0], updates[1])
	}
	t.Logf("statements: CreateOrders %d, UpdateOrders %d", creates[0], updates[0])
}
