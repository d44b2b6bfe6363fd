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
