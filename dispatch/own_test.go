package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

// TestOwnSplitsAreasAndTakesOver runs two engines on one record, each owning
// one half of the city (west and east of a meridian): each offers only its
// half's orders, only to its half's riders; then the east engine takes over
// the whole city and reads back the west's pending orders from the record.
func TestOwnSplitsAreasAndTakesOver(t *testing.T) {
	ctx := context.Background()
	repo := memory.NewRepository(memory.NewStream(1 << 12))
	clock := dispatch.NewManualClock(t0)
	travel := geo.DefaultRoadModel()
	const meridian = 113.66
	west := func(p geo.Point) bool { return p.Lng < meridian }
	east := func(p geo.Point) bool { return p.Lng >= meridian }
	newEngine := func() *dispatch.Engine {
		e, err := dispatch.New(dispatch.Config{RoundEvery: 15 * time.Second}, repo, travel, clock, nil)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b := newEngine(), newEngine()

	stores := map[bool]geo.Point{true: {Lat: 34.75, Lng: 113.63}, false: {Lat: 34.75, Lng: 113.69}} // west: true
	for w, p := range stores {
		id := map[bool]string{true: "SW", false: "SE"}[w]
		if err := a.AddStore(ctx, orders.Store{ID: id, Name: id, Section: orders.SectionFlavours, Point: p, PrepMinutes: 5}); err != nil {
			t.Fatal(err)
		}
	}
	// Riders on shift in the record, two per half, near their half's store.
	for i := range 4 {
		w := i%2 == 0
		p := geo.Point{Lat: stores[w].Lat + 0.002*float64(i), Lng: stores[w].Lng}
		if err := repo.PutRider(ctx, orders.Rider{ID: fmt.Sprintf("R%d", i), Capacity: 1, OnShift: true, Point: p,
			ShiftStart: t0, ShiftEnd: t0.Add(8 * time.Hour), LastPing: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Own(ctx, west); err != nil {
		t.Fatal(err)
	}
	if err := b.Own(ctx, east); err != nil {
		t.Fatal(err)
	}
	// Three orders per half, placed through the engine that owns the half.
	place := func(e *dispatch.Engine, w bool, i int) string {
		st := map[bool]string{true: "SW", false: "SE"}[w]
		drop := geo.Point{Lat: stores[w].Lat + 0.004, Lng: stores[w].Lng + 0.001*float64(i%3)}
		o, err := e.Submit(ctx, orders.Order{Platform: "p", PlatformOrderID: fmt.Sprintf("%s-%d", st, i), StoreID: st,
			Section: orders.SectionFlavours, Items: []orders.Item{{SKU: "a", Name: "a", Qty: 1, PriceCents: 100}},
			Dropoff: drop, PlacedAt: clock.Now(), ReadyAt: clock.Now(), PromiseAt: clock.Now().Add(45 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	var westIDs, eastIDs []string
	for i := range 3 {
		westIDs = append(westIDs, place(a, true, i))
		eastIDs = append(eastIDs, place(b, false, i))
	}
	riderWest := map[string]bool{"R0": true, "R2": true, "R1": false, "R3": false}
	offered := func(e *dispatch.Engine, want bool) int {
		st, err := e.Round(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, off := range st.Offers {
			if riderWest[off.RiderID] != want {
				t.Errorf("rider %s of the other half got an offer", off.RiderID)
			}
			for _, id := range off.OrderIDs {
				o, err := repo.GetOrder(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if west(o.Dropoff) != want {
					t.Errorf("order %s of the other half was offered", id)
				}
				n++
			}
		}
		return n
	}
	if n := offered(a, true); n == 0 {
		t.Error("the west engine offered nothing")
	}
	if n := offered(b, false); n == 0 {
		t.Error("the east engine offered nothing")
	}

	// The west engine stops; the east one takes the whole city, and with it
	// the west's orders and riders as the record has them.
	a.Pause(true)
	if err := b.Own(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := b.Stats().Riders; got != 4 {
		t.Errorf("after the takeover the engine has %d riders, want 4", got)
	}
	clock.Set(clock.Now().Add(15 * time.Second))
	st, err := b.Round(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The open offers were renewed by the takeover: the west's orders are
	// offered again, now by the east engine, to the west's riders.
	westOffered := 0
	for _, off := range st.Offers {
		for _, id := range off.OrderIDs {
			if o, _ := repo.GetOrder(ctx, id); west(o.Dropoff) {
				westOffered++
				if !riderWest[off.RiderID] {
					t.Errorf("west order %s offered to east rider %s", id, off.RiderID)
				}
			}
		}
	}
	if westOffered == 0 {
		t.Error("after the takeover no west order was offered")
	}
	if st, _ := a.Round(ctx); len(st.Offers) != 0 {
		t.Errorf("the paused engine offered %d trips", len(st.Offers))
	}
	for _, id := range append(westIDs, eastIDs...) {
		o, err := repo.GetOrder(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Active() {
			t.Errorf("order %s ended: %s", id, o.Status)
		}
	}
}
