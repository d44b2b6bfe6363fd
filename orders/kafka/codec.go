package kafka

import (
	"errors"
	"fmt"
	"math"
	"mime"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "zhengxiang/api/gen/zhengxiang/v1"
	"zhengxiang/geo"
	"zhengxiang/orders"
)

// The content types of the stream, in the content-type header of every message.
const (
	ContentTypeProtobuf = "application/x-protobuf" // binary protobuf, the default
	ContentTypeJSON     = "application/json"       // the protobuf JSON mapping
)

// HeaderContentType is the header that names a message's content type. A message without it is
// binary protobuf.
const HeaderContentType = "content-type"

// DefaultPromise is how long after it was placed an order is promised when its message names no
// promise: the festival's 1-hour consumption circle.
const DefaultPromise = time.Hour

// Limits of the decoders. They are far above any real order and keep the amounts' sums from
// overflowing.
const (
	maxIDLen      = 128  // bytes of an id: platform, order, store, rider, sku
	maxTextLen    = 1024 // bytes of a name or an address
	maxItems      = 500  // lines of an order
	maxQty        = 9999 // units of one line
	maxPriceCents = 1e9  // 10 million yuan for one unit
	maxAmount     = 1e13 // cents of a subtotal or a fee
	maxAccuracyM  = 1e5  // metres of a position's uncertainty
)

// The span of plausible times: anything outside is a producer's bug (an unset clock, seconds
// taken for milliseconds).
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Location is a rider's position report, as RiderLocations hands it to its handler.
type Location struct {
	RiderID   string
	Point     geo.Point
	At        time.Time // when the app measured the position
	AccuracyM float64   // radius of uncertainty in metres; 0 when unknown
}

// OrderRef names the order of an event for the readers of orders.events, who know orders by the
// platform's id: the platform, the platform's order id and the store.
type OrderRef struct {
	Platform, PlatformOrderID, StoreID string
}

// RefOf returns the OrderRef of o.
func RefOf(o orders.Order) OrderRef {
	return OrderRef{Platform: o.Platform, PlatformOrderID: o.PlatformOrderID, StoreID: o.StoreID}
}

// DecodeOrderPlaced decodes and checks an OrderPlaced message. contentType is the value of the
// content-type header: ContentTypeJSON for the protobuf JSON mapping, ContentTypeProtobuf or
// empty for binary protobuf.
//
// Every field is checked, and the first problem is returned as a KindInvalid orders.Error whose
// Field is the message's own name of the field: "store_id", "items[1].qty", "dropoff.lat",
// "placed_at". A message that cannot be decoded at all has an empty Field. Ids must be non-empty
// after trimming spaces, at most 128 bytes and free of control characters; an order has 1 to 500
// lines of 1 to 9999 units; amounts are not negative; the dropoff is a valid coordinate other
// than (0, 0); times lie between 2000 and 2100, and ready_at and promise_at are not before
// placed_at; instructions are at most 200 bytes, and a LOCKER or DROP_POINT dropoff_method
// names its dropoff_site_id, any other none (orders.CheckDropoffChoice; whether the site exists
// is the intake's check, orders.AtDropSite).
//
// The Order has no ID: the intake assigns one. What the message leaves out is filled where the
// message alone allows it: SubtotalCents is the sum of the lines, PromiseAt is PlacedAt plus
// DefaultPromise. Section stays empty when unspecified and ReadyAt zero when left out; they come
// from the store (FillFromStore).
func DecodeOrderPlaced(value []byte, contentType string) (orders.Order, error) {
	var m pb.OrderPlaced
	if err := unmarshal(value, contentType, &m); err != nil {
		return orders.Order{}, err
	}
	return OrderFromProto(&m)
}

