package dispatch

import (
	"context"
	"strings"
	"testing"
	"time"
	"unsafe"

	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/memory"
)

// TestCardSharesStrings: the card a rider keeps holds no strings of its own.
// Its rider id is the rider's, and its code is the constant, whatever
// strings the record handed over: a city's riders keep their cards for the
// whole shift.
func TestCardSharesStrings(t *testing.T) {
	ctx := context.Background()
	clock := NewManualClock(time.Date(2020, 3, 15, 10, 0, 0, 0, time.UTC))
	e, err := New(Config{RequireHealthCard: true}, memory.NewRepository(nil), geo.DefaultRoadModel(), clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.StartShift(ctx, orders.Rider{ID: "R1", Capacity: 2, Point: geo.Point{Lat: 34.75, Lng: 113.63}}); err != nil {
		t.Fatal(err)
	}
	for _, code := range []orders.HealthCode{orders.HealthYellow, orders.HealthGreen, orders.HealthRed} {
		// Strings of their own, as a database row or a request brings them.
		id, own := strings.Clone("R1"), orders.HealthCode(strings.Clone(string(code)))
		clock.Set(clock.Now().Add(time.Minute))
		if _, err := e.RecordHealthCard(ctx, id, 36.5, own); err != nil {
			t.Fatal(err)
		}
		r := e.riders["R1"]
		c := r.prot.card
		if c.Code != code || c.RiderID != "R1" {
			t.Fatalf("card %+v, want R1 with %s", c, code)
		}
		if unsafe.StringData(c.RiderID) != unsafe.StringData(r.id) {
			t.Errorf("%s: the card's rider id is a string of its own", code)
		}
		if unsafe.StringData(string(c.Code)) != unsafe.StringData(string(code)) {
			t.Errorf("%s: the card's code is a string of its own", code)
		}
	}
}
