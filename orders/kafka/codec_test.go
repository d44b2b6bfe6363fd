package kafka_test

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
	"zhengxiang/orders/orderstest"
)

// incoming returns orderstest.SampleOrder(id) as a platform sends it: no ID, no District.
func incoming(id string) orders.Order {
	o := orderstest.SampleOrder(id)
	o.ID, o.District = "", ""
	return o
}

// sameOrder reports the first difference between two orders, comparing times as instants.
func sameOrder(t *testing.T, got, want orders.Order) {
	t.Helper()
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{{"PlacedAt", got.PlacedAt, want.PlacedAt}, {"ReadyAt", got.ReadyAt, want.ReadyAt}, {"PromiseAt", got.PromiseAt, want.PromiseAt}} {
		if !tm.got.Equal(tm.want) {
			t.Errorf("%s = %v, want %v", tm.name, tm.got, tm.want)
		}
	}
	got.PlacedAt, got.ReadyAt, got.PromiseAt = time.Time{}, time.Time{}, time.Time{}
	want.PlacedAt, want.ReadyAt, want.PromiseAt = time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order = %+v\nwant    %+v", got, want)
	}
}

func TestOrderPlacedRoundTrip(t *testing.T) {
	want := incoming("eleme-1")
	for _, ct := range []string{"", kafka.ContentTypeProtobuf, kafka.ContentTypeJSON, "application/json; charset=utf-8", "Application/X-Protobuf"} {
		t.Run(ct, func(t *testing.T) {
			b, err := kafka.EncodeOrderPlaced(want, ct)
			if err != nil {
				t.Fatal(err)
			}
			got, err := kafka.DecodeOrderPlaced(b, ct)
			if err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			sameOrder(t, got, want)
			// The order becomes a valid domain order once the intake gives it an ID.
			got.ID = "O1"
			if err := got.Validate(); err != nil {
				t.Fatalf("decoded order does not validate: %v", err)
			}
		})
	}
}

// placedJSON is a complete OrderPlaced in the JSON mapping, as a platform would send it.
const placedJSON = `{
  "platform": "meituan",
  "platformOrderId": "mt-20200315-0001",
  "storeId": "store-1",
  "section": "SECTION_DEALS",
  "items": [
    {"sku": "rice-5kg", "name": "大米 5kg", "qty": 1, "priceCents": "3990"},
    {"sku": "eggs-30", "name": "鸡蛋 30枚", "qty": 2, "priceCents": 1850}
  ],
  "subtotalCents": "7000",
  "deliveryFeeCents": 300,
  "dropoff": {"lat": 34.757, "lng": 113.64},
  "address": "金水区 花园路 1号",
  "placedAt": "2020-03-15T02:00:00Z",
  "readyAt": "2020-03-15T02:10:00Z",
  "promiseAt": "2020-03-15T02:45:00Z"
}`

