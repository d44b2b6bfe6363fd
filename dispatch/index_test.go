package dispatch

import (
	"context"
	"math"
	"testing"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

// TestRoundIndexFollowsChangesAndTime: the round's indexes take in the riders
// changed since the last round, and a rider whose turn comes with time alone
// (a trip that ends within the horizon) without anything touching it.
func TestRoundIndexFollowsChangesAndTime(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2020, 3, 15, 10, 0, 0, 0, time.UTC)
	e, err := New(Config{Horizon: 2 * time.Minute}, memory.NewRepository(nil), geo.DefaultRoadModel(), NewManualClock(start), nil)
	if err != nil {
		t.Fatal(err)
	}
	store := geo.Point{Lat: 34.7566, Lng: 113.6683}
	door := geo.Point{Lat: 34.7466, Lng: 113.6683}
	for _, id := range []string{"a", "b"} {
		if err := e.StartShift(ctx, orders.Rider{ID: id, Capacity: 2, Point: store}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := e.riders["a"], e.riders["b"]

	// b rides a trip whose last drop-off is 10 minutes away: beyond the
	// 2-minute horizon, b may not take another yet.
	e.mu.Lock()
	o := &orderState{id: "X", store: &storeState{id: "S1", point: store}, drop: door, readyAt: 0}
	tr := &trip{id: "T1", rider: b, store: o.store, orders: []*orderState{o}, state: tripAssigned, drops: []float64{10}, arrived: math.NaN()}
	o.trip = tr
	e.trips[tr.id] = tr
	b.plan = []*trip{tr}
	e.touch(b)
	free, chained := e.roundIndex(0)
	e.mu.Unlock()
	end := tr.end(e.travel)
	if a.in != roundFree || a.inAt != store || free.Len() != 1 {
		t.Fatalf("a: in %d at %v, %d free; want free at the store", a.in, a.inAt, free.Len())
	}
	if b.in != roundNone || chained.Len() != 0 || b.recheck != end-2 {
		t.Fatalf("b: in %d, %d chained, recheck %v; want none until %v", b.in, chained.Len(), b.recheck, end-2)
	}

	// A ping within GPS noise (some 22 m) of where the index has a leaves
	// it there; a's own position follows the ping.
	near := geo.Point{Lat: store.Lat + 0.0002, Lng: store.Lng}
	if errs := e.PingMany([]string{"a"}, []geo.Point{near}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	e.lock()
	e.roundIndex(end - 2.6)
	e.mu.Unlock()
	if a.in != roundFree || a.inAt != store || a.pos != near {
		t.Fatalf("a after a ping 22 m away: in %d at %v, position %v; want free at the store, position %v", a.in, a.inAt, a.pos, near)
	}

	// a's ping moves it in the free index; nothing touches b.
	moved := geo.Point{Lat: store.Lat + 0.001, Lng: store.Lng}
	if errs := e.PingMany([]string{"a"}, []geo.Point{moved}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	e.lock()
	e.roundIndex(end - 2.5)
	e.mu.Unlock()
	if a.in != roundFree || a.inAt != moved {
		t.Fatalf("a after its ping: in %d at %v, want free at %v", a.in, a.inAt, moved)
	}
	if b.in != roundNone {
		t.Fatalf("b half a minute before its turn: in %d, want none", b.in)
	}

	// Time alone brings b's turn: from the end of its trip's last drop-off.
	e.lock()
	_, chained = e.roundIndex(end - 1.9)
	e.mu.Unlock()
	if b.in != roundChained || b.inAt != door || chained.Len() != 1 {
		t.Fatalf("b at its turn: in %d at %v, %d chained; want chained at the door", b.in, b.inAt, chained.Len())
	}
	if p, from, ok := e.avail(b, end-1.9); !ok || p != door || from != end {
		t.Fatalf("avail(b) = %v, %v, %v; want the door from %v", p, from, ok, end)
	}

	// An offer takes a out of the free index at the next round.
	e.lock()
	a.offer = &trip{id: "T2", rider: a}
	e.touch(a)
	free, _ = e.roundIndex(end - 1.8)
	e.mu.Unlock()
	if a.in != roundNone || free.Len() != 0 {
		t.Fatalf("a with an offer: in %d, %d free; want none", a.in, free.Len())
	}
}
