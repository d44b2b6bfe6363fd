// Package orders is the domain of Zhengxiang: stores, riders, orders, the checked state machine of
// an order's life and the events it emits, and the ports (Repository, Publisher) that the storage
// and stream adapters implement.
package orders

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"zhengxiang/geo"
)

// Section is the festival section an order or store belongs to.
type Section string

// The sections of the festival that deliver.
const (
	SectionDeals    Section = "deals"    // 郑享特惠: supermarkets and malls, the 1-hour circle around the store
	SectionFlavours Section = "flavours" // 郑享百味: restaurants' set meals
	SectionMade     Section = "made"     // 郑享制造: factory outlets, same-city logistics
)

// Sections returns every valid section, in the order the festival plan lists them.
func Sections() []Section { return []Section{SectionDeals, SectionMade, SectionFlavours} }

// Valid reports whether s is one of the defined sections.
func (s Section) Valid() bool {
	return s == SectionDeals || s == SectionFlavours || s == SectionMade
}

// Label returns the section's Chinese and English name, "郑享特惠 Zheng-share Deals".
func (s Section) Label() string {
	switch s {
	case SectionDeals:
		return "郑享特惠 Zheng-share Deals"
	case SectionFlavours:
		return "郑享百味 Zheng-share Flavours"
	case SectionMade:
		return "郑享制造 Zheng-share Made-in-Zhengzhou"
	}
	return string(s)
}

// Store is a shop, restaurant or factory outlet that receives orders. It is the unit that receives
// traffic: its circle of reachable addresses comes from Point and PrepMinutes.
type Store struct {
	ID, Name, District string
	Section            Section
	Point              geo.Point
	PrepMinutes        float64 // usual minutes from acceptance to ready
	Suspended          bool    // an operator stopped its sales
}

// Validate checks a store before it is saved.
func (s Store) Validate() error {
	if s.ID == "" {
		return Invalid("store.id", "must not be empty")
	}
	if !s.Section.Valid() {
		return Invalid("store.section", "%q is not a section", s.Section)
	}
	if err := checkPoint("store.point", s.Point, true); err != nil {
		return err
	}
	if math.IsNaN(s.PrepMinutes) || math.IsInf(s.PrepMinutes, 0) || s.PrepMinutes < 0 {
		return Invalid("store.prep_minutes", "%v is not a number of minutes", s.PrepMinutes)
	}
	return nil
}

// Rider is a courier. Point and LastPing are the last reported position; a rider that has not
// pinged yet has a zero Point.
type Rider struct {
	ID, Name             string
	Capacity             int // orders carried at once
	ShiftStart, ShiftEnd time.Time
	Point                geo.Point
	LastPing             time.Time
	OnShift              bool
}

// Validate checks a rider before it is saved.
func (r Rider) Validate() error {
	if r.ID == "" {
		return Invalid("rider.id", "must not be empty")
	}
	if r.Capacity < 1 {
		return Invalid("rider.capacity", "%d: a rider carries at least one order", r.Capacity)
	}
	if !r.ShiftStart.IsZero() && !r.ShiftEnd.IsZero() && r.ShiftEnd.Before(r.ShiftStart) {
		return Invalid("rider.shift_end", "%s is before the shift start %s",
			r.ShiftEnd.Format(time.RFC3339), r.ShiftStart.Format(time.RFC3339))
	}
	return checkPoint("rider.point", r.Point, false)
}

// Item is one line of an order.
type Item struct {
	SKU, Name  string
	Qty        int
	PriceCents int64 // unit price
}

// OrderStatus is the merchant side of an order's life.
type OrderStatus string

// The order statuses. CREATED → TICKET_SENT → MERCHANT_ACCEPTED → READY_FOR_PICKUP; REJECTED,
// AUTO_CANCELLED and CANCELLED end the order.
const (
	StatusCreated          OrderStatus = "CREATED"
	StatusTicketSent       OrderStatus = "TICKET_SENT"
	StatusMerchantAccepted OrderStatus = "MERCHANT_ACCEPTED"
	StatusReadyForPickup   OrderStatus = "READY_FOR_PICKUP"
	StatusRejected         OrderStatus = "REJECTED"
	StatusAutoCancelled    OrderStatus = "AUTO_CANCELLED"
	StatusCancelled        OrderStatus = "CANCELLED"
)

