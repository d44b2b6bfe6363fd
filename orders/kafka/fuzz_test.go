package kafka_test

import (
	"math"
	"testing"

	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
)

// FuzzDecodeOrderPlaced feeds arbitrary bytes to DecodeOrderPlaced, as protobuf or as JSON. It
// must never panic; an error must be KindInvalid; an order it accepts must be valid once it has an
// ID and its store's data, and must survive a round trip through EncodeOrderPlaced unchanged. The
// seed corpus is in testdata/fuzz/FuzzDecodeOrderPlaced.
func FuzzDecodeOrderPlaced(f *testing.F) {
	locker := incoming("eleme-2")
	locker.DropoffMethod, locker.DropoffSiteID, locker.Instructions = orders.HandoverLocker, "L-east-1", "放东门丰巢"
	for _, o := range []orders.Order{incoming("eleme-1"), locker, {}} {
		for _, json := range []bool{false, true} {
			ct := ""
			if json {
				ct = kafka.ContentTypeJSON
			}
			b, err := kafka.EncodeOrderPlaced(o, ct)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, json)
		}
	}
	f.Add([]byte(placedJSON), true)
	f.Fuzz(func(t *testing.T, value []byte, json bool) {
		ct := kafka.ContentTypeProtobuf
		if json {
			ct = kafka.ContentTypeJSON
		}
		o, err := kafka.DecodeOrderPlaced(value, ct)
		if err != nil {
			if !orders.IsKind(err, orders.KindInvalid) {
				t.Fatalf("error %v has kind %v, want invalid", err, orders.KindOf(err))
			}
			return
		}
		full := o
		full.ID = "O1"
		if full.Section == "" {
			full.Section = orders.SectionDeals
		}
		if full.ReadyAt.IsZero() {
			full.ReadyAt = full.PlacedAt
		}
		if err := full.Validate(); err != nil {
			t.Fatalf("accepted an order that does not validate: %v\n%+v", err, o)
		}
		if math.IsNaN(o.Dropoff.Lat) || math.IsNaN(o.Dropoff.Lng) {
			t.Fatalf("accepted a NaN dropoff")
		}
		again, err := kafka.EncodeOrderPlaced(o, ct)
		if err != nil {
			t.Fatalf("cannot encode an accepted order: %v", err)
		}
		back, err := kafka.DecodeOrderPlaced(again, ct)
		if err != nil {
			t.Fatalf("the accepted order does not decode again: %v", err)
		}
		sameOrder(t, back, o)
	})
}

// FuzzDecodeRiderLocation does the same for rider positions.
func FuzzDecodeRiderLocation(f *testing.F) {
	f.Add([]byte(`{"riderId":"r-1","position":{"lat":34.7466,"lng":113.6253},"at":"2020-03-15T02:00:00Z","accuracyM":8}`), true)
	f.Add([]byte{0x0a, 0x03, 'r', '-', '1'}, false)
	f.Fuzz(func(t *testing.T, value []byte, json bool) {
		ct := ""
		if json {
			ct = kafka.ContentTypeJSON
		}
		l, err := kafka.DecodeRiderLocation(value, ct)
		if err != nil {
			if !orders.IsKind(err, orders.KindInvalid) {
				t.Fatalf("error %v has kind %v, want invalid", err, orders.KindOf(err))
			}
			return
		}
		if l.RiderID == "" || l.Point.Validate() != nil || l.At.IsZero() || math.IsNaN(l.AccuracyM) || l.AccuracyM < 0 {
			t.Fatalf("accepted a bad location %+v", l)
		}
	})
}