// withJSON returns placedJSON with the changes applied: a nil value deletes the key; a dotted
// path reaches into objects and arrays ("items.1.qty", "dropoff.lat").
func withJSON(t *testing.T, changes map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(placedJSON), &m); err != nil {
		t.Fatal(err)
	}
	for path, v := range changes {
		parts := strings.Split(path, ".")
		var parent any = m
		for _, p := range parts[:len(parts)-1] {
			switch x := parent.(type) {
			case map[string]any:
				parent = x[p]
			case []any:
				parent = x[int(p[0]-'0')]
			}
		}
		last := parts[len(parts)-1]
		switch x := parent.(type) {
		case map[string]any:
			if v == nil {
				delete(x, last)
			} else {
				x[last] = v
			}
		case []any:
			x[int(last[0]-'0')] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOrderPlacedDropoffChoice checks that an order carries the consumer's drop-off choice, in
// JSON and through a protobuf round trip.
func TestOrderPlacedDropoffChoice(t *testing.T) {
	o, err := kafka.DecodeOrderPlaced(withJSON(t, map[string]any{"dropoffMethod": "HANDOVER_LOCKER",
		"instructions": " 放东门丰巢 ", "dropoffSiteId": "L-east-1"}), kafka.ContentTypeJSON)
	if err != nil {
		t.Fatal(err)
	}
	if o.DropoffMethod != orders.HandoverLocker || o.Instructions != "放东门丰巢" || o.DropoffSiteID != "L-east-1" {
		t.Fatalf("decoded %s %q at %q, want LOCKER 放东门丰巢 at L-east-1", o.DropoffMethod, o.Instructions, o.DropoffSiteID)
	}
	b, err := kafka.EncodeOrderPlaced(o, "")
	if err != nil {
		t.Fatal(err)
	}
	back, err := kafka.DecodeOrderPlaced(b, "")
	if err != nil {
		t.Fatal(err)
	}
	sameOrder(t, back, o)
}

func TestDecodeOrderPlacedJSON(t *testing.T) {
	o, err := kafka.DecodeOrderPlaced([]byte(placedJSON), kafka.ContentTypeJSON)
	if err != nil {
		t.Fatal(err)
	}
	placed := time.Date(2020, 3, 15, 2, 0, 0, 0, time.UTC)
	want := orders.Order{
		Platform: "meituan", PlatformOrderID: "mt-20200315-0001", StoreID: "store-1", Section: orders.SectionDeals,
		Items: []orders.Item{
			{SKU: "rice-5kg", Name: "大米 5kg", Qty: 1, PriceCents: 3990},
			{SKU: "eggs-30", Name: "鸡蛋 30枚", Qty: 2, PriceCents: 1850},
		},
		SubtotalCents: 7000, DeliveryFeeCents: 300,
		Dropoff: geo.Point{Lat: 34.757, Lng: 113.64}, Address: "金水区 花园路 1号",
		PlacedAt: placed, ReadyAt: placed.Add(10 * time.Minute), PromiseAt: placed.Add(45 * time.Minute),
	}
	sameOrder(t, o, want)
}

// TestDecodedOrdersShareStrings: two orders decoded from separate messages hold one copy of
// what they share (platform, store, products), and each its own platform order id.
func TestDecodedOrdersShareStrings(t *testing.T) {
	var got [2]orders.Order
	for i := range got {
		b := withJSON(t, map[string]any{"platformOrderId": fmt.Sprintf("mt-%d", i)})
		o, err := kafka.DecodeOrderPlaced(b, kafka.ContentTypeJSON)
		if err != nil {
			t.Fatal(err)
		}
		got[i] = o
	}
	a, b := got[0], got[1]
	for _, f := range []struct {
		name string
		a, b string
	}{
		{"platform", a.Platform, b.Platform},
		{"store_id", a.StoreID, b.StoreID},
		{"items[1].sku", a.Items[1].SKU, b.Items[1].SKU},
		{"items[1].name", a.Items[1].Name, b.Items[1].Name},
	} {
		if f.a != f.b || unsafe.StringData(f.a) != unsafe.StringData(f.b) {
			t.Errorf("%s: %q and %q are two copies", f.name, f.a, f.b)
		}
	}
	if a.PlatformOrderID == b.PlatformOrderID {
		t.Errorf("platform order ids %q and %q", a.PlatformOrderID, b.PlatformOrderID)
	}
}

func TestDecodeOrderPlacedDefaults(t *testing.T) {
	b := withJSON(t, map[string]any{"subtotalCents": nil, "section": nil, "readyAt": nil, "promiseAt": nil,
		"address": nil, "deliveryFeeCents": nil, "items.0.name": nil, "storeId": "  store-1 ", "unknownField": 42})
	o, err := kafka.DecodeOrderPlaced(b, kafka.ContentTypeJSON)
	if err != nil {
		t.Fatal(err)
	}
	placed := time.Date(2020, 3, 15, 2, 0, 0, 0, time.UTC)
	switch {
	case o.SubtotalCents != 3990+2*1850:
		t.Errorf("SubtotalCents = %d, want the sum of the items %d", o.SubtotalCents, 3990+2*1850)
	case o.Section != "":
		t.Errorf("Section = %q, want empty (the store's)", o.Section)
	case !o.ReadyAt.IsZero():
		t.Errorf("ReadyAt = %v, want zero (the store's prep)", o.ReadyAt)
	case !o.PromiseAt.Equal(placed.Add(kafka.DefaultPromise)):
		t.Errorf("PromiseAt = %v, want placed_at + %v", o.PromiseAt, kafka.DefaultPromise)
	case o.StoreID != "store-1":
		t.Errorf("StoreID = %q, want it trimmed", o.StoreID)
	case o.Address != "" || o.DeliveryFeeCents != 0 || o.Items[0].Name != "":
		t.Errorf("optional fields = %q, %d, %q; want empty", o.Address, o.DeliveryFeeCents, o.Items[0].Name)
	}

	s := orderstest.SampleStore("store-1")
	full, err := kafka.FillFromStore(o, s)
	if err != nil {
		t.Fatal(err)
	}
	if full.Section != s.Section || !full.ReadyAt.Equal(placed.Add(8*time.Minute)) {
		t.Errorf("FillFromStore: section %q, ready %v; want %q, placed + 8 min", full.Section, full.ReadyAt, s.Section)
	}
	full.ID = "O1"
	if err := full.Validate(); err != nil {
		t.Errorf("completed order does not validate: %v", err)
	}
	o.Section = orders.SectionFlavours
	if _, err := kafka.FillFromStore(o, s); fieldOf(err) != "section" {
		t.Errorf("FillFromStore with another section: %v, want an error on section", err)
	}
	if _, err := kafka.FillFromStore(o, orderstest.SampleStore("store-2")); fieldOf(err) != "store_id" {
		t.Errorf("FillFromStore with another store: %v, want an error on store_id", err)
	}
}

// fieldOf returns the Field of a KindInvalid error, "-" when err is not one.
func fieldOf(err error) string {
	if e, ok := err.(*orders.Error); ok && e.Kind == orders.KindInvalid {
		return e.Field
	}
	return "-"
}

func TestDecodeOrderPlacedInvalid(t *testing.T) {
	nan := incoming("nan")
	nan.Dropoff.Lat = math.NaN()
	nanProto, err := kafka.EncodeOrderPlaced(nan, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		value       []byte
		contentType string
		field       string
	}{
		{"malformed protobuf", []byte{0xff, 0xff, 0xff}, "", ""},
		{"JSON read as protobuf", []byte(placedJSON), kafka.ContentTypeProtobuf, ""},
		{"malformed JSON", []byte(`{"platform": "meituan",`), kafka.ContentTypeJSON, ""},
		{"JSON with a wrong type", withJSON(t, map[string]any{"items.0.qty": "many"}), kafka.ContentTypeJSON, ""},
		{"unknown content type", []byte(placedJSON), "text/plain", ""},
		{"garbled content type", []byte(placedJSON), "application/json; ===", ""},
		{"empty message", nil, "", "platform"},
		{"missing platform", withJSON(t, map[string]any{"platform": nil}), kafka.ContentTypeJSON, "platform"},
		{"missing platform order id", withJSON(t, map[string]any{"platformOrderId": nil}), kafka.ContentTypeJSON, "platform_order_id"},
		{"blank store", withJSON(t, map[string]any{"storeId": "   "}), kafka.ContentTypeJSON, "store_id"},
		{"store id too long", withJSON(t, map[string]any{"storeId": strings.Repeat("s", 129)}), kafka.ContentTypeJSON, "store_id"},
		{"control character in an id", withJSON(t, map[string]any{"platformOrderId": "a\nb"}), kafka.ContentTypeJSON, "platform_order_id"},
		{"unknown section", withJSON(t, map[string]any{"section": 9}), kafka.ContentTypeJSON, "section"},
		{"no items", withJSON(t, map[string]any{"items": []any{}}), kafka.ContentTypeJSON, "items"},
		{"item without sku", withJSON(t, map[string]any{"items.0.sku": nil}), kafka.ContentTypeJSON, "items[0].sku"},
		{"zero quantity", withJSON(t, map[string]any{"items.1.qty": 0}), kafka.ContentTypeJSON, "items[1].qty"},
		{"negative quantity", withJSON(t, map[string]any{"items.1.qty": -3}), kafka.ContentTypeJSON, "items[1].qty"},
		{"huge quantity", withJSON(t, map[string]any{"items.1.qty": 100000}), kafka.ContentTypeJSON, "items[1].qty"},
		{"negative price", withJSON(t, map[string]any{"items.0.priceCents": -1}), kafka.ContentTypeJSON, "items[0].price_cents"},
		{"negative subtotal", withJSON(t, map[string]any{"subtotalCents": -1}), kafka.ContentTypeJSON, "subtotal_cents"},
		{"negative fee", withJSON(t, map[string]any{"deliveryFeeCents": -300}), kafka.ContentTypeJSON, "delivery_fee_cents"},
		{"missing dropoff", withJSON(t, map[string]any{"dropoff": nil}), kafka.ContentTypeJSON, "dropoff"},
		{"dropoff at (0, 0)", withJSON(t, map[string]any{"dropoff": map[string]any{}}), kafka.ContentTypeJSON, "dropoff"},
		{"latitude out of range", withJSON(t, map[string]any{"dropoff.lat": 91}), kafka.ContentTypeJSON, "dropoff.lat"},
		{"NaN latitude in JSON", withJSON(t, map[string]any{"dropoff.lat": "NaN"}), kafka.ContentTypeJSON, "dropoff.lat"},
		{"NaN latitude in protobuf", nanProto, kafka.ContentTypeProtobuf, "dropoff.lat"},
		{"infinite longitude", withJSON(t, map[string]any{"dropoff.lng": "-Infinity"}), kafka.ContentTypeJSON, "dropoff.lng"},
		{"longitude out of range", withJSON(t, map[string]any{"dropoff.lng": 200}), kafka.ContentTypeJSON, "dropoff.lng"},
		{"missing placed_at", withJSON(t, map[string]any{"placedAt": nil}), kafka.ContentTypeJSON, "placed_at"},
		{"placed_at in 1970", withJSON(t, map[string]any{"placedAt": "1970-01-01T00:00:05Z"}), kafka.ContentTypeJSON, "placed_at"},
		{"placed_at in 2200", withJSON(t, map[string]any{"placedAt": "2200-01-01T00:00:00Z"}), kafka.ContentTypeJSON, "placed_at"},
		{"ready before placed", withJSON(t, map[string]any{"readyAt": "2020-03-15T01:59:59Z"}), kafka.ContentTypeJSON, "ready_at"},
		{"promise before placed", withJSON(t, map[string]any{"promiseAt": "2020-03-15T01:00:00Z"}), kafka.ContentTypeJSON, "promise_at"},
		{"address too long", withJSON(t, map[string]any{"address": strings.Repeat("路", 400)}), kafka.ContentTypeJSON, "address"},
		{"unknown drop-off", withJSON(t, map[string]any{"dropoffMethod": 9}), kafka.ContentTypeJSON, "dropoff_method"},
		{"instructions too long", withJSON(t, map[string]any{"instructions": strings.Repeat("门", 67)}), kafka.ContentTypeJSON, "instructions"},
		{"control character in instructions", withJSON(t, map[string]any{"instructions": "东门\u0007"}), kafka.ContentTypeJSON, "instructions"},
		{"locker without a site", withJSON(t, map[string]any{"dropoffMethod": "HANDOVER_LOCKER"}), kafka.ContentTypeJSON, "dropoff_site_id"},
		{"site of a door drop-off", withJSON(t, map[string]any{"dropoffSiteId": "L1"}), kafka.ContentTypeJSON, "dropoff_site_id"},
		{"site id too long", withJSON(t, map[string]any{"dropoffMethod": "HANDOVER_DROP_POINT", "dropoffSiteId": strings.Repeat("s", 129)}),
			kafka.ContentTypeJSON, "dropoff_site_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := kafka.DecodeOrderPlaced(tc.value, tc.contentType)
			if err == nil {
				t.Fatalf("decoded %+v, want an error on %q", o, tc.field)
			}
			if !orders.IsKind(err, orders.KindInvalid) {
				t.Fatalf("error %v has kind %v, want invalid", err, orders.KindOf(err))
			}
			if got := fieldOf(err); got != tc.field {
				t.Fatalf("error %q names field %q, want %q", err, got, tc.field)
			}
		})
	}
}

func TestDecodeOrderPlacedUnknownProtobufFields(t *testing.T) {
	b, err := kafka.EncodeOrderPlaced(incoming("x"), "")
	if err != nil {
		t.Fatal(err)
	}
	// Field 99, varint 1: a field of a newer contract.
	b = append(b, 0x98, 0x06, 0x01)
	if _, err := kafka.DecodeOrderPlaced(b, ""); err != nil {
		t.Fatalf("a message with an unknown field: %v", err)
	}
}

func TestRiderLocation(t *testing.T) {
	at := time.Date(2020, 3, 15, 10, 0, 0, 0, orderstest.Zhengzhou)
	want := kafka.Location{RiderID: "r-1", Point: orderstest.Erqi, At: at, AccuracyM: 12.5}
	for _, ct := range []string{"", kafka.ContentTypeJSON} {
		b, err := kafka.EncodeRiderLocation(want, ct)
		if err != nil {
			t.Fatal(err)
		}
		got, err := kafka.DecodeRiderLocation(b, ct)
		if err != nil {
			t.Fatal(err)
		}
		if got.RiderID != want.RiderID || got.Point != want.Point || !got.At.Equal(at) || got.AccuracyM != want.AccuracyM {
			t.Errorf("%q: got %+v, want %+v", ct, got, want)
		}
	}

	for _, tc := range []struct {
		name  string
		json  string
		field string
	}{
		{"malformed", `{"riderId":`, ""},
		{"missing rider", `{"position":{"lat":34.7,"lng":113.6},"at":"2020-03-15T02:00:00Z"}`, "rider_id"},
		{"missing position", `{"riderId":"r","at":"2020-03-15T02:00:00Z"}`, "position"},
		{"NaN longitude", `{"riderId":"r","position":{"lat":34.7,"lng":"NaN"},"at":"2020-03-15T02:00:00Z"}`, "position.lng"},
		{"latitude out of range", `{"riderId":"r","position":{"lat":-90.5,"lng":113.6},"at":"2020-03-15T02:00:00Z"}`, "position.lat"},
		{"missing time", `{"riderId":"r","position":{"lat":34.7,"lng":113.6}}`, "at"},
		{"negative accuracy", `{"riderId":"r","position":{"lat":34.7,"lng":113.6},"at":"2020-03-15T02:00:00Z","accuracyM":-1}`, "accuracy_m"},
		{"NaN accuracy", `{"riderId":"r","position":{"lat":34.7,"lng":113.6},"at":"2020-03-15T02:00:00Z","accuracyM":"NaN"}`, "accuracy_m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := kafka.DecodeRiderLocation([]byte(tc.json), kafka.ContentTypeJSON)
			if got := fieldOf(err); err == nil || got != tc.field {
				t.Fatalf("decoded %+v, %v (field %q); want an error on %q", l, err, got, tc.field)
			}
		})
	}
}