// OrderFromProto checks an OrderPlaced message field by field as DecodeOrderPlaced does, for
// callers that hold the message already (the API's CreateOrder).
func OrderFromProto(m *pb.OrderPlaced) (orders.Order, error) {
	var o orders.Order
	var err error
	if o.Platform, err = checkID("platform", m.GetPlatform()); err != nil {
		return orders.Order{}, err
	}
	if o.PlatformOrderID, err = checkID("platform_order_id", m.GetPlatformOrderId()); err != nil {
		return orders.Order{}, err
	}
	if o.StoreID, err = checkID("store_id", m.GetStoreId()); err != nil {
		return orders.Order{}, err
	}
	o.Platform, o.StoreID = intern(o.Platform), intern(o.StoreID)
	if m.GetSection() != pb.Section_SECTION_UNSPECIFIED {
		s, ok := SectionFromProto(m.GetSection())
		if !ok {
			return orders.Order{}, orders.Invalid("section", "%d is not a section", m.GetSection())
		}
		o.Section = s
	}

	items := m.GetItems()
	switch {
	case len(items) == 0:
		return orders.Order{}, orders.Invalid("items", "an order needs at least one item")
	case len(items) > maxItems:
		return orders.Order{}, orders.Invalid("items", "%d items, at most %d", len(items), maxItems)
	}
	o.Items = make([]orders.Item, len(items))
	var sum int64
	for i, it := range items {
		field := func(name string) string { return fmt.Sprintf("items[%d].%s", i, name) }
		sku, err := checkID(field("sku"), it.GetSku())
		if err != nil {
			return orders.Order{}, err
		}
		name, err := checkText(field("name"), it.GetName())
		if err != nil {
			return orders.Order{}, err
		}
		if q := it.GetQty(); q < 1 || q > maxQty {
			return orders.Order{}, orders.Invalid(field("qty"), "%d is not a quantity between 1 and %d", q, maxQty)
		}
		if p := it.GetPriceCents(); p < 0 || p > maxPriceCents {
			return orders.Order{}, orders.Invalid(field("price_cents"), "%d is not a price between 0 and %d cents", p, int64(maxPriceCents))
		}
		o.Items[i] = orders.Item{SKU: intern(sku), Name: intern(name), Qty: int(it.GetQty()), PriceCents: it.GetPriceCents()}
		sum += int64(it.GetQty()) * it.GetPriceCents()
	}
	o.SubtotalCents = sum
	if m.SubtotalCents != nil {
		if o.SubtotalCents, err = checkAmount("subtotal_cents", m.GetSubtotalCents()); err != nil {
			return orders.Order{}, err
		}
	}
	if o.DeliveryFeeCents, err = checkAmount("delivery_fee_cents", m.GetDeliveryFeeCents()); err != nil {
		return orders.Order{}, err
	}
	if o.Dropoff, err = checkLatLng("dropoff", m.GetDropoff()); err != nil {
		return orders.Order{}, err
	}
	if o.Address, err = checkText("address", m.GetAddress()); err != nil {
		return orders.Order{}, err
	}
	if m.GetDropoffMethod() != pb.Handover_HANDOVER_UNSPECIFIED {
		var ok bool
		if o.DropoffMethod, ok = fromEnum[orders.Handover](pb.Handover_name, "HANDOVER_", int32(m.GetDropoffMethod())); !ok {
			return orders.Order{}, orders.Invalid("dropoff_method", "%d is not a handover", m.GetDropoffMethod())
		}
	}
	if o.Instructions, err = checkText("instructions", m.GetInstructions()); err != nil {
		return orders.Order{}, err
	}
	if len(o.Instructions) > orders.MaxInstructions {
		return orders.Order{}, orders.Invalid("instructions", "%d bytes, at most %d", len(o.Instructions), orders.MaxInstructions)
	}
	if m.GetDropoffSiteId() != "" {
		if o.DropoffSiteID, err = checkID("dropoff_site_id", m.GetDropoffSiteId()); err != nil {
			return orders.Order{}, err
		}
	}
	if err := orders.CheckDropoffChoice(o.DropoffMethod, o.DropoffSiteID); err != nil {
		return orders.Order{}, err
	}
	if o.PlacedAt, err = checkTime("placed_at", m.GetPlacedAt(), true); err != nil {
		return orders.Order{}, err
	}
	if o.ReadyAt, err = checkTime("ready_at", m.GetReadyAt(), false); err != nil {
		return orders.Order{}, err
	}
	if o.PromiseAt, err = checkTime("promise_at", m.GetPromiseAt(), false); err != nil {
		return orders.Order{}, err
	}
	if !o.ReadyAt.IsZero() && o.ReadyAt.Before(o.PlacedAt) {
		return orders.Order{}, orders.Invalid("ready_at", "%s is before placed_at %s",
			o.ReadyAt.Format(time.RFC3339), o.PlacedAt.Format(time.RFC3339))
	}
	if o.PromiseAt.IsZero() {
		o.PromiseAt = o.PlacedAt.Add(DefaultPromise)
	} else if o.PromiseAt.Before(o.PlacedAt) {
		return orders.Order{}, orders.Invalid("promise_at", "%s is before placed_at %s",
			o.PromiseAt.Format(time.RFC3339), o.PlacedAt.Format(time.RFC3339))
	}
	return o, nil
}

