package sim_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/dispatch/sim"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

// TestCardsEveryDay: with an engine that offers trips only to riders with a
// card of the day, a simulated rider records one as its shift starts and
// again at midnight (China Standard Time), so that it is offered the orders
// of both days of a shift across midnight.
func TestCardsEveryDay(t *testing.T) {
	ctx := context.Background()
	on := time.Date(2020, 3, 15, 22, 0, 0, 0, orders.CST)
	clock := dispatch.NewManualClock(on)
	travel := geo.DefaultRoadModel()
	eng, err := dispatch.New(dispatch.Config{RoundEvery: 15 * time.Second, RequireHealthCard: true}, memory.NewRepository(nil), travel, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := sim.New(eng, clock, travel, sim.Behaviour{AnswerDelay: 10 * time.Second, MerchantDelay: time.Minute, PingEvery: 30 * time.Second, Seed: 1})
	centre := geo.Point{Lat: 34.7566, Lng: 113.6683}
	if err := s.AddStore(ctx, orders.Store{ID: "S1", Name: "S1", Section: orders.SectionFlavours, Point: centre, PrepMinutes: 10}); err != nil {
		t.Fatal(err)
	}
	s.AddRider(sim.Rider{ID: "R1", Start: centre, On: on, Off: on.Add(4 * time.Hour), Capacity: 1})
	// One order an hour before midnight, one an hour after.
	for i, placed := range []time.Time{on.Add(time.Hour), on.Add(3 * time.Hour)} {
		s.AddOrder(sim.Order{Order: orders.Order{
			ID: fmt.Sprintf("O%d", i), Platform: "p", PlatformOrderID: fmt.Sprint(i), StoreID: "S1", Section: orders.SectionFlavours,
			Items:   []orders.Item{{SKU: "a", Name: "a", Qty: 1, PriceCents: 100}},
			Dropoff: geo.Point{Lat: centre.Lat - 0.01, Lng: centre.Lng}, PlacedAt: placed,
			ReadyAt: placed.Add(5 * time.Minute), PromiseAt: placed.Add(45 * time.Minute),
		}})
	}
	res, err := s.Run(ctx, on.Add(4*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Orders) != 2 {
		t.Fatalf("%d orders, want 2", len(res.Orders))
	}
	for _, o := range res.Orders {
		if !o.Delivered || o.RiderID != "R1" {
			t.Errorf("order %s placed %s: delivered %v by %q, want delivered by R1", o.ID, o.Placed.In(orders.CST).Format("15:04"), o.Delivered, o.RiderID)
		}
	}
}
