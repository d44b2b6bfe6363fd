package dispatch_test

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/dispatch/sim"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

var t0 = time.Date(2020, 3, 15, 10, 0, 0, 0, time.UTC)

// world is a small random city around Erqi Square with riders who decline
// and ignore offers now and then.
type world struct {
	capacity map[string]int
	stream   *memory.Stream
	res      sim.Result
}

func runWorld(t *testing.T, algo dispatch.Algo, seed int64) world {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewSource(seed))
	stream := memory.NewStream(1 << 16)
	repo := memory.NewRepository(stream)
	travel := geo.DefaultRoadModel()
	clock := dispatch.NewManualClock(t0)
	eng, err := dispatch.New(dispatch.Config{Algo: algo, RoundEvery: 15 * time.Second, Reassign: true}, repo, travel, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := sim.New(eng, clock, travel, sim.Behaviour{
		AnswerDelay: 10 * time.Second, DeclineProb: 0.1, SilentProb: 0.05,
		MerchantDelay: time.Minute, PingEvery: 30 * time.Second, Seed: seed,
	})
	centre := geo.Point{Lat: 34.7566, Lng: 113.6683}
	near := func(km float64) geo.Point {
		return geo.Point{Lat: centre.Lat + (rng.Float64()-0.5)*km/111, Lng: centre.Lng + (rng.Float64()-0.5)*km/92}
	}
	var stores []string
	for i := 0; i < 15; i++ {
		id := fmt.Sprintf("S%02d", i)
		stores = append(stores, id)
		if err := s.AddStore(ctx, orders.Store{ID: id, Name: id, Section: orders.SectionFlavours, Point: near(6), PrepMinutes: 10}); err != nil {
			t.Fatal(err)
		}
	}
	w := world{capacity: map[string]int{}, stream: stream}
	for i := 0; i < 70; i++ {
		id := fmt.Sprintf("R%02d", i)
		c := 1 + rng.Intn(4)
		w.capacity[id] = c
		s.AddRider(sim.Rider{ID: id, Start: near(6), On: t0, Off: t0.Add(3 * time.Hour), Capacity: c})
	}
	for i := 0; i < 300; i++ {
		placed := t0.Add(time.Duration(rng.Float64() * float64(2*time.Hour)))
		ready := placed.Add(time.Duration(5+rng.Intn(15)) * time.Minute)
		s.AddOrder(sim.Order{
			Order: orders.Order{
				ID: fmt.Sprintf("O%03d", i), Platform: "p", PlatformOrderID: fmt.Sprint(i), StoreID: stores[rng.Intn(len(stores))],
				Section: orders.SectionFlavours, Items: []orders.Item{{SKU: "a", Name: "a", Qty: 1, PriceCents: 1000}},
				Dropoff: near(6), PlacedAt: placed, ReadyAt: ready, PromiseAt: placed.Add(45 * time.Minute),
			},
			ActualReady: ready.Add(time.Duration(rng.Intn(180)) * time.Second),
		})
	}
	res, err := s.Run(ctx, t0.Add(5*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.res = res
	return w
}

func (w world) events(t *testing.T) []orders.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := w.stream.Subscribe(ctx, true)
	var evs []orders.Event
	for len(evs) < w.stream.Len() {
		evs = append(evs, <-ch)
	}
	return evs
}

// TestEngineInvariants replays a day with declines and silent riders and
// checks the event stream: an order is never with two riders, no rider
// carries more than its capacity, nothing is picked up before it is ready,
// and every order's events run in sequence.
func TestEngineInvariants(t *testing.T) {
	for _, algo := range []dispatch.Algo{dispatch.AlgoEngine, dispatch.AlgoGreedy} {
		t.Run(string(algo), func(t *testing.T) {
			w := runWorld(t, algo, 7)
			evs := w.events(t)
			sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
			holder := map[string]string{}
			load := map[string]int{}
			ready := map[string]time.Time{}
			seq := map[string]int64{}
			var delivered, declined, expired int
			for _, ev := range evs {
				if ev.Seq != seq[ev.OrderID]+1 {
					t.Fatalf("order %s: event %s has seq %d after %d", ev.OrderID, ev.Type, ev.Seq, seq[ev.OrderID])
				}
				seq[ev.OrderID] = ev.Seq
				switch ev.Type {
				case orders.EventReadyForPickup:
					ready[ev.OrderID] = ev.At
				case orders.EventAssigned:
					if h := holder[ev.OrderID]; h != "" {
						t.Fatalf("order %s assigned to %s while %s holds it", ev.OrderID, ev.RiderID, h)
					}
					holder[ev.OrderID] = ev.RiderID
					load[ev.RiderID]++
					if load[ev.RiderID] > w.capacity[ev.RiderID] {
						t.Fatalf("rider %s carries %d orders, capacity %d", ev.RiderID, load[ev.RiderID], w.capacity[ev.RiderID])
					}
				case orders.EventPickedUp:
					r, ok := ready[ev.OrderID]
					if !ok || ev.At.Before(r) {
						t.Fatalf("order %s picked up at %s before ready (%v)", ev.OrderID, ev.At, r)
					}
				case orders.EventDelivered, orders.EventReassigned, orders.EventCancelled:
					if h := holder[ev.OrderID]; h != "" {
						load[h]--
						holder[ev.OrderID] = ""
					}
					if ev.Type == orders.EventDelivered {
						delivered++
					}
				case orders.EventOfferDeclined:
					declined++
				case orders.EventOfferExpired:
					expired++
				}
			}
			if delivered < 250 {
				t.Errorf("delivered %d of 300 orders", delivered)
			}
			if declined == 0 || expired == 0 {
				t.Errorf("declined %d, expired %d: the offer paths were not exercised", declined, expired)
			}
			if algo == dispatch.AlgoEngine && w.res.Stats.Reassigned == 0 {
				t.Errorf("no order was reassigned: the reassignment path was not exercised")
			}
			t.Logf("%s: delivered %d, declined %d, expired %d, reassigned %d, rounds %d", algo, delivered, declined, expired, w.res.Stats.Reassigned, w.res.Rounds)
		})
	}
}

// fixture is an engine on a manual clock with one store and two riders, one
// at the store and one 2 km away.
type fixture struct {
	t     *testing.T
	eng   *dispatch.Engine
	clock *dispatch.ManualClock
	repo  *memory.Repository
	store geo.Point
}

func newFixture(t *testing.T, cfg dispatch.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := dispatch.NewManualClock(t0)
	repo := memory.NewRepository(nil)
	eng, err := dispatch.New(cfg, repo, geo.DefaultRoadModel(), clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, eng: eng, clock: clock, repo: repo, store: geo.Point{Lat: 34.7566, Lng: 113.6683}}
	if err := eng.AddStore(ctx, orders.Store{ID: "S1", Name: "S1", Section: orders.SectionDeals, Point: f.store, PrepMinutes: 5}); err != nil {
		t.Fatal(err)
	}
	for id, p := range map[string]geo.Point{"near": f.store, "far": {Lat: f.store.Lat + 0.018, Lng: f.store.Lng}} {
		if err := eng.StartShift(ctx, orders.Rider{ID: id, Capacity: 2, Point: p}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) submit(id string, readyIn time.Duration) {
	f.t.Helper()
	now := f.clock.Now()
	_, err := f.eng.Submit(context.Background(), orders.Order{
		ID: id, Platform: "p", PlatformOrderID: id, StoreID: "S1", Section: orders.SectionDeals,
		Items:   []orders.Item{{SKU: "rice", Name: "rice", Qty: 1, PriceCents: 2000}},
		Dropoff: geo.Point{Lat: f.store.Lat - 0.01, Lng: f.store.Lng}, PlacedAt: now, ReadyAt: now.Add(readyIn), PromiseAt: now.Add(45 * time.Minute),
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) round() dispatch.RoundStats {
	f.t.Helper()
	st, err := f.eng.Round(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *fixture) order(id string) orders.Order {
	f.t.Helper()
	o, err := f.repo.GetOrder(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

func (f *fixture) advance(d time.Duration) { f.clock.Set(f.clock.Now().Add(d)) }

func TestOfferDeclineGoesToAnotherRider(t *testing.T) {
	f := newFixture(t, dispatch.Config{})
	f.submit("A", 0)
	st := f.round()
	if len(st.Offers) != 1 || st.Offers[0].RiderID != "near" {
		t.Fatalf("offers %+v, want one to the rider at the store", st.Offers)
	}
	if err := f.eng.Decline(context.Background(), "near", st.Offers[0].TripID); err != nil {
		t.Fatal(err)
	}
	if o := f.order("A"); o.Delivery != orders.DeliveryUnassigned {
		t.Fatalf("after decline: %s", o.Delivery)
	}
	f.advance(10 * time.Second)
	st = f.round()
	if len(st.Offers) != 1 || st.Offers[0].RiderID != "far" {
		t.Fatalf("offers %+v, want the other rider after a decline", st.Offers)
	}
	if err := f.eng.Accept(context.Background(), "near", st.Offers[0].TripID); !orders.IsKind(err, orders.KindForbidden) {
		t.Fatalf("accepting another rider's offer: %v, want forbidden", err)
	}
}

func TestOfferExpiresAndComesBack(t *testing.T) {
	f := newFixture(t, dispatch.Config{OfferTimeout: 30 * time.Second})
	f.submit("A", 0)
	st := f.round()
	if len(st.Offers) != 1 {
		t.Fatalf("offers %+v", st.Offers)
	}
	f.advance(31 * time.Second)
	if err := f.eng.Accept(context.Background(), "near", st.Offers[0].TripID); !orders.IsKind(err, orders.KindConflict) {
		t.Fatalf("late accept: %v, want conflict", err)
	}
	evs, _ := f.repo.Events(context.Background(), "A")
	if last := evs[len(evs)-1]; last.Type != orders.EventOfferExpired {
		t.Fatalf("last event %s, want OFFER_EXPIRED", last.Type)
	}
	if st := f.round(); len(st.Offers) != 1 || st.Offers[0].RiderID != "far" {
		t.Fatalf("offers %+v, want a new offer to the other rider", st.Offers)
	}
}

func TestStaleRiderLosesUnpickedOrders(t *testing.T) {
	f := newFixture(t, dispatch.Config{StaleAfter: time.Minute})
	ctx := context.Background()
	f.submit("A", 10*time.Minute)
	st := f.round()
	if len(st.Offers) != 0 {
		t.Fatalf("offers %+v: a rider should not be sent to wait ten minutes at the store", st.Offers)
	}
	f.advance(7 * time.Minute)
	_ = f.eng.Ping("near", f.store)
	_ = f.eng.Ping("far", geo.Point{Lat: f.store.Lat + 0.018, Lng: f.store.Lng})
	st = f.round()
	if len(st.Offers) != 1 || st.Offers[0].RiderID != "near" {
		t.Fatalf("offers %+v", st.Offers)
	}
	if err := f.eng.Accept(ctx, "near", st.Offers[0].TripID); err != nil {
		t.Fatal(err)
	}
	// "near" falls silent; "far" keeps pinging.
	for i := 0; i < 3; i++ {
		f.advance(30 * time.Second)
		if err := f.eng.Ping("far", geo.Point{Lat: f.store.Lat + 0.018, Lng: f.store.Lng}); err != nil {
			t.Fatal(err)
		}
	}
	st = f.round()
	if len(st.Withdrawn) != 1 || st.Reassigned != 1 {
		t.Fatalf("withdrawn %v reassigned %d, want the silent rider's trip back", st.Withdrawn, st.Reassigned)
	}
	evs, _ := f.repo.Events(ctx, "A")
	var reasons []string
	for _, ev := range evs {
		if ev.Type == orders.EventReassigned {
			reasons = append(reasons, ev.Reason)
		}
	}
	if len(reasons) != 1 || reasons[0] != "rider position stale" {
		t.Fatalf("reassignments %q", reasons)
	}
	if len(st.Offers) != 1 || st.Offers[0].RiderID != "far" {
		t.Fatalf("offers %+v, want the order offered to the rider still pinging", st.Offers)
	}
}

func TestCancelHopelessOrder(t *testing.T) {
	f := newFixture(t, dispatch.Config{MaxClickToDoor: 30 * time.Minute})
	f.submit("A", 40*time.Minute)
	st := f.round()
	if len(st.Cancelled) != 1 || st.Cancelled[0] != "A" {
		t.Fatalf("cancelled %v, want the order that cannot arrive within 30 minutes", st.Cancelled)
	}
	if o := f.order("A"); o.Status != orders.StatusCancelled || o.Reason == "" {
		t.Fatalf("order %s/%s reason %q", o.Status, o.Delivery, o.Reason)
	}
}

func TestNoPickupBeforeReady(t *testing.T) {
	f := newFixture(t, dispatch.Config{})
	ctx := context.Background()
	f.submit("A", 0)
	st := f.round()
	trip := st.Offers[0].TripID
	if err := f.eng.Accept(ctx, "near", trip); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.ArriveAtPickup(ctx, "near", trip); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.PickUp(ctx, "near", trip); !orders.IsKind(err, orders.KindConflict) {
		t.Fatalf("pickup before the store marked it ready: %v, want conflict", err)
	}
	if err := f.eng.MerchantAccept(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.MarkReady(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.PickUp(ctx, "near", trip); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.Deliver(ctx, "far", "A", orders.HandoverDoor); !orders.IsKind(err, orders.KindForbidden) {
		t.Fatalf("delivery by another rider: %v, want forbidden", err)
	}
	if err := f.eng.Deliver(ctx, "near", "A", orders.HandoverDoor); err != nil {
		t.Fatal(err)
	}
	if o := f.order("A"); o.Delivery != orders.DeliveryDelivered || o.Handover != orders.HandoverDoor {
		t.Fatalf("order ended %s via %s", o.Delivery, o.Handover)
	}
}

func TestSubmitValidates(t *testing.T) {
	f := newFixture(t, dispatch.Config{})
	for name, o := range map[string]orders.Order{
		"unknown store": {ID: "X", Platform: "p", PlatformOrderID: "x", StoreID: "nope"},
		"no items":      {ID: "Y", Platform: "p", PlatformOrderID: "y", StoreID: "S1", Section: orders.SectionDeals, Dropoff: f.store, ReadyAt: t0, PromiseAt: t0},
	} {
		if _, err := f.eng.Submit(context.Background(), o); !orders.IsKind(err, orders.KindInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func TestRestoreRebuildsFromTheRepository(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, dispatch.Config{})
	f.submit("A", 0)
	st := f.round()
	if err := f.eng.Accept(ctx, "near", st.Offers[0].TripID); err != nil {
		t.Fatal(err)
	}
	f.advance(10 * time.Second)
	f.submit("B", 0)
	if st = f.round(); len(st.Offers) != 1 || st.Offers[0].RiderID != "far" {
		t.Fatalf("offers %+v", st.Offers)
	}
	f.submit("C", 30*time.Minute)

	// A second dispatcher takes over the same record.
	eng, err := dispatch.New(dispatch.Config{}, f.repo, geo.DefaultRoadModel(), f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if s := eng.Stats(); s.Pending != 2 || s.Riders != 2 || s.ActiveTrips != 1 {
		t.Fatalf("after restore: %+v, want B and C pending, both riders, A's trip", s)
	}
	if o := f.order("B"); o.Delivery != orders.DeliveryUnassigned || o.Reason == "" {
		t.Fatalf("B after restore: %s (%q), want its offer taken back with a reason", o.Delivery, o.Reason)
	}
	trip, err := eng.TripOf("A")
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.ArriveAtPickup(ctx, "near", trip); err != nil {
		t.Fatalf("the rider goes on with its trip after the restore: %v", err)
	}
	if err := eng.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if s := eng.Stats(); s.Pending != 2 || s.ActiveTrips != 1 {
		t.Fatalf("a second restore changed the picture: %+v", s)
	}
}

// TestHopelessCancelLeavesNoDuplicate guards the pending pool: cancelling a
// hopeless order in a round must not leave another order in it twice, which
// would offer that order in two trips at once.
func TestHopelessCancelLeavesNoDuplicate(t *testing.T) {
	f := newFixture(t, dispatch.Config{MaxClickToDoor: 30 * time.Minute, MaxBundle: 1})
	f.submit("A", 40*time.Minute) // cannot make 30 minutes
	f.advance(time.Second)
	f.submit("B", 0)
	f.advance(time.Second)
	f.submit("C", 15*time.Minute) // held: its rider would only wait
	st := f.round()
	if len(st.Cancelled) != 1 || st.Cancelled[0] != "A" {
		t.Fatalf("cancelled %v, want A", st.Cancelled)
	}
	if len(st.Offers) != 1 || st.Offers[0].OrderIDs[0] != "B" {
		t.Fatalf("offers %+v, want B alone", st.Offers)
	}
	if s := f.eng.Stats(); s.Pending != 1 {
		t.Errorf("%d pending after the round, want 1 (C, once)", s.Pending)
	}
}

// TestSubmitSendsTheTicketOfACreatedOrder covers a crash between recording
// an order and sending its ticket: the redelivered order gets its ticket.
func TestSubmitSendsTheTicketOfACreatedOrder(t *testing.T) {
	f := newFixture(t, dispatch.Config{})
	o := orders.Order{
		ID: "A", Platform: "p", PlatformOrderID: "A", StoreID: "S1", Section: orders.SectionDeals,
		Items:   []orders.Item{{SKU: "rice", Name: "rice", Qty: 1, PriceCents: 2000}},
		Dropoff: geo.Point{Lat: f.store.Lat - 0.01, Lng: f.store.Lng}, PlacedAt: t0, ReadyAt: t0, PromiseAt: t0.Add(45 * time.Minute),
	}
	n, ev, err := orders.NewOrder(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.repo.CreateOrder(context.Background(), n, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := f.eng.Submit(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got := f.order("A"); got.Status != orders.StatusTicketSent {
		t.Fatalf("redelivered order is %s, want TICKET_SENT", got.Status)
	}
	if s := f.eng.Stats(); s.Pending != 1 {
		t.Fatalf("%d pending, want the order once", s.Pending)
	}
	if _, err := f.eng.Submit(context.Background(), o); err != nil || f.eng.Stats().Pending != 1 {
		t.Fatalf("a third delivery: %v, pending %d", err, f.eng.Stats().Pending)
	}
}

// stopDuringWrite is a record that tells the engine to stop (cancels its
// context) just as the next batch of orders is written.
type stopDuringWrite struct {
	*memory.Repository
	stop  context.CancelFunc
	armed bool
}

func (r *stopDuringWrite) UpdateOrders(ctx context.Context, ids []string, fn func(o *orders.Order) ([]orders.Event, error)) ([]error, error) {
	if r.armed {
		r.armed = false
		r.stop()
	}
	return r.Repository.UpdateOrders(ctx, ids, fn)
}

// TestOfferWriteOutlivesStop: a stop that comes while a round writes its
// offers lets the write finish, so the offer is recorded and reported
// rather than rolled back and logged as failed.
func TestOfferWriteOutlivesStop(t *testing.T) {
	bg := context.Background()
	clock := dispatch.NewManualClock(t0)
	ctx, stop := context.WithCancel(bg)
	defer stop()
	repo := &stopDuringWrite{Repository: memory.NewRepository(nil), stop: stop}
	eng, err := dispatch.New(dispatch.Config{}, repo, geo.DefaultRoadModel(), clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := geo.Point{Lat: 34.7566, Lng: 113.6683}
	if err := eng.AddStore(bg, orders.Store{ID: "S1", Name: "S1", Section: orders.SectionDeals, Point: store, PrepMinutes: 5}); err != nil {
		t.Fatal(err)
	}
	if err := eng.StartShift(bg, orders.Rider{ID: "R1", Capacity: 2, Point: store}); err != nil {
		t.Fatal(err)
	}
	o, err := eng.Submit(bg, orders.Order{Platform: "p", PlatformOrderID: "A", StoreID: "S1", Section: orders.SectionDeals,
		Items:   []orders.Item{{SKU: "rice", Name: "rice", Qty: 1, PriceCents: 2000}},
		Dropoff: geo.Point{Lat: store.Lat - 0.01, Lng: store.Lng}, PlacedAt: t0, ReadyAt: t0, PromiseAt: t0.Add(45 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	repo.armed = true
	st, err := eng.Round(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() == nil {
		t.Fatal("the round wrote no batch of orders")
	}
	if len(st.Offers) != 1 {
		t.Fatalf("offers %+v, want the one written while the stop came", st.Offers)
	}
	got, err := repo.GetOrder(bg, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Delivery != orders.DeliveryOffered || got.RiderID != "R1" {
		t.Fatalf("order %s delivery %s rider %q, want OFFERED to R1", got.ID, got.Delivery, got.RiderID)
	}
}