// EncodeOrderPlaced encodes o as an OrderPlaced message in the given content type (empty for
// protobuf), for producers and tests. The order's ID and lifecycle fields are not part of the
// message. It reports a section or a time the message cannot carry as KindInvalid.
func EncodeOrderPlaced(o orders.Order, contentType string) ([]byte, error) {
	sec := pb.Section_SECTION_UNSPECIFIED
	if o.Section != "" {
		var ok bool
		if sec, ok = SectionToProto(o.Section); !ok {
			return nil, orders.Invalid("section", "%q is not a section", o.Section)
		}
	}
	m := &pb.OrderPlaced{
		Platform:         o.Platform,
		PlatformOrderId:  o.PlatformOrderID,
		StoreId:          o.StoreID,
		Section:          sec,
		Items:            make([]*pb.Item, len(o.Items)),
		SubtotalCents:    proto.Int64(o.SubtotalCents),
		DeliveryFeeCents: o.DeliveryFeeCents,
		Dropoff:          &pb.LatLng{Lat: o.Dropoff.Lat, Lng: o.Dropoff.Lng},
		Address:          o.Address,
		Instructions:     o.Instructions,
		DropoffSiteId:    o.DropoffSiteID,
	}
	if o.DropoffMethod != "" {
		var ok bool
		if m.DropoffMethod, ok = toEnum[pb.Handover](pb.Handover_value, "HANDOVER_", string(o.DropoffMethod)); !ok {
			return nil, orders.Invalid("dropoff_method", "%q is not a handover", o.DropoffMethod)
		}
	}
	for i, it := range o.Items {
		if it.Qty > math.MaxInt32 || it.Qty < math.MinInt32 {
			return nil, orders.Invalid(fmt.Sprintf("items[%d].qty", i), "%d does not fit the message", it.Qty)
		}
		m.Items[i] = &pb.Item{Sku: it.SKU, Name: it.Name, Qty: int32(it.Qty), PriceCents: it.PriceCents}
	}
	var err error
	if m.PlacedAt, err = timeToProto("placed_at", o.PlacedAt); err != nil {
		return nil, err
	}
	if m.ReadyAt, err = timeToProto("ready_at", o.ReadyAt); err != nil {
		return nil, err
	}
	if m.PromiseAt, err = timeToProto("promise_at", o.PromiseAt); err != nil {
		return nil, err
	}
	return marshal(m, contentType)
}

// DecodeRiderLocation decodes and checks a RiderLocation message, like DecodeOrderPlaced: the
// rider id is required, the position is a valid coordinate other than (0, 0), the time lies
// between 2000 and 2100 and the accuracy is a finite number of metres between 0 and 100 km.
// Errors name the field: "rider_id", "position.lng", "at", "accuracy_m".
func DecodeRiderLocation(value []byte, contentType string) (Location, error) {
	f, err := format(contentType)
	if err != nil {
		return Location{}, err
	}
	if f == ContentTypeProtobuf {
		w, err := readRiderLocation(value)
		if err != nil {
			return Location{}, err
		}
		return w.check()
	}
	var m pb.RiderLocation
	if err := unmarshal(value, f, &m); err != nil {
		return Location{}, err
	}
	return checkLocation(m.GetRiderId(), m.GetPosition(), m.GetAt(), m.GetAccuracyM())
}

