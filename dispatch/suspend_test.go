package dispatch_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// TestRestoreFinishesASuspension restarts a dispatcher that crashed between
// recording a suspension and cancelling its orders: the new engine refuses
// the store's orders, cancels those not picked up with the suspension's
// reason, and notes them on its audit entry; the one on the road stays.
func TestRestoreFinishesASuspension(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, dispatch.Config{})
	f.submit("A", 0)
	if err := f.eng.MerchantAcceptReady(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Minute)
	var trip string
	for range 10 {
		f.round()
		if off, ok := f.eng.Offered("near"); ok {
			trip = off.TripID
			break
		}
		f.advance(time.Minute)
	}
	if trip == "" {
		t.Fatal("no offer to the rider at the store")
	}
	for _, step := range []func(context.Context, string, string) error{f.eng.Accept, f.eng.ArriveAtPickup, f.eng.PickUp} {
		if err := step(ctx, "near", trip); err != nil {
			t.Fatal(err)
		}
	}
	f.submit("B", 10*time.Minute)
	f.submit("C", 10*time.Minute)
	f.round()

	// The crash: the suspension is recorded, its orders are not cancelled.
	entry, err := f.repo.Suspend(ctx, orders.Suspension{StoreID: "S1", Actor: "operator:k1", Reason: "fakes", At: f.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := dispatch.New(dispatch.Config{}, f.repo, geo.DefaultRoadModel(), f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"B", "C"} {
		if o := f.order(id); o.Status != orders.StatusCancelled || o.Reason != "store suspended: fakes" || o.Actor != "operator:k1" {
			t.Errorf("order %s after the restart: %s by %q for %q", id, o.Status, o.Actor, o.Reason)
		}
	}
	if o := f.order("A"); o.Delivery != orders.DeliveryPickedUp {
		t.Errorf("the order on the road: %s", o.Delivery)
	}
	audit, err := f.repo.Audit(ctx, orders.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].ID != entry.ID || !slices.Equal(audit[0].Cancelled, []string{"B", "C"}) {
		t.Errorf("audit after the restart: %+v", audit)
	}
	if _, err := eng.Submit(ctx, orders.Order{Platform: "p", PlatformOrderID: "D", StoreID: "S1", Section: orders.SectionDeals,
		Items: []orders.Item{{SKU: "rice", Name: "rice", Qty: 1, PriceCents: 2000}}, Dropoff: geo.Point{Lat: f.store.Lat - 0.01, Lng: f.store.Lng},
		PlacedAt: f.clock.Now(), ReadyAt: f.clock.Now(), PromiseAt: f.clock.Now().Add(45 * time.Minute)}); !orders.IsKind(err, orders.KindConflict) {
		t.Errorf("an order at the suspended store after the restart: %v, want KindConflict", err)
	}
	if err := eng.DeliverWith(ctx, "near", "A", orders.Dropoff{Handover: orders.HandoverDoor}); err != nil {
		t.Errorf("the drop-off of the order on the road: %v", err)
	}
}

// TestRestoredTicketsTimeOut restarts a dispatcher with an unanswered ticket
// and an accepted one: the unanswered one is auto-cancelled when its time
// runs out, counted from its placement, and the store's miss recorded.
func TestRestoredTicketsTimeOut(t *testing.T) {
	ctx := context.Background()
	cfg := dispatch.Config{AckTimeout: 10 * time.Minute}
	f := newFixture(t, cfg)
	f.submit("A", 20*time.Minute)
	f.submit("B", 20*time.Minute)
	if err := f.eng.MerchantAccept(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	f.advance(4 * time.Minute)
	eng, err := dispatch.New(cfg, f.repo, geo.DefaultRoadModel(), f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	f.advance(5 * time.Minute)
	if st, _ := eng.Round(ctx); len(st.Cancelled) != 0 {
		t.Fatalf("cancelled %v before the timeout", st.Cancelled)
	}
	f.advance(2 * time.Minute)
	st, err := eng.Round(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(st.Cancelled, []string{"A"}) {
		t.Fatalf("the round cancelled %v, want A", st.Cancelled)
	}
	if o := f.order("A"); o.Status != orders.StatusAutoCancelled || o.Reason != dispatch.NoResponse {
		t.Errorf("A: %s for %q", o.Status, o.Reason)
	}
	if o := f.order("B"); o.Status != orders.StatusMerchantAccepted {
		t.Errorf("B: %s", o.Status)
	}
	standing, err := eng.AckStandings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if standing["S1"] != (dispatch.AckStanding{Missed: 1}) {
		t.Errorf("standing of S1: %+v, want one miss, not flagged", standing["S1"])
	}
}
