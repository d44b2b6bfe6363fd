// Package orderstest holds what the tests of orders and of its adapters share: sample stores,
// riders and orders, and RunRepositoryContract, the suite that every orders.Repository passes.
package orderstest

import (
	"testing"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// Zhengzhou is the city's time zone, China Standard Time.
var Zhengzhou = time.FixedZone("CST", 8*60*60)

// FestivalStart is 10:00 on the first day of the 春暖郑州 shopping festival, 15 March 2020. The
// samples' times are counted from it.
var FestivalStart = time.Date(2020, 3, 15, 10, 0, 0, 0, Zhengzhou)

// Erqi is the 二七塔 (Erqi Memorial Tower) in the city centre.
var Erqi = geo.Point{Lat: 34.7466, Lng: 113.6253}

// SampleStore returns a valid supermarket near the Erqi Tower.
func SampleStore(id string) orders.Store {
	return orders.Store{ID: id, Name: "丹尼斯 " + id, District: "二七区", Section: orders.SectionDeals,
		Point: Erqi, PrepMinutes: 8}
}

// SampleRider returns a valid rider on an eight-hour shift from FestivalStart.
func SampleRider(id string) orders.Rider {
	return orders.Rider{ID: id, Name: "骑手 " + id, Capacity: 3,
		ShiftStart: FestivalStart, ShiftEnd: FestivalStart.Add(8 * time.Hour),
		Point: Erqi, LastPing: FestivalStart, OnShift: true}
}

// SampleOrder returns a valid incoming order of platform "eleme" at store "store-1", placed at
// FestivalStart, with id as both its ID and its platform order id.
func SampleOrder(id string) orders.Order {
	return orders.Order{
		ID: id, Platform: "eleme", PlatformOrderID: id, StoreID: "store-1", Section: orders.SectionDeals,
		Items: []orders.Item{
			{SKU: "rice-5kg", Name: "大米 5kg", Qty: 1, PriceCents: 3990},
			{SKU: "eggs-30", Name: "鸡蛋 30枚", Qty: 2, PriceCents: 1850},
		},
		SubtotalCents: 7690, DeliveryFeeCents: 0,
		Dropoff: geo.Point{Lat: 34.7570, Lng: 113.6400}, Address: "金水区 花园路 1号", District: "金水区",
		PlacedAt: FestivalStart, ReadyAt: FestivalStart.Add(10 * time.Minute),
		PromiseAt: FestivalStart.Add(60 * time.Minute),
	}
}

// MustNewOrder starts o's life with orders.NewOrder and fails the test if it is invalid.
func MustNewOrder(tb testing.TB, o orders.Order) (orders.Order, orders.Event) {
	tb.Helper()
	n, ev, err := orders.NewOrder(o)
	if err != nil {
		tb.Fatalf("NewOrder(%s): %v", o.ID, err)
	}
	return n, ev
}

// SameEvent reports whether two events are equal with their times compared as instants, so that
// an event read back from a store, in another time zone, matches the one written.
func SameEvent(a, b orders.Event) bool { return sameEvent(a, b) }

// MustPlacement starts o's life with orders.NewOrder, takes it through steps (SendTicket, ...)
// and returns it as an orders.Placement with all its events; it fails the test if a step
// fails.
func MustPlacement(tb testing.TB, o orders.Order, steps ...func(o *orders.Order) (orders.Event, error)) orders.Placement {
	tb.Helper()
	n, ev := MustNewOrder(tb, o)
	p := orders.Placement{Order: n, Events: []orders.Event{ev}}
	for i, step := range steps {
		ev, err := step(&p.Order)
		if err != nil {
			tb.Fatalf("placement %s: step %d: %v", o.ID, i+1, err)
		}
		p.Events = append(p.Events, ev)
	}
	return p
}