// OrderStatuses returns every order status in lifecycle order.
func OrderStatuses() []OrderStatus {
	return []OrderStatus{StatusCreated, StatusTicketSent, StatusMerchantAccepted, StatusReadyForPickup,
		StatusRejected, StatusAutoCancelled, StatusCancelled}
}

// Valid reports whether s is a defined order status.
func (s OrderStatus) Valid() bool {
	switch s {
	case StatusCreated, StatusTicketSent, StatusMerchantAccepted, StatusReadyForPickup,
		StatusRejected, StatusAutoCancelled, StatusCancelled:
		return true
	}
	return false
}

// Ended reports whether s ends the order.
func (s OrderStatus) Ended() bool {
	return s == StatusRejected || s == StatusAutoCancelled || s == StatusCancelled
}

// DeliveryStatus is the rider side of an order's life.
type DeliveryStatus string

// The delivery statuses. UNASSIGNED → OFFERED → ASSIGNED → ARRIVED_AT_PICKUP → PICKED_UP →
// ARRIVED_AT_DROPOFF → DELIVERED; FAILED → RETURNED; CANCELLED.
const (
	DeliveryUnassigned       DeliveryStatus = "UNASSIGNED"
	DeliveryOffered          DeliveryStatus = "OFFERED"
	DeliveryAssigned         DeliveryStatus = "ASSIGNED"
	DeliveryArrivedAtPickup  DeliveryStatus = "ARRIVED_AT_PICKUP"
	DeliveryPickedUp         DeliveryStatus = "PICKED_UP"
	DeliveryArrivedAtDropoff DeliveryStatus = "ARRIVED_AT_DROPOFF"
	DeliveryDelivered        DeliveryStatus = "DELIVERED"
	DeliveryCancelled        DeliveryStatus = "CANCELLED"
	DeliveryFailed           DeliveryStatus = "FAILED"
	DeliveryReturned         DeliveryStatus = "RETURNED"
)

// DeliveryStatuses returns every delivery status in lifecycle order.
func DeliveryStatuses() []DeliveryStatus {
	return []DeliveryStatus{DeliveryUnassigned, DeliveryOffered, DeliveryAssigned, DeliveryArrivedAtPickup,
		DeliveryPickedUp, DeliveryArrivedAtDropoff, DeliveryDelivered, DeliveryCancelled, DeliveryFailed,
		DeliveryReturned}
}

// Valid reports whether s is a defined delivery status.
func (s DeliveryStatus) Valid() bool {
	switch s {
	case DeliveryUnassigned, DeliveryOffered, DeliveryAssigned, DeliveryArrivedAtPickup, DeliveryPickedUp,
		DeliveryArrivedAtDropoff, DeliveryDelivered, DeliveryCancelled, DeliveryFailed, DeliveryReturned:
		return true
	}
	return false
}

// Ended reports whether s ends the delivery. FAILED does not: the goods still go back to the store.
func (s DeliveryStatus) Ended() bool {
	return s == DeliveryDelivered || s == DeliveryCancelled || s == DeliveryReturned
}

// Handover is how the goods reached the consumer. All but IN_PERSON are contactless.
type Handover string

// The handovers.
const (
	HandoverInPerson  Handover = "IN_PERSON"
	HandoverDoor      Handover = "DOOR"
	HandoverLocker    Handover = "LOCKER"
	HandoverDropPoint Handover = "DROP_POINT"
)

// Valid reports whether h is a defined handover.
func (h Handover) Valid() bool {
	return h == HandoverInPerson || h == HandoverDoor || h == HandoverLocker || h == HandoverDropPoint
}

// Contactless reports whether the rider and the consumer did not meet.
func (h Handover) Contactless() bool { return h.Valid() && h != HandoverInPerson }