// TestRiderLocationTimes checks the ping times that the protobuf decoder takes and refuses, and
// that the encoder refuses a time that a Timestamp cannot hold.
func TestRiderLocationTimes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		seconds int64
		nanos   int32
		want    time.Time // zero: refused, on "at"
	}{
		{"in range", 1584237600, 5, time.Unix(1584237600, 5)},
		{"last nanosecond of 2099", 4102444799, 999999999, time.Unix(4102444799, 999999999)},
		{"2100", 4102444800, 0, time.Time{}},
		{"1999", 946684799, 0, time.Time{}},
		{"nanos of a whole second", 1584237600, 1e9, time.Time{}},
		{"negative nanos", 1584237600, -1, time.Time{}},
		{"beyond a Timestamp", math.MaxInt64, 0, time.Time{}},
		{"before a Timestamp", math.MinInt64, 0, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := proto.Marshal(&pb.RiderLocation{RiderId: "r", Position: &pb.LatLng{Lat: 34.7, Lng: 113.6},
				At: &timestamppb.Timestamp{Seconds: tc.seconds, Nanos: tc.nanos}})
			if err != nil {
				t.Fatal(err)
			}
			l, err := kafka.DecodeRiderLocation(b, "")
			switch {
			case tc.want.IsZero() && fieldOf(err) != "at":
				t.Errorf("decoded %+v, %v; want an error on at", l, err)
			case !tc.want.IsZero() && (err != nil || !l.At.Equal(tc.want)):
				t.Errorf("decoded %+v, %v; want at %v", l, err, tc.want)
			}
		})
	}
	for _, at := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)} {
		for _, ct := range []string{"", kafka.ContentTypeJSON} {
			if _, err := kafka.EncodeRiderLocation(kafka.Location{RiderID: "r", Point: orderstest.Erqi, At: at}, ct); fieldOf(err) != "at" {
				t.Errorf("EncodeRiderLocation at %v, %q: %v; want an error on at", at, ct, err)
			}
		}
	}
}