// checkLocation checks the fields of a RiderLocation message.
func checkLocation(id string, position *pb.LatLng, at *timestamppb.Timestamp, accuracy float64) (Location, error) {
	var l Location
	var err error
	if l.RiderID, err = checkID("rider_id", id); err != nil {
		return Location{}, err
	}
	if l.Point, err = checkLatLng("position", position); err != nil {
		return Location{}, err
	}
	if l.At, err = checkTime("at", at, true); err != nil {
		return Location{}, err
	}
	if math.IsNaN(accuracy) || accuracy < 0 || accuracy > maxAccuracyM {
		return Location{}, orders.Invalid("accuracy_m", "%v is not a number of metres between 0 and %v", accuracy, maxAccuracyM)
	}
	l.AccuracyM = accuracy
	return l, nil
}

// EncodeRiderLocation encodes l as a RiderLocation message in the given content type (empty for
// protobuf), for riders' apps, simulators and tests.
func EncodeRiderLocation(l Location, contentType string) ([]byte, error) {
	if err := sendable("at", l.At); err != nil {
		return nil, err
	}
	if f, err := format(contentType); err != nil {
		return nil, err
	} else if f == ContentTypeProtobuf {
		return appendRiderLocation(make([]byte, 0, len(l.RiderID)+riderLocationSize), l), nil
	}
	at, _ := timeToProto("at", l.At) // sendable
	return marshal(&pb.RiderLocation{
		RiderId:   l.RiderID,
		Position:  &pb.LatLng{Lat: l.Point.Lat, Lng: l.Point.Lng},
		At:        at,
		AccuracyM: l.AccuracyM,
	}, contentType)
}

// EncodeEvent encodes ev as a binary OrderEvent message, with ref naming its order (the zero
// OrderRef when unknown). It reports an event that the contract cannot carry, such as an unknown
// type or a missing time, as KindInvalid.
func EncodeEvent(ev orders.Event, ref OrderRef) ([]byte, error) {
	return EncodeEventAs(ev, ref, ContentTypeProtobuf)
}

// EncodeEventAs encodes an event as protobuf or, with ContentTypeJSON, as
// the JSON form of the same message.
func EncodeEventAs(ev orders.Event, ref OrderRef, contentType string) ([]byte, error) {
	m, err := EventToProto(ev, ref)
	if err != nil {
		return nil, err
	}
	return marshal(m, contentType)
}

// EventToProto converts an event of the order ref names to its message.
func EventToProto(ev orders.Event, ref OrderRef) (*pb.OrderEvent, error) {
	if ev.OrderID == "" {
		return nil, orders.Invalid("event.order_id", "must not be empty")
	}
	if ev.Seq < 1 {
		return nil, orders.Invalid("event.seq", "%d is not a sequence number", ev.Seq)
	}
	typ, ok := toEnum[pb.EventType](pb.EventType_value, "EVENT_TYPE_", string(ev.Type))
	if !ok {
		return nil, orders.Invalid("event.type", "%q is not an event type", ev.Type)
	}
	status, ok := toEnum[pb.OrderStatus](pb.OrderStatus_value, "ORDER_STATUS_", string(ev.Status))
	if !ok {
		return nil, orders.Invalid("event.status", "%q is not an order status", ev.Status)
	}
	delivery, ok := toEnum[pb.DeliveryStatus](pb.DeliveryStatus_value, "DELIVERY_STATUS_", string(ev.Delivery))
	if !ok {
		return nil, orders.Invalid("event.delivery", "%q is not a delivery status", ev.Delivery)
	}
	handover := pb.Handover_HANDOVER_UNSPECIFIED
	if ev.Handover != "" {
		if handover, ok = toEnum[pb.Handover](pb.Handover_value, "HANDOVER_", string(ev.Handover)); !ok {
			return nil, orders.Invalid("event.handover", "%q is not a handover", ev.Handover)
		}
	}
	if ev.At.IsZero() {
		return nil, orders.Invalid("event.at", "must be set")
	}
	at, err := timeToProto("event.at", ev.At)
	if err != nil {
		return nil, err
	}
	expires, err := timeToProto("event.expires_at", ev.ExpiresAt)
	if err != nil {
		return nil, err
	}
	return &pb.OrderEvent{
		OrderId:         ev.OrderID,
		Seq:             ev.Seq,
		Type:            typ,
		At:              at,
		Status:          status,
		Delivery:        delivery,
		RiderId:         ev.RiderID,
		Reason:          ev.Reason,
		Actor:           ev.Actor,
		Handover:        handover,
		ExpiresAt:       expires,
		Platform:        ref.Platform,
		PlatformOrderId: ref.PlatformOrderID,
		StoreId:         ref.StoreID,
	}, nil
}