// Order is a consumer's order at one store and its delivery. The fields from Status on are changed
// only through the state machine methods (SendTicket, Offer, PickUp, ...).
type Order struct {
	ID, Platform, PlatformOrderID, StoreID string

	// TrackingSecret is the random part of the order's tracking token (TrackingToken): 128 bits
	// from crypto/rand in unpadded base64url, 22 characters. Whoever holds the token may follow
	// the order. NewOrder draws it, and it never changes.
	TrackingSecret string
	// PickupCode is the six decimal digits against which the store hands the goods to the rider.
	// NewOrder draws it, and it never changes.
	PickupCode string
	// HandoverCode is the six decimal digits the consumer tells the rider at a hand-over in
	// person (CheckHandoverCode); only the consumer (on tracking) and the platform see it.
	// NewOrder draws it, and it never changes.
	HandoverCode string

	Section Section
	Items   []Item // shared between copies: replace, never modify in place

	SubtotalCents, DeliveryFeeCents int64

	Dropoff           geo.Point
	Address, District string

	// DropoffMethod is the drop-off the consumer chose when ordering, which the rider's
	// drop-off must match (DeliverWith); NewOrder stores DOOR when the consumer chose none.
	// Instructions are the consumer's words to the rider, at most MaxInstructions bytes.
	// DropoffSiteID is the drop site (DropSite) of a LOCKER or DROP_POINT order, whose gate is
	// then the order's Dropoff (AtDropSite); empty for the others.
	DropoffMethod Handover
	Instructions  string
	DropoffSiteID string

	// CampaignID is the campaign the order belongs to (Campaigns.Join), given as it is placed
	// and never changed; empty for an order of no campaign.
	CampaignID string

	PlacedAt  time.Time
	ReadyAt   time.Time // when the store expects the goods ready
	PromiseAt time.Time // the promised delivery time

	Status   OrderStatus
	Delivery DeliveryStatus

	RiderID        string    // the rider offered or holding the order
	OfferExpiresAt time.Time // while Delivery is OFFERED
	Handover       Handover  // once DELIVERED

	AcceptedAt, ReadyMarkedAt, AssignedAt, PickedUpAt, DeliveredAt, EndedAt time.Time

	// DropoffCode and PhotoRef are the rider's proof of a contactless drop-off (DeliverWith): the
	// locker slot's or drop point's code the consumer opens it with, and a reference to the photo
	// of the goods left; empty for a hand-over in person.
	DropoffCode, PhotoRef string

	// WrongCodes counts the wrong hand-over codes tried (RejectHandoverCode); from
	// MaxWrongCodes on, no hand-over in person is accepted.
	WrongCodes int

	// WrongPickupCodes counts the wrong pickup codes told at the store for the rider who holds
	// the order (RejectPickupCode); from MaxWrongCodes on, the goods are not handed over until an
	// operator reassigns the order, which starts the count again.
	WrongPickupCodes int

	// ReceiptConfirmedAt is when the consumer confirmed having the goods (ConfirmReceipt), after
	// the order was DELIVERED; zero until then, and for an order never confirmed.
	ReceiptConfirmedAt time.Time

	// Reason and Actor are those of the last cancel, reject, failure or reassignment; Actor is
	// empty when the change names none (Reassign, Fail).
	Reason, Actor string

	Seq int64 // number of events applied; the ORDER_CREATED event is seq 1
}

// Key returns the idempotency key of the order: platform + "/" + platform order id.
func (o Order) Key() string { return o.Platform + "/" + o.PlatformOrderID }

// Terminal reports whether the order has ended: rejected, cancelled, delivered or returned. The
// consumer may still confirm the receipt of a delivered order (ConfirmReceipt).
func (o Order) Terminal() bool { return o.Status.Ended() || o.Delivery.Ended() }

// Active reports whether the order has not ended.
func (o Order) Active() bool { return !o.Terminal() }