// eventTypes lists every orders.EventType; the test below checks it against the contract.
var eventTypes = []orders.EventType{
	orders.EventOrderCreated, orders.EventTicketSent, orders.EventMerchantAccepted, orders.EventMerchantRejected,
	orders.EventReadyForPickup, orders.EventAutoCancelled, orders.EventOffered, orders.EventOfferDeclined,
	orders.EventOfferExpired, orders.EventAssigned, orders.EventReassigned, orders.EventArrivedAtPickup,
	orders.EventPickedUp, orders.EventArrivedAtDropoff, orders.EventDelivered, orders.EventCancelled,
	orders.EventFailed, orders.EventReturned, orders.EventReceiptConfirmed, orders.EventHandoverCodeRejected,
	orders.EventPickupCodeRejected,
}

// TestEnumsMirrorTheDomain checks that every value of the domain has its enum constant and every
// enum constant its domain value, so that neither side can grow alone.
func TestEnumsMirrorTheDomain(t *testing.T) {
	if n := len(pb.EventType_name) - 1; n != len(eventTypes) {
		t.Errorf("the contract has %d event types, the domain %d", n, len(eventTypes))
	}
	if n := len(pb.OrderStatus_name) - 1; n != len(orders.OrderStatuses()) {
		t.Errorf("the contract has %d order statuses, the domain %d", n, len(orders.OrderStatuses()))
	}
	if n := len(pb.DeliveryStatus_name) - 1; n != len(orders.DeliveryStatuses()) {
		t.Errorf("the contract has %d delivery statuses, the domain %d", n, len(orders.DeliveryStatuses()))
	}
	if n := len(pb.Section_name) - 1; n != len(orders.Sections()) {
		t.Errorf("the contract has %d sections, the domain %d", n, len(orders.Sections()))
	}
	handovers := []orders.Handover{orders.HandoverInPerson, orders.HandoverDoor, orders.HandoverLocker, orders.HandoverDropPoint}
	if n := len(pb.Handover_name) - 1; n != len(handovers) {
		t.Errorf("the contract has %d handovers, the domain %d", n, len(handovers))
	}

	at := orderstest.FestivalStart
	base := orders.Event{OrderID: "O1", Seq: 3, At: at, Status: orders.StatusCreated, Delivery: orders.DeliveryUnassigned}
	var evs []orders.Event
	for _, typ := range eventTypes {
		ev := base
		ev.Type = typ
		evs = append(evs, ev)
	}
	for _, s := range orders.OrderStatuses() {
		ev := base
		ev.Type, ev.Status = orders.EventTicketSent, s
		evs = append(evs, ev)
	}
	for _, d := range orders.DeliveryStatuses() {
		ev := base
		ev.Type, ev.Delivery = orders.EventOffered, d
		evs = append(evs, ev)
	}
	for _, h := range handovers {
		ev := base
		ev.Type, ev.Handover = orders.EventDelivered, h
		evs = append(evs, ev)
	}
	for _, s := range orders.Sections() {
		o := incoming("s")
		o.Section = s
		b, err := kafka.EncodeOrderPlaced(o, "")
		if err != nil {
			t.Fatalf("section %q: %v", s, err)
		}
		got, err := kafka.DecodeOrderPlaced(b, "")
		if err != nil || got.Section != s {
			t.Errorf("section %q came back as %q, %v", s, got.Section, err)
		}
	}
	ref := kafka.OrderRef{Platform: "eleme", PlatformOrderID: "e-1", StoreID: "store-1"}
	for _, ev := range evs {
		b, err := kafka.EncodeEvent(ev, ref)
		if err != nil {
			t.Fatalf("encode %+v: %v", ev, err)
		}
		got, gotRef, err := kafka.DecodeEvent(b, "")
		if err != nil {
			t.Fatalf("decode %+v: %v", ev, err)
		}
		if !got.At.Equal(ev.At) {
			t.Errorf("At = %v, want %v", got.At, ev.At)
		}
		got.At = ev.At
		if got != ev || gotRef != ref {
			t.Errorf("event %+v, %+v came back as %+v, %+v", ev, ref, got, gotRef)
		}
	}
}