// DecodeEvent decodes an OrderEvent message in the given content type, for the readers of
// orders.events and tests. It checks what a reader relies on: the order id, a positive seq, and
// a known type, status and delivery status.
func DecodeEvent(value []byte, contentType string) (orders.Event, OrderRef, error) {
	var m pb.OrderEvent
	if err := unmarshal(value, contentType, &m); err != nil {
		return orders.Event{}, OrderRef{}, err
	}
	ev := orders.Event{OrderID: m.GetOrderId(), Seq: m.GetSeq(), RiderID: m.GetRiderId(),
		Reason: m.GetReason(), Actor: m.GetActor()}
	if ev.OrderID == "" {
		return orders.Event{}, OrderRef{}, orders.Invalid("order_id", "must not be empty")
	}
	if ev.Seq < 1 {
		return orders.Event{}, OrderRef{}, orders.Invalid("seq", "%d is not a sequence number", ev.Seq)
	}
	var ok bool
	if ev.Type, ok = fromEnum[orders.EventType](pb.EventType_name, "EVENT_TYPE_", int32(m.GetType())); !ok {
		return orders.Event{}, OrderRef{}, orders.Invalid("type", "%d is not an event type", m.GetType())
	}
	if ev.Status, ok = fromEnum[orders.OrderStatus](pb.OrderStatus_name, "ORDER_STATUS_", int32(m.GetStatus())); !ok {
		return orders.Event{}, OrderRef{}, orders.Invalid("status", "%d is not an order status", m.GetStatus())
	}
	if ev.Delivery, ok = fromEnum[orders.DeliveryStatus](pb.DeliveryStatus_name, "DELIVERY_STATUS_", int32(m.GetDelivery())); !ok {
		return orders.Event{}, OrderRef{}, orders.Invalid("delivery", "%d is not a delivery status", m.GetDelivery())
	}
	if m.GetHandover() != pb.Handover_HANDOVER_UNSPECIFIED {
		if ev.Handover, ok = fromEnum[orders.Handover](pb.Handover_name, "HANDOVER_", int32(m.GetHandover())); !ok {
			return orders.Event{}, OrderRef{}, orders.Invalid("handover", "%d is not a handover", m.GetHandover())
		}
	}
	var err error
	if ev.At, err = checkTime("at", m.GetAt(), true); err != nil {
		return orders.Event{}, OrderRef{}, err
	}
	if ev.ExpiresAt, err = checkTime("expires_at", m.GetExpiresAt(), false); err != nil {
		return orders.Event{}, OrderRef{}, err
	}
	return ev, OrderRef{Platform: m.GetPlatform(), PlatformOrderID: m.GetPlatformOrderId(), StoreID: m.GetStoreId()}, nil
}

// DeadLetter is a message that a consumer could not take, as it lies on orders.deadletter.
type DeadLetter struct {
	SourceTopic string
	Partition   int
	Offset      int64
	Key         []byte
	Reason      string // the error, in words
	Field       string // the field at fault, empty when the whole message is
	Payload     []byte // the message's value, byte for byte
	ContentType string // its content-type header
	At          time.Time
}

// EncodeDeadLetter encodes d as a binary DeadLetter message.
func EncodeDeadLetter(d DeadLetter) ([]byte, error) {
	at, err := timeToProto("at", d.At)
	if err != nil {
		return nil, err
	}
	if d.Partition < 0 || d.Partition > math.MaxInt32 {
		return nil, orders.Invalid("partition", "%d is not a partition", d.Partition)
	}
	return marshal(&pb.DeadLetter{
		SourceTopic: d.SourceTopic, Partition: int32(d.Partition), Offset: d.Offset, Key: d.Key,
		Reason: d.Reason, Field: d.Field, Payload: d.Payload, ContentType: d.ContentType, At: at,
	}, ContentTypeProtobuf)
}

