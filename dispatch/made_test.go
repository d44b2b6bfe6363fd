package dispatch_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// cst is a time of day of China Standard Time on a day of the festival.
func cst(day, hour, minute int) time.Time {
	return time.Date(2020, 3, day, hour, minute, 0, 0, orders.CST)
}

func TestPromiseFor(t *testing.T) {
	var cfg dispatch.Config
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	travel := geo.DefaultRoadModel()
	store := geo.Point{Lat: 34.7566, Lng: 113.6683}
	dest := geo.Point{Lat: 34.7466, Lng: 113.6683}
	for _, c := range []struct {
		name           string
		sec            orders.Section
		placed         time.Time
		prep           float64
		ready, promise time.Time
	}{
		{"1-hour circle", orders.SectionDeals, cst(15, 9, 0), 12, cst(15, 9, 12), cst(15, 9, 0).Add(dispatch.Promise(travel, 12, store, dest))},
		{"first wave", orders.SectionMade, cst(15, 8, 0), 30, cst(15, 10, 0), cst(15, 21, 0)},
		{"ready right at the wave", orders.SectionMade, cst(15, 9, 30), 30, cst(15, 10, 0), cst(15, 21, 0)},
		{"a minute late for the wave", orders.SectionMade, cst(15, 9, 31), 30, cst(15, 13, 0), cst(15, 21, 0)},
		{"last wave", orders.SectionMade, cst(15, 18, 30), 30, cst(15, 19, 0), cst(15, 21, 0)},
		{"after the last cutoff", orders.SectionMade, cst(15, 18, 31), 30, cst(16, 10, 0), cst(16, 21, 0)},
		{"ready past midnight", orders.SectionMade, cst(15, 23, 50), 30, cst(16, 10, 0), cst(16, 21, 0)},
		{"in UTC", orders.SectionMade, time.Date(2020, 3, 15, 11, 0, 0, 0, time.UTC), 0, cst(15, 19, 0), cst(15, 21, 0)},
		{"in UTC after the cutoff", orders.SectionMade, time.Date(2020, 3, 15, 11, 0, 1, 0, time.UTC), 0, cst(16, 10, 0), cst(16, 21, 0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			ready, promise := cfg.PromiseFor(c.sec, c.placed, c.prep, travel, store, dest)
			if !ready.Equal(c.ready) || !promise.Equal(c.promise) {
				t.Errorf("ready %s, promised %s; want %s, %s", ready.In(orders.CST), promise.In(orders.CST), c.ready, c.promise)
			}
		})
	}

	// A wave too close to the deadline for the ride is promised a ride after it.
	late := dispatch.Config{MadeWaves: []time.Duration{20*time.Hour + 50*time.Minute}}
	if err := late.Validate(); err != nil {
		t.Fatal(err)
	}
	_, promise := late.PromiseFor(orders.SectionMade, cst(15, 8, 0), 30, travel, store, dest)
	if want := cst(15, 20, 50).Add(dispatch.Promise(travel, 0, store, dest)); !promise.Equal(want) || !promise.After(cst(15, 21, 0)) {
		t.Errorf("promise of the 20:50 wave: %s, want %s", promise, want)
	}
	// Across the city (a factory outlet serves the whole service area) the
	// ride is not capped at the 1-hour circle's PromiseCap.
	far := geo.Point{Lat: store.Lat, Lng: store.Lng + 0.218} // 20 km east
	_, promise = late.PromiseFor(orders.SectionMade, cst(15, 8, 0), 30, travel, store, far)
	ride := time.Duration(math.Ceil(geo.PromiseMinutes(travel, 0, store, far))+dispatch.PromiseBuffer.Minutes()) * time.Minute
	if want := cst(15, 20, 50).Add(ride); !promise.Equal(want) || ride <= dispatch.PromiseCap {
		t.Errorf("promise of the 20:50 wave 20 km away: %s, want %s (a ride of %v)", promise, want, ride)
	}

	// Schedule: the platform's later ready time moves a factory order to a
	// later wave, which promises it whatever the platform said; the 1-hour
	// circle keeps the platform's times.
	o := orders.Order{Section: orders.SectionMade, PlacedAt: cst(15, 9, 0), ReadyAt: cst(15, 15, 0), PromiseAt: cst(15, 10, 0), Dropoff: dest}
	cfg.Schedule(&o, 30, travel, store)
	if !o.ReadyAt.Equal(cst(15, 16, 0)) || !o.PromiseAt.Equal(cst(15, 21, 0)) {
		t.Errorf("factory order ready by 15:00: ready %s, promised %s", o.ReadyAt, o.PromiseAt)
	}
	o = orders.Order{Section: orders.SectionDeals, PlacedAt: cst(15, 9, 0), ReadyAt: cst(15, 9, 40), PromiseAt: cst(15, 9, 50), Dropoff: dest}
	cfg.Schedule(&o, 30, travel, store)
	if !o.ReadyAt.Equal(cst(15, 9, 40)) || !o.PromiseAt.Equal(cst(15, 9, 50)) {
		t.Errorf("the platform's times of a 1-hour order changed: ready %s, promised %s", o.ReadyAt, o.PromiseAt)
	}
}

func TestMadeConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  dispatch.Config
	}{
		{"no wave", dispatch.Config{MadeWaves: []time.Duration{}}},
		{"waves out of order", dispatch.Config{MadeWaves: []time.Duration{13 * time.Hour, 10 * time.Hour}}},
		{"wave past the day", dispatch.Config{MadeWaves: []time.Duration{25 * time.Hour}}},
		{"deadline before the last wave", dispatch.Config{MadeDeadline: 18 * time.Hour}},
		{"bundle too large", dispatch.Config{MadeMaxBundle: 17}},
	} {
		if err := c.cfg.Validate(); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// madeFixture is the fixture with a factory F1 of 郑享制造 (30 minutes of
// preparation), a van at it carrying 8, and the 1-hour limit of 60 minutes
// click-to-door. Its clock starts at 18:00 CST.
func madeFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, dispatch.Config{MaxClickToDoor: 60 * time.Minute})
	ctx := context.Background()
	if err := f.eng.AddStore(ctx, orders.Store{ID: "F1", Name: "F1", Section: orders.SectionMade, Point: f.store, PrepMinutes: 30}); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.StartShift(ctx, orders.Rider{ID: "van", Capacity: 8, Point: f.store}); err != nil {
		t.Fatal(err)
	}
	return f
}

// at moves the clock to t and runs a round, the riders having reported
// their positions (at the factory) just before.
func (f *fixture) at(t time.Time) dispatch.RoundStats {
	f.t.Helper()
	f.clock.Set(t)
	for _, id := range []string{"near", "van"} {
		if err := f.eng.Ping(id, f.store); err != nil {
			f.t.Fatal(err)
		}
	}
	return f.round()
}

