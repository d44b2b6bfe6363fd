package kafka_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/geo"
	"zhengxiang/orders"
	"zhengxiang/orders/kafka"
	"zhengxiang/orders/orderstest"
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

// FuzzRiderLocationWire checks the binary decoding of rider positions
// against the protobuf module's own: whatever proto.Unmarshal refuses is
// refused, and whatever it reads decodes to the same position, or fails the
// same check, as the message does in its JSON form.
func FuzzRiderLocationWire(f *testing.F) {
	for _, l := range wireLocations() {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(locationProto(l))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0x03, 'r', '-', '1', 0x12, 0x00})          // position of zeros
	f.Add([]byte{0x0a, 0x02, 0xff, 0xfe})                         // rider id not UTF-8
	f.Add([]byte{0x08, 0x01, 0x0a, 0x01, 'r'})                    // rider id as a varint, then as a string
	f.Add([]byte{0x12, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0x41, 0x40}) // latitude only
	f.Add([]byte{0x1a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x1a, 0x00}) // time given twice
	f.Add([]byte{0x2b, 0x2c, 0x0a, 0x01, 'r'})                    // an empty group
	f.Add([]byte{0x2c})                                           // a stray end of group
	// A whole ping whose position comes in two parts, which merge.
	split := protowire.AppendTag(nil, 1, protowire.BytesType)
	split = protowire.AppendString(split, "r-1")
	for i, v := range []float64{34.7466, 113.6253} {
		part := protowire.AppendTag(nil, protowire.Number(i+1), protowire.Fixed64Type)
		part = protowire.AppendFixed64(part, math.Float64bits(v))
		split = protowire.AppendTag(split, 2, protowire.BytesType)
		split = protowire.AppendBytes(split, part)
	}
	split = protowire.AppendTag(split, 3, protowire.BytesType)
	split = protowire.AppendBytes(split, protowire.AppendVarint([]byte{0x08}, 1584237600))
	f.Add(split)
	f.Fuzz(func(t *testing.T, value []byte) {
		got, err := kafka.DecodeRiderLocation(value, kafka.ContentTypeProtobuf)
		var m pb.RiderLocation
		if uerr := proto.Unmarshal(value, &m); uerr != nil {
			if err == nil {
				t.Fatalf("decoded %+v from bytes proto.Unmarshal refuses: %v", got, uerr)
			}
			return
		}
		js, jerr := protojson.Marshal(&m)
		if jerr != nil { // a time out of Timestamp's range: no JSON form, and refused
			if err == nil {
				t.Fatalf("decoded %+v from %v, which has no JSON form: %v", got, &m, jerr)
			}
			return
		}
		want, werr := kafka.DecodeRiderLocation(js, kafka.ContentTypeJSON)
		if (err == nil) != (werr == nil) || fieldOf(err) != fieldOf(werr) {
			t.Fatalf("%v: decoded %+v, %v; its JSON form %+v, %v", &m, got, err, want, werr)
		}
		if err == nil && (got.RiderID != want.RiderID || got.Point != want.Point || !got.At.Equal(want.At) || got.AccuracyM != want.AccuracyM) {
			t.Fatalf("%v: decoded %+v, its JSON form %+v", &m, got, want)
		}
	})
}

// TestRiderLocationWire checks that the binary encoding of rider positions
// is byte for byte what proto.Marshal writes, deterministic, for a range of
// positions, times and accuracies, and that each decodes back.
func TestRiderLocationWire(t *testing.T) {
	for _, l := range wireLocations() {
		got, err := kafka.EncodeRiderLocation(l, kafka.ContentTypeProtobuf)
		if err != nil {
			t.Fatal(err)
		}
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(locationProto(l))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%+v: encoded %x, proto.Marshal %x", l, got, want)
		}
		back, err := kafka.DecodeRiderLocation(got, "")
		if err != nil {
			continue // a location the checks refuse, such as (0, 0)
		}
		if back.RiderID != l.RiderID || back.Point != l.Point || !back.At.Equal(l.At) || back.AccuracyM != l.AccuracyM {
			t.Fatalf("%+v came back as %+v", l, back)
		}
	}
}

// wireLocations returns rider positions with the edge cases of the wire
// format: empty and non-ASCII ids, zero and negative-zero coordinates, times
// before 1970, whole seconds, the zero time, and random ones.
func wireLocations() []kafka.Location {
	ls := []kafka.Location{
		{RiderID: "F000123", Point: orderstest.Erqi, At: orderstest.FestivalStart.Add(123456789), AccuracyM: 8},
		{RiderID: "骑手-7", Point: geo.Point{Lat: math.Copysign(0, -1), Lng: 113.6}, At: time.Unix(-86400*365, 5), AccuracyM: math.Copysign(0, -1)},
		{RiderID: "", Point: geo.Point{}, At: time.Time{}},
		{RiderID: "r", Point: geo.Point{Lat: -90, Lng: 180}, At: time.Unix(0, 0)},
		{RiderID: strings.Repeat("x", 200), Point: geo.Point{Lat: 34.7, Lng: 0}, At: time.Unix(1<<33, 999999999), AccuracyM: 1e5},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		ls = append(ls, kafka.Location{
			RiderID:   fmt.Sprintf("R%d", r.IntN(1<<uint(i%40))),
			Point:     geo.Point{Lat: 180*r.Float64() - 90, Lng: 360*r.Float64() - 180},
			At:        time.Unix(r.Int64N(1<<35)-1<<34, r.Int64N(1e9)),
			AccuracyM: float64(r.IntN(3)) * r.Float64() * 100,
		})
	}
	return ls
}

// locationProto is l as its protobuf message.
func locationProto(l kafka.Location) *pb.RiderLocation {
	m := &pb.RiderLocation{RiderId: l.RiderID, Position: &pb.LatLng{Lat: l.Point.Lat, Lng: l.Point.Lng}, AccuracyM: l.AccuracyM}
	if !l.At.IsZero() {
		m.At = timestamppb.New(l.At)
	}
	return m
}
