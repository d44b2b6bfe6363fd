package orders_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
)

func TestOrderValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(o *orders.Order)
		field  string // "" when valid
	}{
		{"valid", func(*orders.Order) {}, ""},
		{"free item", func(o *orders.Order) { o.Items[0].PriceCents = 0 }, ""},
		{"ready when placed", func(o *orders.Order) { o.ReadyAt = o.PlacedAt }, ""},
		{"promise before ready", func(o *orders.Order) { o.PromiseAt = o.PlacedAt.Add(time.Minute) }, ""},
		{"no address text", func(o *orders.Order) { o.Address, o.District = "", "" }, ""},
		{"made section", func(o *orders.Order) { o.Section = orders.SectionMade }, ""},
		{"no id", func(o *orders.Order) { o.ID = "" }, "order.id"},
		{"no platform", func(o *orders.Order) { o.Platform = "" }, "order.platform"},
		{"no platform order id", func(o *orders.Order) { o.PlatformOrderID = "" }, "order.platform_order_id"},
		{"no store", func(o *orders.Order) { o.StoreID = "" }, "order.store_id"},
		{"no section", func(o *orders.Order) { o.Section = "" }, "order.section"},
		{"unknown section", func(o *orders.Order) { o.Section = "books" }, "order.section"},
		{"no items", func(o *orders.Order) { o.Items = nil }, "order.items"},
		{"item without sku", func(o *orders.Order) { o.Items[1].SKU = "" }, "order.items[1].sku"},
		{"zero qty", func(o *orders.Order) { o.Items[1].Qty = 0 }, "order.items[1].qty"},
		{"negative qty", func(o *orders.Order) { o.Items[0].Qty = -2 }, "order.items[0].qty"},
		{"negative price", func(o *orders.Order) { o.Items[1].PriceCents = -1 }, "order.items[1].price_cents"},
		{"negative subtotal", func(o *orders.Order) { o.SubtotalCents = -1 }, "order.subtotal_cents"},
		{"negative fee", func(o *orders.Order) { o.DeliveryFeeCents = -500 }, "order.delivery_fee_cents"},
		{"NaN lat", func(o *orders.Order) { o.Dropoff.Lat = math.NaN() }, "order.dropoff.lat"},
		{"infinite lng", func(o *orders.Order) { o.Dropoff.Lng = math.Inf(1) }, "order.dropoff.lng"},
		{"lat out of range", func(o *orders.Order) { o.Dropoff.Lat = 91 }, "order.dropoff.lat"},
		{"lng out of range", func(o *orders.Order) { o.Dropoff.Lng = -180.5 }, "order.dropoff.lng"},
		{"no dropoff", func(o *orders.Order) { o.Dropoff = geo.Point{} }, "order.dropoff"},
		{"no placed time", func(o *orders.Order) { o.PlacedAt = time.Time{} }, "order.placed_at"},
		{"no ready time", func(o *orders.Order) { o.ReadyAt = time.Time{} }, "order.ready_at"},
		{"no promise", func(o *orders.Order) { o.PromiseAt = time.Time{} }, "order.promise_at"},
		{"ready before placed", func(o *orders.Order) { o.ReadyAt = o.PlacedAt.Add(-time.Second) }, "order.ready_at"},
		{"promise before placed", func(o *orders.Order) { o.PromiseAt = o.PlacedAt.Add(-time.Minute) }, "order.promise_at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := orderstest.SampleOrder("o-1")
			tc.change(&o)
			err := o.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			e, ok := err.(*orders.Error)
			if !ok || e.Kind != orders.KindInvalid || e.Field != tc.field {
				t.Fatalf("Validate = %v; want an invalid %s", err, tc.field)
			}
			if !strings.HasPrefix(err.Error(), "invalid "+tc.field+": ") {
				t.Errorf("message %q does not name the field", err.Error())
			}
		})
	}
}

func TestStoreAndRiderValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		field string
	}{
		{"store", orderstest.SampleStore("s").Validate(), ""},
		{"store without id", func() error { s := orderstest.SampleStore(""); return s.Validate() }(), "store.id"},
		{"store section", func() error { s := orderstest.SampleStore("s"); s.Section = "x"; return s.Validate() }(), "store.section"},
		{"store point", func() error { s := orderstest.SampleStore("s"); s.Point = geo.Point{}; return s.Validate() }(), "store.point"},
		{"store prep", func() error { s := orderstest.SampleStore("s"); s.PrepMinutes = math.NaN(); return s.Validate() }(), "store.prep_minutes"},
		{"rider", orderstest.SampleRider("r").Validate(), ""},
		{"rider before first ping", func() error { r := orderstest.SampleRider("r"); r.Point = geo.Point{}; return r.Validate() }(), ""},
		{"rider without id", func() error { r := orderstest.SampleRider(""); return r.Validate() }(), "rider.id"},
		{"rider capacity", func() error { r := orderstest.SampleRider("r"); r.Capacity = 0; return r.Validate() }(), "rider.capacity"},
		{"rider shift", func() error {
			r := orderstest.SampleRider("r")
			r.ShiftEnd = r.ShiftStart.Add(-time.Hour)
			return r.Validate()
		}(), "rider.shift_end"},
		{"rider point", func() error { r := orderstest.SampleRider("r"); r.Point.Lat = 100; return r.Validate() }(), "rider.point.lat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.field == "" {
				if tc.err != nil {
					t.Fatalf("Validate: %v", tc.err)
				}
				return
			}
			if e, ok := tc.err.(*orders.Error); !ok || e.Kind != orders.KindInvalid || e.Field != tc.field {
				t.Fatalf("Validate = %v; want an invalid %s", tc.err, tc.field)
			}
		})
	}
}

func TestSection(t *testing.T) {
	for _, s := range orders.Sections() {
		if !s.Valid() || !strings.HasPrefix(s.Label(), "郑享") {
			t.Errorf("section %q: valid %v, label %q", s, s.Valid(), s.Label())
		}
	}
	if got := orders.SectionFlavours.Label(); got != "郑享百味 Zheng-share Flavours" {
		t.Errorf("flavours label = %q", got)
	}
	if orders.Section("books").Valid() || orders.Section("").Valid() {
		t.Errorf("an unknown section is valid")
	}
}

func TestStatusSets(t *testing.T) {
	for _, s := range orders.OrderStatuses() {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	for _, d := range orders.DeliveryStatuses() {
		if !d.Valid() {
			t.Errorf("%s not valid", d)
		}
	}
	if orders.OrderStatus("DONE").Valid() || orders.DeliveryStatus("LOST").Valid() || orders.Handover("ROOF").Valid() {
		t.Errorf("an unknown status is valid")
	}
	if orders.HandoverInPerson.Contactless() || !orders.HandoverLocker.Contactless() {
		t.Errorf("contactless handovers wrong")
	}
}

func TestOrderKey(t *testing.T) {
	o := orderstest.SampleOrder("o-1")
	o.Platform, o.PlatformOrderID = "jddj", "2020031500017"
	if got := o.Key(); got != "jddj/2020031500017" {
		t.Errorf("Key() = %q", got)
	}
}
