package kafka

import (
	"encoding/binary"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/orders"
)

// Riders' pings are the stream's busiest messages, tens of thousands a
// second at a festival peak, and RiderLocation is small and fixed: its
// binary form is read and written here field by field with protowire, the
// protobuf module's wire-format layer, rather than through the reflection of
// proto.Unmarshal and proto.Marshal. The result is the same, byte for byte
// (TestRiderLocationWire, FuzzRiderLocationWire).

// Field numbers of RiderLocation (api/proto/zhengxiang/v1/stream.proto), of
// LatLng, and of google.protobuf.Timestamp.
const (
	locRiderID  protowire.Number = 1
	locPosition protowire.Number = 2
	locAt       protowire.Number = 3
	locAccuracy protowire.Number = 4

	latLngLat protowire.Number = 1
	latLngLng protowire.Number = 2

	tsSeconds protowire.Number = 1
	tsNanos   protowire.Number = 2
)

// wireLocation is a RiderLocation as read off the wire: hasPosition and
// hasAt tell whether the message has those fields.
type wireLocation struct {
	id          string
	lat, lng    float64
	hasPosition bool
	seconds     int64
	nanos       int32
	hasAt       bool
	accuracy    float64
}

// readRiderLocation decodes a binary RiderLocation as proto.Unmarshal does:
// the last of a repeated scalar field wins, repeated message fields merge, a
// field of an unexpected wire type is an unknown field, unknown fields are
// skipped, and a rider id that is not UTF-8 is refused.
func readRiderLocation(b []byte) (wireLocation, error) {
	var w wireLocation
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) bool {
		switch {
		case num == locRiderID && typ == protowire.BytesType:
			s, n := protowire.ConsumeBytes(v)
			if n < 0 || !utf8.Valid(s) {
				return false
			}
			w.id = string(s)
		case num == locPosition && typ == protowire.BytesType:
			s, _ := protowire.ConsumeBytes(v)
			w.hasPosition = true
			return readPair(s, protowire.Fixed64Type, func(first bool, x uint64) {
				if first {
					w.lat = math.Float64frombits(x)
				} else {
					w.lng = math.Float64frombits(x)
				}
			})
		case num == locAt && typ == protowire.BytesType:
			s, _ := protowire.ConsumeBytes(v)
			w.hasAt = true
			return readPair(s, protowire.VarintType, func(first bool, x uint64) {
				if first {
					w.seconds = int64(x)
				} else {
					w.nanos = int32(x)
				}
			})
		case num == locAccuracy && typ == protowire.Fixed64Type:
			x, _ := protowire.ConsumeFixed64(v)
			w.accuracy = math.Float64frombits(x)
		}
		return true
	})
	if err != nil {
		return wireLocation{}, orders.Invalid("", "undecodable protobuf RiderLocation: %v", err)
	}
	return w, nil
}

// readPair reads a message of two scalar fields numbered 1 and 2 of wire
// type typ (a varint or a fixed64), as LatLng and Timestamp are: set gets
// each occurrence of either, first telling which, with its 64 bits; other
// fields are skipped. It is false for malformed bytes.
func readPair(b []byte, typ protowire.Type, set func(first bool, x uint64)) bool {
	return eachField(b, func(num protowire.Number, t protowire.Type, v []byte) bool {
		if t == typ && (num == 1 || num == 2) {
			var x uint64
			if typ == protowire.VarintType {
				x, _ = protowire.ConsumeVarint(v)
			} else {
				x, _ = protowire.ConsumeFixed64(v)
			}
			set(num == 1, x)
		}
		return true
	}) == nil
}

// check checks the location's fields as checkLocation does those of the
// message.
func (w wireLocation) check() (Location, error) {
	var position *pb.LatLng
	var ll pb.LatLng
	if w.hasPosition {
		ll.Lat, ll.Lng = w.lat, w.lng
		position = &ll
	}
	var at *timestamppb.Timestamp
	var ts timestamppb.Timestamp
	if w.hasAt {
		ts.Seconds, ts.Nanos = w.seconds, w.nanos
		at = &ts
	}
	return checkLocation(w.id, position, at, w.accuracy)
}

// errWire is what eachField reports for bytes that are not a valid message,
// or a field its callback refused.
type errWire struct{}

func (errWire) Error() string { return "not a valid message in the protobuf wire format" }

// eachField calls fn with each field of the message in b, in order: its
// number, its wire type and the bytes from its value on (fn reads the value
// from their start). It fails on malformed bytes, on a field number out of
// range, or when fn returns false.
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte) bool) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return errWire{}
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 || !fn(num, typ, b[:m]) {
			return errWire{}
		}
		b = b[m:]
	}
	return nil
}

// appendRiderLocation appends the binary RiderLocation of l to b, as
// proto.MarshalOptions{Deterministic: true} writes it: fields in number
// order, zero scalars left out, the position always there and the time
// there unless it is the zero time. l.At must be a time a Timestamp holds
// (EncodeRiderLocation checks it).
func appendRiderLocation(b []byte, l Location) []byte {
	if l.RiderID != "" {
		b = protowire.AppendTag(b, locRiderID, protowire.BytesType)
		b = protowire.AppendString(b, l.RiderID)
	}
	var pos [2 * (1 + 8)]byte
	p := appendDouble(pos[:0], latLngLat, l.Point.Lat)
	p = appendDouble(p, latLngLng, l.Point.Lng)
	b = protowire.AppendTag(b, locPosition, protowire.BytesType)
	b = protowire.AppendBytes(b, p)
	if !l.At.IsZero() {
		var ts [2 * (1 + binary.MaxVarintLen64)]byte
		t := ts[:0]
		if s := l.At.Unix(); s != 0 {
			t = protowire.AppendTag(t, tsSeconds, protowire.VarintType)
			t = protowire.AppendVarint(t, uint64(s))
		}
		if ns := l.At.Nanosecond(); ns != 0 {
			t = protowire.AppendTag(t, tsNanos, protowire.VarintType)
			t = protowire.AppendVarint(t, uint64(ns))
		}
		b = protowire.AppendTag(b, locAt, protowire.BytesType)
		b = protowire.AppendBytes(b, t)
	}
	return appendDouble(b, locAccuracy, l.AccuracyM)
}

// appendDouble appends a double field unless it is zero (negative zero is
// written, as protobuf writes it).
func appendDouble(b []byte, num protowire.Number, v float64) []byte {
	if math.Float64bits(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

// riderLocationSize is the most bytes appendRiderLocation writes besides the
// rider id.
const riderLocationSize = 2 + 2 + 2*(1+8) + 2 + 2*(1+binary.MaxVarintLen64) + 1 + 8