// Validate checks every field of an incoming order and returns the first problem as a KindInvalid
// error naming the field, like "order.items[2].qty". Whether the dropoff lies in the service area
// is the caller's check.
func (o Order) Validate() error {
	for _, f := range [...]struct{ name, v string }{
		{"order.id", o.ID},
		{"order.platform", o.Platform},
		{"order.platform_order_id", o.PlatformOrderID},
		{"order.store_id", o.StoreID},
	} {
		if f.v == "" {
			return Invalid(f.name, "must not be empty")
		}
	}
	if strings.Contains(o.ID, ".") {
		return Invalid("order.id", "%q contains '.', which ends the order id in a tracking token", o.ID)
	}
	if o.TrackingSecret != "" && !validTrackingSecret(o.TrackingSecret) {
		return Invalid("order.tracking_secret", "is not %d characters of unpadded base64url", trackingSecretLen)
	}
	if o.PickupCode != "" && !validPickupCode(o.PickupCode) {
		return Invalid("order.pickup_code", "is not %d decimal digits", pickupCodeLen)
	}
	if o.HandoverCode != "" && !validPickupCode(o.HandoverCode) {
		return Invalid("order.handover_code", "is not %d decimal digits", pickupCodeLen)
	}
	if o.DropoffMethod != "" && !o.DropoffMethod.Valid() {
		return Invalid("order.dropoff_method", "%q is not a handover", o.DropoffMethod)
	}
	if len(o.Instructions) > MaxInstructions {
		return Invalid("order.instructions", "%d bytes, at most %d", len(o.Instructions), MaxInstructions)
	}
	if len(o.DropoffSiteID) > 128 {
		return Invalid("order.dropoff_site_id", "%d bytes, at most 128", len(o.DropoffSiteID))
	}
	if !o.Section.Valid() {
		return Invalid("order.section", "%q is not a section", o.Section)
	}
	if len(o.Items) == 0 {
		return Invalid("order.items", "an order needs at least one item")
	}
	for i, it := range o.Items {
		switch {
		case it.SKU == "":
			return Invalid(fmt.Sprintf("order.items[%d].sku", i), "must not be empty")
		case it.Qty <= 0:
			return Invalid(fmt.Sprintf("order.items[%d].qty", i), "%d is not a positive quantity", it.Qty)
		case it.PriceCents < 0:
			return Invalid(fmt.Sprintf("order.items[%d].price_cents", i), "%d is negative", it.PriceCents)
		}
	}
	if o.SubtotalCents < 0 {
		return Invalid("order.subtotal_cents", "%d is negative", o.SubtotalCents)
	}
	if o.DeliveryFeeCents < 0 {
		return Invalid("order.delivery_fee_cents", "%d is negative", o.DeliveryFeeCents)
	}
	if err := checkPoint("order.dropoff", o.Dropoff, true); err != nil {
		return err
	}
	switch {
	case o.PlacedAt.IsZero():
		return Invalid("order.placed_at", "must be set")
	case o.ReadyAt.IsZero():
		return Invalid("order.ready_at", "must be set")
	case o.PromiseAt.IsZero():
		return Invalid("order.promise_at", "must be set")
	case o.ReadyAt.Before(o.PlacedAt):
		return Invalid("order.ready_at", "%s is before the order was placed at %s",
			o.ReadyAt.Format(time.RFC3339), o.PlacedAt.Format(time.RFC3339))
	case o.PromiseAt.Before(o.PlacedAt):
		return Invalid("order.promise_at", "%s is before the order was placed at %s",
			o.PromiseAt.Format(time.RFC3339), o.PlacedAt.Format(time.RFC3339))
	}
	return nil
}

// The secrets' formats.
const (
	trackingSecretBytes = 16 // 128 random bits
	trackingSecretLen   = 22 // base64.RawURLEncoding.EncodedLen(trackingSecretBytes)
	pickupCodeLen       = 6
)