func TestEventOfALife(t *testing.T) {
	o, created := orderstest.MustNewOrder(t, orderstest.SampleOrder("O7"))
	offered, err := o.Offer(orderstest.FestivalStart.Add(time.Minute), "r-1", orderstest.FestivalStart.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []orders.Event{created, offered} {
		b, err := kafka.EncodeEvent(ev, kafka.RefOf(o))
		if err != nil {
			t.Fatal(err)
		}
		var m pb.OrderEvent
		if err := proto.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		got, ref, err := kafka.DecodeEvent(b, kafka.ContentTypeProtobuf)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != ev.Type || got.Seq != ev.Seq || got.RiderID != ev.RiderID || !got.ExpiresAt.Equal(ev.ExpiresAt) ||
			ref != (kafka.OrderRef{Platform: "eleme", PlatformOrderID: "O7", StoreID: "store-1"}) {
			t.Errorf("event %+v came back as %+v, %+v", ev, got, ref)
		}
	}
}

func TestEncodeEventInvalid(t *testing.T) {
	good := orders.Event{OrderID: "O1", Seq: 1, Type: orders.EventOrderCreated, At: orderstest.FestivalStart,
		Status: orders.StatusCreated, Delivery: orders.DeliveryUnassigned}
	for _, tc := range []struct {
		name  string
		edit  func(*orders.Event)
		field string
	}{
		{"no order", func(ev *orders.Event) { ev.OrderID = "" }, "event.order_id"},
		{"seq 0", func(ev *orders.Event) { ev.Seq = 0 }, "event.seq"},
		{"unknown type", func(ev *orders.Event) { ev.Type = "TELEPORTED" }, "event.type"},
		{"no type", func(ev *orders.Event) { ev.Type = "" }, "event.type"},
		{"the zero value's name", func(ev *orders.Event) { ev.Type = "UNSPECIFIED" }, "event.type"},
		{"unknown status", func(ev *orders.Event) { ev.Status = "LOST" }, "event.status"},
		{"unknown delivery", func(ev *orders.Event) { ev.Delivery = "" }, "event.delivery"},
		{"unknown handover", func(ev *orders.Event) { ev.Handover = "CHIMNEY" }, "event.handover"},
		{"no time", func(ev *orders.Event) { ev.At = time.Time{} }, "event.at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := good
			tc.edit(&ev)
			if _, err := kafka.EncodeEvent(ev, kafka.OrderRef{}); fieldOf(err) != tc.field {
				t.Fatalf("EncodeEvent: %v, want an error on %s", err, tc.field)
			}
		})
	}
	if _, err := kafka.EncodeEvent(good, kafka.OrderRef{}); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeEventInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, json, field string
	}{
		{"no order", `{"seq":"1","type":"EVENT_TYPE_ORDER_CREATED","at":"2020-03-15T02:00:00Z","status":"ORDER_STATUS_CREATED","delivery":"DELIVERY_STATUS_UNASSIGNED"}`, "order_id"},
		{"no seq", `{"orderId":"O1","type":"EVENT_TYPE_ORDER_CREATED","at":"2020-03-15T02:00:00Z","status":"ORDER_STATUS_CREATED","delivery":"DELIVERY_STATUS_UNASSIGNED"}`, "seq"},
		{"unspecified type", `{"orderId":"O1","seq":"1","at":"2020-03-15T02:00:00Z","status":"ORDER_STATUS_CREATED","delivery":"DELIVERY_STATUS_UNASSIGNED"}`, "type"},
		{"newer type", `{"orderId":"O1","seq":"1","type":77,"at":"2020-03-15T02:00:00Z","status":"ORDER_STATUS_CREATED","delivery":"DELIVERY_STATUS_UNASSIGNED"}`, "type"},
		{"no status", `{"orderId":"O1","seq":"1","type":"EVENT_TYPE_ORDER_CREATED","at":"2020-03-15T02:00:00Z","delivery":"DELIVERY_STATUS_UNASSIGNED"}`, "status"},
		{"no time", `{"orderId":"O1","seq":"1","type":"EVENT_TYPE_ORDER_CREATED","status":"ORDER_STATUS_CREATED","delivery":"DELIVERY_STATUS_UNASSIGNED"}`, "at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := kafka.DecodeEvent([]byte(tc.json), kafka.ContentTypeJSON); fieldOf(err) != tc.field {
				t.Fatalf("DecodeEvent: %v, want an error on %s", err, tc.field)
			}
		})
	}
}