// DecodeDeadLetter decodes a binary DeadLetter message, for operators' tools and tests.
func DecodeDeadLetter(value []byte) (DeadLetter, error) {
	var m pb.DeadLetter
	if err := unmarshal(value, ContentTypeProtobuf, &m); err != nil {
		return DeadLetter{}, err
	}
	d := DeadLetter{SourceTopic: m.GetSourceTopic(), Partition: int(m.GetPartition()), Offset: m.GetOffset(),
		Key: m.GetKey(), Reason: m.GetReason(), Field: m.GetField(), Payload: m.GetPayload(),
		ContentType: m.GetContentType()}
	var err error
	if d.At, err = checkTime("at", m.GetAt(), false); err != nil {
		return DeadLetter{}, err
	}
	return d, nil
}

// format returns the encoding named by a content-type header: ContentTypeJSON or
// ContentTypeProtobuf. Parameters such as "; charset=utf-8" are ignored.
func format(contentType string) (string, error) {
	switch contentType { // as this package writes them: no parsing for every message
	case "", ContentTypeProtobuf:
		return ContentTypeProtobuf, nil
	case ContentTypeJSON:
		return ContentTypeJSON, nil
	}
	ct := strings.TrimSpace(contentType)
	if ct == "" {
		return ContentTypeProtobuf, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", orders.Invalid("", "content-type %q: %v", ct, err)
	}
	switch mt {
	case ContentTypeProtobuf, "application/protobuf":
		return ContentTypeProtobuf, nil
	case ContentTypeJSON:
		return ContentTypeJSON, nil
	}
	return "", orders.Invalid("", "content-type %q is neither %s nor %s", ct, ContentTypeProtobuf, ContentTypeJSON)
}

// unmarshal decodes b into m. Unknown fields are ignored in both encodings, so that a producer
// on a newer contract is understood.
func unmarshal(b []byte, contentType string, m proto.Message) error {
	f, err := format(contentType)
	if err != nil {
		return err
	}
	if f == ContentTypeJSON {
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, m); err != nil {
			return orders.Invalid("", "undecodable JSON %s: %v", m.ProtoReflect().Descriptor().Name(), err)
		}
		return nil
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return orders.Invalid("", "undecodable protobuf %s: %v", m.ProtoReflect().Descriptor().Name(), err)
	}
	return nil
}

