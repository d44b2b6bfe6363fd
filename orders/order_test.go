package orders_test

import (
	"encoding/base64"
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
		{"id with a dot", func(o *orders.Order) { o.ID = "O1.2" }, "order.id"},
		{"secrets", func(o *orders.Order) {
			o.TrackingSecret, o.PickupCode = orders.NewTrackingSecret(), orders.NewPickupCode()
		}, ""},
		{"short tracking secret", func(o *orders.Order) { o.TrackingSecret = "AAAAAAAAAAAAAAAAAAAAA" }, "order.tracking_secret"},
		{"tracking secret not base64url", func(o *orders.Order) { o.TrackingSecret = "AAAAAAAAAAAAAAAAAAAA+/" }, "order.tracking_secret"},
		{"short pickup code", func(o *orders.Order) { o.PickupCode = "12345" }, "order.pickup_code"},
		{"pickup code not digits", func(o *orders.Order) { o.PickupCode = "12345a" }, "order.pickup_code"},
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

func TestNewTrackingSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := orders.NewTrackingSecret()
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if len(s) != 22 || err != nil || len(b) != 16 {
			t.Fatalf("NewTrackingSecret() = %q (%d characters): %d bytes, %v; want 22 characters of 16 bytes", s, len(s), len(b), err)
		}
		if seen[s] {
			t.Fatalf("NewTrackingSecret() returned %q twice", s)
		}
		seen[s] = true
	}
}

func TestNewPickupCode(t *testing.T) {
	const draws = 10000
	var counts [6][10]int // counts[i][d]: draws with digit d at position i
	seen := map[string]bool{}
	for range draws {
		c := orders.NewPickupCode()
		if len(c) != 6 {
			t.Fatalf("NewPickupCode() = %q, not 6 characters", c)
		}
		for i := range 6 {
			if c[i] < '0' || c[i] > '9' {
				t.Fatalf("NewPickupCode() = %q, not 6 digits", c)
			}
			counts[i][c[i]-'0']++
		}
		seen[c] = true
	}
	// Of a million codes, 10000 uniform draws repeat about 50: far fewer distinct codes means a
	// narrow draw.
	if len(seen) < draws*99/100 {
		t.Errorf("%d distinct codes in %d draws", len(seen), draws)
	}
	// Every digit, leading zeros included, turns up at every position about 1000 times; below
	// 800 or above 1200 is over six standard deviations away.
	for i, c := range counts {
		for d, n := range c {
			if n < 800 || n > 1200 {
				t.Errorf("digit %d at position %d in %d of %d codes, want about %d", d, i, n, draws, draws/10)
			}
		}
	}
}

func TestNewOrderSecrets(t *testing.T) {
	a, _ := orderstest.MustNewOrder(t, orderstest.SampleOrder("o-1"))
	b, _ := orderstest.MustNewOrder(t, orderstest.SampleOrder("o-1"))
	for _, o := range []orders.Order{a, b} {
		if len(o.TrackingSecret) != 22 || len(o.PickupCode) != 6 || len(o.HandoverCode) != 6 || o.Validate() != nil {
			t.Fatalf("NewOrder drew tracking secret %q, pickup code %q and hand-over code %q: %v",
				o.TrackingSecret, o.PickupCode, o.HandoverCode, o.Validate())
		}
	}
	if a.TrackingSecret == b.TrackingSecret {
		t.Errorf("two NewOrder calls drew the same tracking secret %q", a.TrackingSecret)
	}
	if !a.CheckHandoverCode(a.HandoverCode) || (a.HandoverCode != b.HandoverCode && a.CheckHandoverCode(b.HandoverCode)) ||
		(orders.Order{}).CheckHandoverCode("") {
		t.Errorf("CheckHandoverCode: an order's own code must match, another's and the empty code must not")
	}
	if !orders.SameContent(a, b) {
		t.Errorf("orders that differ only in their secrets are not SameContent: a resend would clash")
	}

	// A replay or a restore carries its secrets: they are kept.
	in := orderstest.SampleOrder("o-1")
	in.TrackingSecret, in.PickupCode = "abcdefghijklmnopqrstu_", "000042"
	kept, _ := orderstest.MustNewOrder(t, in)
	if kept.TrackingSecret != in.TrackingSecret || kept.PickupCode != in.PickupCode {
		t.Errorf("NewOrder of an order with secrets: %q and %q, want %q and %q kept", kept.TrackingSecret,
			kept.PickupCode, in.TrackingSecret, in.PickupCode)
	}
	in.TrackingSecret = ""
	o, _ := orderstest.MustNewOrder(t, in)
	if o.TrackingSecret == "" || o.PickupCode != "000042" {
		t.Errorf("NewOrder of an order with a pickup code only: %q and %q, want a drawn secret and 000042 kept",
			o.TrackingSecret, o.PickupCode)
	}

	for _, tc := range []struct {
		name, secret, code, field string
	}{
		{"secret of 21 characters", "abcdefghijklmnopqrstu", "", "order.tracking_secret"},
		{"secret of 23 characters", "abcdefghijklmnopqrstuvw", "", "order.tracking_secret"},
		{"padded secret", "abcdefghijklmnopqrst==", "", "order.tracking_secret"},
		{"secret with a dot", "abcdefghijklmnopqrstu.", "", "order.tracking_secret"},
		{"standard base64 secret", "abcdefghijklmnopqrst+/", "", "order.tracking_secret"},
		{"code of 5 digits", "", "12345", "order.pickup_code"},
		{"code of 7 digits", "", "1234567", "order.pickup_code"},
		{"code with a letter", "", "12E456", "order.pickup_code"},
		{"code with a space", "", " 12345", "order.pickup_code"},
		{"code of other digits", "", "١٢٣٤٥٦", "order.pickup_code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := orderstest.SampleOrder("o-1")
			in.TrackingSecret, in.PickupCode = tc.secret, tc.code
			_, _, err := orders.NewOrder(in)
			e, ok := err.(*orders.Error)
			if !ok || e.Kind != orders.KindInvalid || e.Field != tc.field {
				t.Fatalf("NewOrder = %v; want an invalid %s", err, tc.field)
			}
		})
	}
}