func TestDeadLetterRoundTrip(t *testing.T) {
	want := kafka.DeadLetter{SourceTopic: "orders.placed", Partition: 3, Offset: 1234, Key: []byte("864095497ffffff"),
		Reason: "invalid dropoff.lat: NaN is not a coordinate", Field: "dropoff.lat", Payload: []byte{0, 1, 2, 0xff},
		ContentType: kafka.ContentTypeProtobuf, At: time.Date(2020, 3, 15, 2, 0, 0, 0, time.UTC)}
	b, err := kafka.EncodeDeadLetter(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := kafka.DecodeDeadLetter(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestAreaKey(t *testing.T) {
	if got, want := kafka.AreaKey(orderstest.Erqi), geo.AreaOf(orderstest.Erqi).String(); got != want {
		t.Fatalf("AreaKey(Erqi) = %q, want %q", got, want)
	}
	near := geo.Point{Lat: orderstest.Erqi.Lat + 0.0001, Lng: orderstest.Erqi.Lng}
	if kafka.AreaKey(near) != kafka.AreaKey(orderstest.Erqi) {
		t.Fatalf("two points 11 m apart have different area keys")
	}
	if got := kafka.AreaKey(geo.Point{Lat: math.NaN()}); got != "0" {
		t.Fatalf("AreaKey(NaN) = %q, want \"0\"", got)
	}
}

func TestConfigValidate(t *testing.T) {
	c := kafka.Config{Brokers: []string{" 127.0.0.1:9092 ", ""}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := kafka.Topics{Placed: kafka.TopicPlaced, Locations: kafka.TopicLocations, Events: kafka.TopicEvents, DeadLetter: kafka.TopicDeadLetter}
	switch {
	case !reflect.DeepEqual(c.Brokers, []string{"127.0.0.1:9092"}):
		t.Errorf("Brokers = %q", c.Brokers)
	case c.Topics != want:
		t.Errorf("Topics = %+v, want %+v", c.Topics, want)
	case c.GroupID != kafka.DefaultGroupID || c.ClientID == "" || c.Logger == nil:
		t.Errorf("GroupID %q, ClientID %q, Logger %v: defaults not filled", c.GroupID, c.ClientID, c.Logger)
	case c.BatchTimeout <= 0 || c.BatchTimeout > 50*time.Millisecond || c.BatchSize <= 0:
		t.Errorf("BatchTimeout %v, BatchSize %d: want a few ms and a positive size", c.BatchTimeout, c.BatchSize)
	case c.CommitInterval <= 0 || c.MaxWait <= 0 || c.RetryMin <= 0 || c.RetryMax < c.RetryMin || c.SessionTimeout <= 0:
		t.Errorf("timings not filled: %+v", c)
	}

	for _, tc := range []struct {
		name  string
		cfg   kafka.Config
		field string
	}{
		{"no brokers", kafka.Config{}, "kafka.brokers"},
		{"blank brokers", kafka.Config{Brokers: []string{" ", ""}}, "kafka.brokers"},
		{"no port", kafka.Config{Brokers: []string{"localhost"}}, "kafka.brokers"},
		{"bad topic", kafka.Config{Brokers: []string{"k:9092"}, Topics: kafka.Topics{Events: "orders events"}}, "kafka.topics.events"},
		{"same topic twice", kafka.Config{Brokers: []string{"k:9092"}, Topics: kafka.Topics{DeadLetter: kafka.TopicPlaced}}, "kafka.topics.dead_letter"},
		{"negative wait", kafka.Config{Brokers: []string{"k:9092"}, MaxWait: -time.Second}, "kafka.max_wait"},
		{"retry bounds crossed", kafka.Config{Brokers: []string{"k:9092"}, RetryMin: time.Minute, RetryMax: time.Second}, "kafka.retry_min"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); fieldOf(err) != tc.field {
				t.Fatalf("Validate: %v, want an error on %s", err, tc.field)
			}
		})
	}
	if got := kafka.ParseBrokers(" a:1, ,b:2,"); !reflect.DeepEqual(got, []string{"a:1", "b:2"}) {
		t.Errorf("ParseBrokers = %q", got)
	}
}

// BenchmarkRiderLocationCodec times a rider's ping through the codec: the
// encoding a rider's app does, and the decoding with its checks that the
// intake of riders.locations does for every ping.
func BenchmarkRiderLocationCodec(b *testing.B) {
	l := kafka.Location{RiderID: "F000123", Point: geo.Point{Lat: 34.7566, Lng: 113.6683},
		At: orderstest.FestivalStart.Add(time.Second), AccuracyM: 8}
	v, err := kafka.EncodeRiderLocation(l, kafka.ContentTypeProtobuf)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kafka.EncodeRiderLocation(l, kafka.ContentTypeProtobuf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kafka.DecodeRiderLocation(v, kafka.ContentTypeProtobuf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
