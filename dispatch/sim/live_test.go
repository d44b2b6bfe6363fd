package sim_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/dispatch/sim"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

// TestLiveFleet runs the engine and a live fleet on a clock 600 times the
// wall clock, feeds orders from another goroutine as an intake would, and
// waits until every order is delivered.
func TestLiveFleet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream := memory.NewStream(1024)
	repo := memory.NewRepository(stream)
	clock := dispatch.NewScaledClock(time.Date(2020, 3, 15, 11, 0, 0, 0, time.UTC), 600)
	travel := geo.DefaultRoadModel()
	eng, err := dispatch.New(dispatch.Config{RoundEvery: 10 * time.Second, Reassign: true}, repo, travel, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	fleet := sim.NewLive(eng, clock, travel, sim.Behaviour{AnswerDelay: 5 * time.Second, MerchantDelay: 30 * time.Second, PingEvery: 30 * time.Second, DeclineProb: 0.1, Seed: 1}, nil)
	centre := geo.Point{Lat: 34.7566, Lng: 113.6683}
	if err := eng.AddStore(ctx, orders.Store{ID: "S1", Name: "S1", Section: orders.SectionFlavours, Point: centre, PrepMinutes: 10}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = eng.Run(ctx, fleet.Round) }()
	go func() { defer wg.Done(); _ = fleet.RunLive(ctx) }()
	for i := 0; i < 5; i++ {
		fleet.StartRider(sim.Rider{ID: fmt.Sprintf("R%d", i), Start: geo.Point{Lat: centre.Lat + 0.005*float64(i), Lng: centre.Lng}, On: clock.Now(), Off: clock.Now().Add(8 * time.Hour), Capacity: 3})
	}
	ch := stream.Subscribe(ctx, true)
	const n = 12
	for i := 0; i < n; i++ {
		now := clock.Now()
		o, err := eng.Submit(ctx, orders.Order{
			ID: fmt.Sprintf("O%d", i), Platform: "p", PlatformOrderID: fmt.Sprint(i), StoreID: "S1", Section: orders.SectionFlavours,
			Items:    []orders.Item{{SKU: "a", Name: "a", Qty: 1, PriceCents: 100}},
			Dropoff:  geo.Point{Lat: centre.Lat - 0.01, Lng: centre.Lng + 0.002*float64(i)},
			PlacedAt: now, ReadyAt: now.Add(8 * time.Minute), PromiseAt: now.Add(45 * time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		fleet.Placed(o)
	}
	delivered := map[string]bool{}
	seen := map[orders.EventType]int{}
	for len(delivered) < n {
		select {
		case ev := <-ch:
			seen[ev.Type]++
			if ev.Type == orders.EventDelivered {
				delivered[ev.OrderID] = true
			}
		case <-ctx.Done():
			t.Fatalf("delivered %d of %d before the deadline; events %v", len(delivered), n, seen)
		}
	}
	cancel()
	wg.Wait()
}