// NewTrackingSecret returns a fresh TrackingSecret: 128 bits from crypto/rand in unpadded
// base64url, 22 characters.
func NewTrackingSecret() string {
	var b [trackingSecretBytes]byte
	_, _ = rand.Read(b[:]) // never fails: the program crashes first
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewPickupCode returns a fresh PickupCode: six decimal digits, leading zeros kept, each of the
// million codes equally likely. The draw is a uniform 32-bit number from crypto/rand, drawn again
// in the rare case (under 0.03 %) that it falls in the last, incomplete million.
func NewPickupCode() string {
	const codes = 1_000_000
	const limit = (1 << 32) / codes * codes
	var b [4]byte
	for {
		_, _ = rand.Read(b[:])
		v := binary.LittleEndian.Uint32(b[:])
		if v >= limit {
			continue
		}
		v %= codes
		var code [pickupCodeLen]byte
		for i := len(code) - 1; i >= 0; i-- {
			code[i] = '0' + byte(v%10)
			v /= 10
		}
		return string(code[:])
	}
}

// TrackingToken returns the token with which a consumer follows the order: its ID, '.', and its
// TrackingSecret. An order without a TrackingSecret has no token: the result is "".
func (o Order) TrackingToken() string {
	if o.TrackingSecret == "" {
		return ""
	}
	return o.ID + "." + o.TrackingSecret
}

// ParseTrackingToken splits a token made by TrackingToken into the order's id and the secret to
// check with CheckTrackingSecret. A token that does not have that shape is a KindInvalid error
// on the field "token"; the message does not repeat the token.
func ParseTrackingToken(token string) (orderID, secret string, err error) {
	orderID, secret, ok := strings.Cut(token, ".")
	switch {
	case !ok:
		return "", "", Invalid("token", "is not an order id and a secret separated by '.'")
	case orderID == "":
		return "", "", Invalid("token", "has no order id")
	case !validTrackingSecret(secret):
		return "", "", Invalid("token", "its secret is not %d characters of unpadded base64url", trackingSecretLen)
	}
	return orderID, secret, nil
}

// CheckTrackingSecret reports whether secret is the order's TrackingSecret, in a time that does
// not depend on where the two differ. An order without a TrackingSecret matches nothing.
func (o Order) CheckTrackingSecret(secret string) bool {
	return o.TrackingSecret != "" && subtle.ConstantTimeCompare([]byte(o.TrackingSecret), []byte(secret)) == 1
}

// CheckPickupCode reports whether code is the order's PickupCode, in a time that does not depend
// on where the two differ. An order without a PickupCode matches nothing.
func (o Order) CheckPickupCode(code string) bool {
	return o.PickupCode != "" && subtle.ConstantTimeCompare([]byte(o.PickupCode), []byte(code)) == 1
}

// MaxInstructions is the most bytes of an order's Instructions.
const MaxInstructions = 200

// ChosenDropoff returns the drop-off the consumer chose: DropoffMethod, DOOR when none (an
// order recorded before the choice was stored).
func (o Order) ChosenDropoff() Handover {
	if o.DropoffMethod == "" {
		return HandoverDoor
	}
	return o.DropoffMethod
}

// NewHandoverCode returns a fresh HandoverCode, drawn as NewPickupCode draws a pickup code.
func NewHandoverCode() string { return NewPickupCode() }

// CheckHandoverCode reports whether code is the order's HandoverCode, in a time that does not
// depend on where the two differ. An order without a HandoverCode matches nothing.
func (o Order) CheckHandoverCode(code string) bool {
	return o.HandoverCode != "" && subtle.ConstantTimeCompare([]byte(o.HandoverCode), []byte(code)) == 1
}

// validTrackingSecret reports whether s has the format of a TrackingSecret.
func validTrackingSecret(s string) bool {
	if len(s) != trackingSecretLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validPickupCode reports whether s has the format of a PickupCode.
func validPickupCode(s string) bool {
	if len(s) != pickupCodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkPoint reports a coordinate that is not a number or out of range. A zero point (0°, 0°, in
// the Gulf of Guinea) means unset: an error when required.
func checkPoint(field string, p geo.Point, required bool) error {
	if err := p.Validate(); err != nil {
		var ce *geo.CoordError
		if errors.As(err, &ce) {
			return Invalid(field+"."+ce.Field, "%v %s", ce.Value, ce.Why)
		}
		return Invalid(field, "%v", err)
	}
	if required && p.Lat == 0 && p.Lng == 0 {
		return Invalid(field, "not set")
	}
	return nil
}