func TestTrackingToken(t *testing.T) {
	o, _ := orderstest.MustNewOrder(t, orderstest.SampleOrder("O0123456789abcdef"))
	token := o.TrackingToken()
	if token != "O0123456789abcdef."+o.TrackingSecret {
		t.Fatalf("TrackingToken() = %q, want the id, '.' and the secret %q", token, o.TrackingSecret)
	}
	id, secret, err := orders.ParseTrackingToken(token)
	if err != nil || id != o.ID || secret != o.TrackingSecret || !o.CheckTrackingSecret(secret) {
		t.Errorf("ParseTrackingToken(%q) = %q, %q, %v; want the order's id and secret", token, id, secret, err)
	}
	if got := (orders.Order{ID: "O1"}).TrackingToken(); got != "" {
		t.Errorf("TrackingToken of an order without a secret = %q, want none", got)
	}
}

func TestParseTrackingToken(t *testing.T) {
	const secret = "abcdefghijklmnopqrstu_"
	for _, tc := range []struct {
		name, token, id string // id "" when malformed
	}{
		{"good", "O0123456789abcdef." + secret, "O0123456789abcdef"},
		{"other id", "eleme-1." + secret, "eleme-1"},
		{"empty", "", ""},
		{"no dot", "O1" + secret, ""},
		{"only a dot", ".", ""},
		{"no id", "." + secret, ""},
		{"no secret", "O1.", ""},
		{"two dots between", "O1.." + secret, ""},
		{"dot in the id", "O.1." + secret, ""},
		{"dot after the secret", "O1." + secret + ".", ""},
		{"dot in the secret", "O1." + secret[:10] + "." + secret[11:], ""},
		{"short secret", "O1." + secret[1:], ""},
		{"long secret", "O1." + secret + "A", ""},
		{"padded secret", "O1." + secret[:20] + "==", ""},
		{"standard base64 secret", "O1." + secret[:20] + "+/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, got, err := orders.ParseTrackingToken(tc.token)
			if tc.id != "" {
				if err != nil || id != tc.id || got != secret {
					t.Errorf("ParseTrackingToken(%q) = %q, %q, %v; want %q, %q", tc.token, id, got, err, tc.id, secret)
				}
				return
			}
			e, ok := err.(*orders.Error)
			if !ok || e.Kind != orders.KindInvalid || e.Field != "token" {
				t.Fatalf("ParseTrackingToken(%q) = %q, %q, %v; want an invalid token", tc.token, id, got, err)
			}
			if id != "" || got != "" {
				t.Errorf("ParseTrackingToken(%q) returned %q, %q with its error", tc.token, id, got)
			}
			if len(tc.token) > 1 && strings.Contains(err.Error(), tc.token) {
				t.Errorf("error %q repeats the token", err)
			}
		})
	}
}

func TestCheckSecrets(t *testing.T) {
	o := orderstest.SampleOrder("o-1")
	o.TrackingSecret, o.PickupCode = "abcdefghijklmnopqrstu_", "012345"
	for _, tc := range []struct {
		name, secret string
		want         bool
	}{
		{"right", "abcdefghijklmnopqrstu_", true},
		{"last character", "abcdefghijklmnopqrstu-", false},
		{"first character", "Abcdefghijklmnopqrstu_", false},
		{"prefix", "abcdefghijklmnopqrstu", false},
		{"longer", "abcdefghijklmnopqrstu_a", false},
		{"empty", "", false},
	} {
		if got := o.CheckTrackingSecret(tc.secret); got != tc.want {
			t.Errorf("CheckTrackingSecret, %s: %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name, code string
		want       bool
	}{
		{"right", "012345", true},
		{"last digit", "012346", false},
		{"leading zero dropped", "12345", false},
		{"as a number", "0012345", false},
		{"empty", "", false},
	} {
		if got := o.CheckPickupCode(tc.code); got != tc.want {
			t.Errorf("CheckPickupCode, %s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// An order without secrets (stored before they existed) matches nothing, not even "".
	var none orders.Order
	if none.CheckTrackingSecret("") || none.CheckPickupCode("") {
		t.Errorf("an order without secrets matched the empty secret or code")
	}
}