// marshal encodes m: binary protobuf (deterministic, so that equal messages have equal bytes)
// or JSON with the fields' proto names.
func marshal(m proto.Message, contentType string) ([]byte, error) {
	f, err := format(contentType)
	if err != nil {
		return nil, err
	}
	if f == ContentTypeJSON {
		return protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// intern returns the copy of s that the orders decoded before share, for the fields that many
// orders have in common: platform, store, product. The service keeps an order's references while
// the order is in flight, and the collector then marks one string per store or product instead of
// one per order. The copies are forgotten all at once when there are maxInterned of them, so that
// messages with ever new values cannot grow them without bound.
func intern(s string) string {
	interned.mu.Lock()
	defer interned.mu.Unlock()
	if c, ok := interned.m[s]; ok {
		return c
	}
	if len(interned.m) >= maxInterned {
		clear(interned.m)
	}
	interned.m[s] = s
	return s
}

// maxInterned bounds intern's copies: a city's stores and their products, many times over.
const maxInterned = 1 << 16

var interned = struct {
	mu sync.Mutex
	m  map[string]string
}{m: map[string]string{}}

// checkID trims s and checks it as an id: not empty, at most maxIDLen bytes, no control
// characters.
func checkID(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", orders.Invalid(field, "must not be empty")
	}
	if len(s) > maxIDLen {
		return "", orders.Invalid(field, "%d bytes, at most %d", len(s), maxIDLen)
	}
	return s, checkChars(field, s)
}

// checkText trims s and checks it as free text: at most maxTextLen bytes, no control
// characters. It may be empty.
func checkText(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxTextLen {
		return "", orders.Invalid(field, "%d bytes, at most %d", len(s), maxTextLen)
	}
	return s, checkChars(field, s)
}

func checkChars(field, s string) error {
	if !utf8.ValidString(s) {
		return orders.Invalid(field, "not UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return orders.Invalid(field, "holds the control character %U", r)
		}
	}
	return nil
}

func checkAmount(field string, v int64) (int64, error) {
	if v < 0 || v > maxAmount {
		return 0, orders.Invalid(field, "%d is not an amount between 0 and %d cents", v, int64(maxAmount))
	}
	return v, nil
}

// checkLatLng converts a required position, naming the coordinate at fault: "dropoff.lat".
func checkLatLng(field string, ll *pb.LatLng) (geo.Point, error) {
	if ll == nil {
		return geo.Point{}, orders.Invalid(field, "must be set")
	}
	p := geo.Point{Lat: ll.GetLat(), Lng: ll.GetLng()}
	if err := p.Validate(); err != nil {
		if ce, ok := errors.AsType[*geo.CoordError](err); ok {
			return geo.Point{}, orders.Invalid(field+"."+ce.Field, "%v %s", ce.Value, ce.Why)
		}
		return geo.Point{}, orders.Invalid(field, "%v", err)
	}
	if p.Lat == 0 && p.Lng == 0 {
		return geo.Point{}, orders.Invalid(field, "(0, 0) is not a position: the coordinates are unset")
	}
	return p, nil
}

// checkTime converts a timestamp; a nil one is the zero time, an error when required.
func checkTime(field string, ts *timestamppb.Timestamp, required bool) (time.Time, error) {
	if ts == nil {
		if required {
			return time.Time{}, orders.Invalid(field, "must be set")
		}
		return time.Time{}, nil
	}
	// Not the Timestamp's CheckValid: its errors hold the message, which would move a decoder's
	// Timestamp on the stack (wireLocation.check) to the heap for every ping.
	secs, nanos := ts.GetSeconds(), ts.GetNanos()
	if nanos < 0 || nanos >= 1e9 || secs < minTimestamp || secs > maxTimestamp {
		return time.Time{}, orders.Invalid(field, "not a time: %d s and %d ns from 1970", secs, nanos)
	}
	t := time.Unix(secs, int64(nanos)).UTC()
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, orders.Invalid(field, "%s is not between %d and %d", t.Format(time.RFC3339Nano), minTime.Year(), maxTime.Year())
	}
	return t, nil
}

// The seconds from 1970 of the first and the last second that a Timestamp holds: the years 1
// to 9999.
const (
	minTimestamp = -62135596800
	maxTimestamp = 253402300799
)

// sendable reports a time that a Timestamp cannot hold.
func sendable(field string, t time.Time) error {
	if s := t.Unix(); s < minTimestamp || s > maxTimestamp {
		return orders.Invalid(field, "%v cannot be sent: a Timestamp holds the years 1 to 9999", t)
	}
	return nil
}

// timeToProto converts t, the zero time to nil.
func timeToProto(field string, t time.Time) (*timestamppb.Timestamp, error) {
	if t.IsZero() {
		return nil, nil
	}
	if err := sendable(field, t); err != nil {
		return nil, err
	}
	return timestamppb.New(t), nil
}

// toEnum returns the value of the enum constant prefix+name, and false for an unknown name or
// the zero (unspecified) value.
func toEnum[E ~int32](values map[string]int32, prefix, name string) (E, bool) {
	v, ok := values[prefix+name]
	return E(v), ok && v != 0
}

// fromEnum returns the name of an enum value without its prefix, and false for an unknown or
// the zero value.
func fromEnum[S ~string](names map[int32]string, prefix string, v int32) (S, bool) {
	name, ok := names[v]
	if !ok || v == 0 {
		return "", false
	}
	return S(strings.TrimPrefix(name, prefix)), true
}

// SectionToProto returns the enum value of a section, and false for an unknown one.
func SectionToProto(s orders.Section) (pb.Section, bool) {
	return toEnum[pb.Section](pb.Section_value, "SECTION_", strings.ToUpper(string(s)))
}

// SectionFromProto returns the section of an enum value, and false for UNSPECIFIED or an
// unknown value.
func SectionFromProto(v pb.Section) (orders.Section, bool) {
	s, ok := fromEnum[orders.Section](pb.Section_name, "SECTION_", int32(v))
	s = orders.Section(strings.ToLower(string(s)))
	return s, ok && s.Valid()
}