// submitMade places a factory order now, scheduled as the API does, k
// hundred metres from the factory in its own direction.
func (f *fixture) submitMade(id string, k int) orders.Order {
	f.t.Helper()
	cfg := f.eng.Config()
	o := orders.Order{
		ID: id, Platform: "p", PlatformOrderID: id, StoreID: "F1", Section: orders.SectionMade,
		Items:   []orders.Item{{SKU: "towel", Name: "towel", Qty: 1, PriceCents: 3000}},
		Dropoff: geo.Point{Lat: f.store.Lat - 0.001*float64(k), Lng: f.store.Lng + 0.001*float64(k%3)}, PlacedAt: f.clock.Now(),
	}
	cfg.Schedule(&o, 30, geo.DefaultRoadModel(), f.store)
	out, err := f.eng.Submit(context.Background(), o)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// TestMadeWave follows the 19:00 wave of a factory: its orders wait for it
// past the 1-hour limit, go out together in one trip larger than the
// 1-hour circle's bundles, and are promised by 21:00; an order after the
// cutoff waits for the next day's first wave.
func TestMadeWave(t *testing.T) {
	f := madeFixture(t)
	var wave []string
	for i := range 5 {
		id := fmt.Sprintf("M%d", i)
		o := f.submitMade(id, i+3)
		if !o.ReadyAt.Equal(cst(15, 19, 0)) || !o.PromiseAt.Equal(cst(15, 21, 0)) {
			t.Fatalf("order %s: ready %s, promised %s; want the 19:00 wave by 21:00", id, o.ReadyAt, o.PromiseAt)
		}
		wave = append(wave, id)
		f.advance(450 * time.Second) // the last at 18:30, just in time for the wave
	}
	f.clock.Set(cst(15, 18, 31))
	if o := f.submitMade("N", 9); !o.ReadyAt.Equal(cst(16, 10, 0)) || !o.PromiseAt.Equal(cst(16, 21, 0)) {
		t.Fatalf("order after the cutoff: ready %s, promised %s; want the next day's 10:00 wave by 21:00", o.ReadyAt, o.PromiseAt)
	}

	f.submit("S", 0) // a 1-hour order, dispatched as ever
	st := f.at(cst(15, 18, 31))
	if len(st.Offers) != 1 || !slices.Equal(st.Offers[0].OrderIDs, []string{"S"}) {
		t.Fatalf("first round offered %+v, want the 1-hour order alone", st.Offers)
	}
	if err := f.eng.Accept(context.Background(), st.Offers[0].RiderID, st.Offers[0].TripID); err != nil {
		t.Fatal(err)
	}
	if p := f.eng.Stats().Pending; p != 6 {
		t.Errorf("%d pending before the wave, want the 6 factory orders", p)
	}
	for _, at := range []time.Time{cst(15, 18, 45), cst(15, 18, 59)} {
		st := f.at(at)
		for _, off := range st.Offers {
			if off.StoreID == "F1" {
				t.Fatalf("round at %s before the wave offered %v", at.Format("15:04"), off.OrderIDs)
			}
		}
		if len(st.Cancelled) != 0 {
			t.Fatalf("round at %s before the wave cancelled %v", at.Format("15:04"), st.Cancelled)
		}
	}

	st = f.at(cst(15, 19, 0)) // 60 minutes after the first was placed
	if len(st.Cancelled) != 0 {
		t.Fatalf("cancelled %v at the wave", st.Cancelled)
	}
	var made []dispatch.Offer
	for _, off := range st.Offers {
		if off.StoreID == "F1" {
			made = append(made, off)
		}
	}
	if len(made) != 1 {
		t.Fatalf("offers at the wave: %+v, want one trip from the factory", st.Offers)
	}
	off := made[0]
	got := slices.Clone(off.OrderIDs)
	slices.Sort(got)
	if off.RiderID != "van" || off.StoreID != "F1" || !slices.Equal(got, wave) {
		t.Fatalf("the wave's trip: %s carries %v from %s, want the van with %v", off.RiderID, off.OrderIDs, off.StoreID, wave)
	}
	for i, d := range off.Dropoffs {
		if d.After(cst(15, 21, 0)) {
			t.Errorf("order %s planned at the door at %s, past its promise", off.OrderIDs[i], d)
		}
	}
	if o := f.order("M0"); o.Status == orders.StatusCancelled || o.Delivery != orders.DeliveryOffered {
		t.Errorf("M0 at the wave: %s, %s", o.Status, o.Delivery)
	}
	if p := f.eng.Stats().Pending; p != 1 {
		t.Errorf("%d pending after the wave, want N", p)
	}
}

// TestMadeNextDay places a factory order after the last cutoff: it is
// offered at the next day's first wave and not before.
func TestMadeNextDay(t *testing.T) {
	f := madeFixture(t)
	f.clock.Set(cst(15, 18, 31))
	f.submitMade("N", 4)
	for _, at := range []time.Time{cst(15, 19, 0), cst(15, 23, 0), cst(16, 9, 59)} {
		if st := f.at(at); len(st.Offers) != 0 || len(st.Cancelled) != 0 {
			t.Fatalf("round at %s: offers %+v, cancelled %v", at, st.Offers, st.Cancelled)
		}
	}
	st := f.at(cst(16, 10, 0))
	if len(st.Offers) != 1 || !slices.Equal(st.Offers[0].OrderIDs, []string{"N"}) {
		t.Fatalf("offers at the next day's first wave: %+v", st.Offers)
	}
}

// TestMadeHeldAcrossRestore restarts the dispatcher before the wave: the
// restored order is still held until its wave.
func TestMadeHeldAcrossRestore(t *testing.T) {
	ctx := context.Background()
	f := madeFixture(t)
	f.submitMade("M", 4)
	eng, err := dispatch.New(dispatch.Config{MaxClickToDoor: 60 * time.Minute}, f.repo, geo.DefaultRoadModel(), f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	f.eng = eng
	if st := f.at(cst(15, 18, 59)); len(st.Offers) != 0 || len(st.Cancelled) != 0 {
		t.Fatalf("restored engine before the wave: offers %+v, cancelled %v", st.Offers, st.Cancelled)
	}
	if st := f.at(cst(15, 19, 0)); len(st.Offers) != 1 || !slices.Equal(st.Offers[0].OrderIDs, []string{"M"}) {
		t.Fatalf("restored engine at the wave: offers %+v", st.Offers)
	}
}
