package dispatch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"zhengxiang/dispatch"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

// cardStore is the store of the health card tests.
var cardStore = orders.Store{ID: "S1", Name: "S1", Section: orders.SectionFlavours, Point: geo.Point{Lat: 34.75, Lng: 113.63}, PrepMinutes: 5}

// newCardEngine returns an engine that requires health cards, over repo and
// clock.
func newCardEngine(t *testing.T, repo orders.Repository, clock dispatch.Clock) *dispatch.Engine {
	t.Helper()
	cfg := dispatch.Config{RoundEvery: 15 * time.Second, RequireHealthCard: true}
	e, err := dispatch.New(cfg, repo, geo.DefaultRoadModel(), clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// restoredCardEngine returns an engine like newCardEngine's that has read
// back what repo holds (Restore), as a dispatcher does when it starts.
func restoredCardEngine(t *testing.T, repo orders.Repository, clock dispatch.Clock) *dispatch.Engine {
	t.Helper()
	e := newCardEngine(t, repo, clock)
	if err := e.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

// riderOnShift returns an engine like newCardEngine's with cardStore and
// rider R1 on shift there for four hours, without a card.
func riderOnShift(t *testing.T, repo orders.Repository, clock dispatch.Clock) *dispatch.Engine {
	t.Helper()
	ctx := context.Background()
	e := newCardEngine(t, repo, clock)
	if err := e.AddStore(ctx, cardStore); err != nil {
		t.Fatal(err)
	}
	if err := e.StartShift(ctx, orders.Rider{ID: "R1", Capacity: 3, Point: cardStore.Point, ShiftEnd: clock.Now().Add(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return e
}

// submitReady places an order of cardStore, ready now, with the key given.
func submitReady(t *testing.T, e *dispatch.Engine, now time.Time, key string) {
	t.Helper()
	ctx := context.Background()
	o, err := e.Submit(ctx, orders.Order{Platform: "p", PlatformOrderID: key, StoreID: cardStore.ID,
		Section: orders.SectionFlavours, Items: []orders.Item{{SKU: "a", Qty: 1, PriceCents: 100}}, SubtotalCents: 100,
		Dropoff: geo.Point{Lat: 34.755, Lng: 113.635}, PlacedAt: now, ReadyAt: now, PromiseAt: now.Add(40 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.MerchantAcceptReady(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
}

// offerWithin pings R1 at the store and runs a round, up to rounds times
// with step between them on clock, and returns the first offer R1 gets.
func offerWithin(t *testing.T, e *dispatch.Engine, clock *dispatch.ManualClock, rounds int, step time.Duration) (dispatch.Offer, bool) {
	t.Helper()
	for range rounds {
		if err := e.Ping("R1", cardStore.Point); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Round(context.Background()); err != nil {
			t.Fatal(err)
		}
		if off, ok := e.Offered("R1"); ok {
			return off, true
		}
		clock.Set(clock.Now().Add(step))
	}
	return dispatch.Offer{}, false
}

// TestHealthCardRestoredAndDaily: an engine that requires health cards
// reads the riders' cards of the day back from the record when it restarts,
// and a card lasts its day: after midnight (China Standard Time) the rider
// is offered nothing until it records the new day's card.
func TestHealthCardRestoredAndDaily(t *testing.T) {
	ctx := context.Background()
	repo := memory.NewRepository(nil)
	day := orders.DayOf(t0).AddDays(1)
	clock := dispatch.NewManualClock(day.Start().Add(22 * time.Hour)) // 22:00
	first := riderOnShift(t, repo, clock)
	if _, err := first.RecordHealthCard(ctx, "R1", 36.5, orders.HealthGreen); err != nil {
		t.Fatal(err)
	}

	// The dispatcher restarts: the card comes back with the rider.
	e := restoredCardEngine(t, repo, clock)
	n := 0
	offered := func(rounds int) bool {
		t.Helper()
		n++
		submitReady(t, e, clock.Now(), "o"+strings.Repeat("x", n))
		off, ok := offerWithin(t, e, clock, rounds, time.Minute)
		if ok {
			if err := e.Decline(ctx, "R1", off.TripID); err != nil {
				t.Fatal(err)
			}
		}
		return ok
	}
	if !offered(10) {
		t.Fatal("R1, whose card was recorded before the restart, got no offer")
	}
	// Past midnight the card is yesterday's.
	clock.Set(day.AddDays(1).Start().Add(time.Minute))
	if offered(10) {
		t.Fatal("R1 was offered a trip with yesterday's card")
	}
	if _, err := e.RecordHealthCard(ctx, "R1", 36.7, orders.HealthGreen); err != nil {
		t.Fatal(err)
	}
	if !offered(10) {
		t.Fatal("R1 got no offer with the new day's card")
	}
	// An engine that requires cards needs a record that keeps them.
	cfg := dispatch.Config{RoundEvery: 15 * time.Second, RequireHealthCard: true}
	if _, err := dispatch.New(cfg, noCards{repo}, geo.DefaultRoadModel(), clock, nil); err == nil {
		t.Fatal("New requires cards over a record without them")
	}
}

// noCards is a record that keeps no health cards.
type noCards struct{ orders.Repository }

// TestHealthCardOfNewDayFromRecord: at midnight a dispatcher reads the new
// day's cards from the record, so a card recorded through another
// dispatcher serving the same record counts.
func TestHealthCardOfNewDayFromRecord(t *testing.T) {
	ctx := context.Background()
	repo := memory.NewRepository(nil)
	day := orders.DayOf(t0).AddDays(1)
	clock := dispatch.NewManualClock(day.Start().Add(23*time.Hour + 50*time.Minute))
	e := riderOnShift(t, repo, clock)
	if _, err := e.RecordHealthCard(ctx, "R1", 36.5, orders.HealthGreen); err != nil {
		t.Fatal(err)
	}
	other := restoredCardEngine(t, repo, clock)

	clock.Set(day.AddDays(1).Start().Add(time.Minute))
	if _, err := other.RecordHealthCard(ctx, "R1", 36.6, orders.HealthGreen); err != nil {
		t.Fatal(err)
	}
	submitReady(t, e, clock.Now(), "o1")
	if _, ok := offerWithin(t, e, clock, 10, time.Minute); !ok {
		t.Fatal("R1 got no offer after midnight with the new day's card recorded through another dispatcher")
	}
}

// TestHealthCardRecordedElsewhereDuringTheDay: a rider on shift with one
// engine records the day's card through another engine serving the same
// record, well after midnight and the engines' start; the first engine's
// rounds find the card within a minute and offer the rider orders.
func TestHealthCardRecordedElsewhereDuringTheDay(t *testing.T) {
	ctx := context.Background()
	repo := memory.NewRepository(nil)
	day := orders.DayOf(t0).AddDays(1)
	clock := dispatch.NewManualClock(day.Start().Add(9 * time.Hour))
	e := riderOnShift(t, repo, clock)
	other := restoredCardEngine(t, repo, clock)
	submitReady(t, e, clock.Now(), "o1")
	if _, ok := offerWithin(t, e, clock, 1, 0); ok {
		t.Fatal("R1 was offered an order without a card")
	}

	clock.Set(clock.Now().Add(time.Hour))
	if _, err := other.RecordHealthCard(ctx, "R1", 36.6, orders.HealthGreen); err != nil {
		t.Fatal(err)
	}
	clock.Set(clock.Now().Add(15 * time.Second))
	if _, ok := offerWithin(t, e, clock, 4, 15*time.Second); !ok {
		t.Fatal("R1 got no offer within a minute of recording its card through another dispatcher")
	}
}
