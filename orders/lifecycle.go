package orders

import (
	"time"
)

// EventType names a change in an order's life.
type EventType string

// The event types, one for each state machine method (ASSIGNED comes from both AcceptOffer and
// Assign).
const (
	EventOrderCreated     EventType = "ORDER_CREATED"
	EventTicketSent       EventType = "TICKET_SENT"
	EventMerchantAccepted EventType = "MERCHANT_ACCEPTED"
	EventMerchantRejected EventType = "MERCHANT_REJECTED"
	EventReadyForPickup   EventType = "READY_FOR_PICKUP"
	EventAutoCancelled    EventType = "AUTO_CANCELLED"
	EventOffered          EventType = "OFFERED"
	EventOfferDeclined    EventType = "OFFER_DECLINED"
	EventOfferExpired     EventType = "OFFER_EXPIRED"
	EventAssigned         EventType = "ASSIGNED"
	EventReassigned       EventType = "REASSIGNED"
	EventArrivedAtPickup  EventType = "ARRIVED_AT_PICKUP"
	EventPickedUp         EventType = "PICKED_UP"
	EventArrivedAtDropoff EventType = "ARRIVED_AT_DROPOFF"
	EventDelivered        EventType = "DELIVERED"
	EventCancelled        EventType = "CANCELLED"
	EventFailed           EventType = "FAILED"
	EventReturned         EventType = "RETURNED"
	EventReceiptConfirmed EventType = "RECEIPT_CONFIRMED"
	// EventHandoverCodeRejected records a wrong hand-over code tried by the rider (RiderID) at
	// the door; the statuses do not change.
	EventHandoverCodeRejected EventType = "HANDOVER_CODE_REJECTED"
	// EventPickupCodeRejected records a wrong pickup code told at the store for the order's rider
	// (RiderID; Actor is who entered it); the statuses do not change.
	EventPickupCodeRejected EventType = "PICKUP_CODE_REJECTED"
)

// Event is one change of an order, with the statuses it left the order in. Seq is the order's
// sequence number after the change: a consumer of the stream applies an event only when its Seq is
// past the last one it applied.
//
// RiderID is the rider concerned: the one offered, assigned or delivering, and for an event that
// releases a rider (OFFER_DECLINED, OFFER_EXPIRED, REASSIGNED, MERCHANT_REJECTED, AUTO_CANCELLED,
// CANCELLED) the rider released; RECEIPT_CONFIRMED names none. ExpiresAt is set on OFFERED,
// Handover on DELIVERED, Reason and Actor on the events that end or undo something.
type Event struct {
	OrderID   string
	Seq       int64
	Type      EventType
	At        time.Time
	Status    OrderStatus
	Delivery  DeliveryStatus
	RiderID   string
	Reason    string
	Actor     string
	Handover  Handover
	ExpiresAt time.Time
}

// Actors recorded by the transitions whose caller names none.
const (
	ActorMerchant = "merchant" // MerchantReject
	ActorSystem   = "system"   // AutoCancel
)

// NewOrder validates an incoming order and starts its life: Status CREATED, Delivery UNASSIGNED,
// Seq 1, and the ORDER_CREATED event at PlacedAt. Lifecycle fields set on o are discarded. The
// TrackingSecret, PickupCode and HandoverCode that o carries (a replay, a restore) are kept;
// those it lacks are drawn (NewTrackingSecret, NewPickupCode, NewHandoverCode).
func NewOrder(o Order) (Order, Event, error) {
	if err := o.Validate(); err != nil {
		return Order{}, Event{}, err
	}
	if o.TrackingSecret == "" {
		o.TrackingSecret = NewTrackingSecret()
	}
	if o.PickupCode == "" {
		o.PickupCode = NewPickupCode()
	}
	if o.HandoverCode == "" {
		o.HandoverCode = NewHandoverCode()
	}
	if o.DropoffMethod == "" {
		o.DropoffMethod = HandoverDoor // the order says what it takes
	}
	n := Order{
		ID: o.ID, Platform: o.Platform, PlatformOrderID: o.PlatformOrderID, StoreID: o.StoreID,
		TrackingSecret: o.TrackingSecret, PickupCode: o.PickupCode, HandoverCode: o.HandoverCode,
		Section: o.Section, Items: o.Items,
		SubtotalCents: o.SubtotalCents, DeliveryFeeCents: o.DeliveryFeeCents,
		Dropoff: o.Dropoff, Address: o.Address, District: o.District,
		DropoffMethod: o.DropoffMethod, Instructions: o.Instructions, DropoffSiteID: o.DropoffSiteID,
		PlacedAt: o.PlacedAt, ReadyAt: o.ReadyAt, PromiseAt: o.PromiseAt,
		CampaignID: o.CampaignID, Status: StatusCreated, Delivery: DeliveryUnassigned, Seq: 1,
	}
	return n, Event{OrderID: n.ID, Seq: 1, Type: EventOrderCreated, At: n.PlacedAt,
		Status: n.Status, Delivery: n.Delivery}, nil
}

// op is one state machine method; it indexes rules.
type op int

const (
	opSendTicket op = iota
	opMerchantAccept
	opMerchantReject
	opAutoCancel
	opMarkReady
	opOffer
	opDeclineOffer
	opExpireOffer
	opAcceptOffer
	opAssign
	opReassign
	opArriveAtPickup
	opPickUp
	opArriveAtDropoff
	opDeliver
	opCancel
	opFail
	opReturn
	opConfirmReceipt
	opRejectHandoverCode
	opRejectPickupCode
	numOps
)

// rule is one transition: the statuses it starts from and the ones it leaves (empty: unchanged).
type rule struct {
	verb       string // for error messages: "cannot <verb>"
	event      EventType
	from       []OrderStatus
	delivery   []DeliveryStatus
	toStatus   OrderStatus
	toDelivery DeliveryStatus
}

var (
	// live are the order statuses of an order the merchant has not refused.
	live = []OrderStatus{StatusCreated, StatusTicketSent, StatusMerchantAccepted, StatusReadyForPickup}
	// unacknowledged are the order statuses before the merchant answered the ticket.
	unacknowledged = []OrderStatus{StatusCreated, StatusTicketSent}
	// beforePickup are the delivery statuses in which the goods are still at the store.
	beforePickup = []DeliveryStatus{DeliveryUnassigned, DeliveryOffered, DeliveryAssigned, DeliveryArrivedAtPickup}
	ready        = []OrderStatus{StatusReadyForPickup}
)

// rules is the state machine. A transition is legal when the order has not ended, its Status is in
// from and its Delivery in delivery; the method then checks its own arguments (rider, expiry,
// reason, handover). Offers and assignment may happen while the merchant prepares; everything from
// pickup on needs the goods ready, so the order side stays READY_FOR_PICKUP to the end. The one
// transition of an ended order is the consumer's confirmation of a delivered order's receipt
// (afterEnd).
var rules = [numOps]rule{
	opSendTicket:      {"send the ticket", EventTicketSent, []OrderStatus{StatusCreated}, beforePickup, StatusTicketSent, ""},
	opMerchantAccept:  {"accept as merchant", EventMerchantAccepted, []OrderStatus{StatusTicketSent}, beforePickup, StatusMerchantAccepted, ""},
	opMerchantReject:  {"reject as merchant", EventMerchantRejected, unacknowledged, beforePickup, StatusRejected, DeliveryCancelled},
	opAutoCancel:      {"auto-cancel", EventAutoCancelled, unacknowledged, beforePickup, StatusAutoCancelled, DeliveryCancelled},
	opMarkReady:       {"mark ready", EventReadyForPickup, []OrderStatus{StatusMerchantAccepted}, beforePickup, StatusReadyForPickup, ""},
	opOffer:           {"offer", EventOffered, live, []DeliveryStatus{DeliveryUnassigned}, "", DeliveryOffered},
	opDeclineOffer:    {"decline the offer", EventOfferDeclined, live, []DeliveryStatus{DeliveryOffered}, "", DeliveryUnassigned},
	opExpireOffer:     {"expire the offer", EventOfferExpired, live, []DeliveryStatus{DeliveryOffered}, "", DeliveryUnassigned},
	opAcceptOffer:     {"accept the offer", EventAssigned, live, []DeliveryStatus{DeliveryOffered}, "", DeliveryAssigned},
	opAssign:          {"assign", EventAssigned, live, []DeliveryStatus{DeliveryUnassigned}, "", DeliveryAssigned},
	opReassign:        {"reassign", EventReassigned, live, []DeliveryStatus{DeliveryOffered, DeliveryAssigned, DeliveryArrivedAtPickup}, "", DeliveryUnassigned},
	opArriveAtPickup:  {"arrive at pickup", EventArrivedAtPickup, live, []DeliveryStatus{DeliveryAssigned}, "", DeliveryArrivedAtPickup},
	opPickUp:          {"pick up", EventPickedUp, ready, []DeliveryStatus{DeliveryAssigned, DeliveryArrivedAtPickup}, "", DeliveryPickedUp},
	opArriveAtDropoff: {"arrive at dropoff", EventArrivedAtDropoff, ready, []DeliveryStatus{DeliveryPickedUp}, "", DeliveryArrivedAtDropoff},
	opDeliver:         {"deliver", EventDelivered, ready, []DeliveryStatus{DeliveryPickedUp, DeliveryArrivedAtDropoff}, "", DeliveryDelivered},
	opCancel:          {"cancel", EventCancelled, live, beforePickup, StatusCancelled, DeliveryCancelled},
	opFail:            {"fail", EventFailed, ready, []DeliveryStatus{DeliveryPickedUp, DeliveryArrivedAtDropoff}, "", DeliveryFailed},
	opReturn:          {"return", EventReturned, ready, []DeliveryStatus{DeliveryFailed}, "", DeliveryReturned},
	opConfirmReceipt:  {"confirm receipt", EventReceiptConfirmed, ready, []DeliveryStatus{DeliveryDelivered}, "", ""},
	opRejectHandoverCode: {"reject a hand-over code", EventHandoverCodeRejected, ready,
		[]DeliveryStatus{DeliveryPickedUp, DeliveryArrivedAtDropoff}, "", ""},
	opRejectPickupCode: {"reject a pickup code", EventPickupCodeRejected, live,
		[]DeliveryStatus{DeliveryAssigned, DeliveryArrivedAtPickup}, "", ""},
}

// afterEnd reports whether op may run on an ended order: only ConfirmReceipt, which records
// what the consumer says of a delivery that has ended and changes neither status.
func afterEnd(op op) bool { return op == opConfirmReceipt }

// check returns the KindConflict error of an illegal transition, or nil.
func (o *Order) check(op op) error {
	r := &rules[op]
	switch {
	case o.Terminal() && !afterEnd(op):
		return Conflict("order %s has ended (%s/%s): cannot %s", o.ID, o.Status, o.Delivery, r.verb)
	case op == opPickUp && has(r.delivery, o.Delivery) && has(live, o.Status) && o.Status != StatusReadyForPickup:
		return Conflict("order %s is not ready (%s/%s): cannot %s", o.ID, o.Status, o.Delivery, r.verb)
	case !has(r.from, o.Status) || !has(r.delivery, o.Delivery):
		return Conflict("order %s is %s/%s: cannot %s", o.ID, o.Status, o.Delivery, r.verb)
	}
	return nil
}

func has[S ~string](set []S, s S) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

// apply runs a transition: it checks the state, the time, then guard, and changes nothing if any of
// them fails. Past them nothing can fail: it changes the order in place and lets edit finish the
// order and its event. (A copy of the order, for edit to work on, would escape to the heap on
// every change.)
func (o *Order) apply(op op, at time.Time, guard func() error, edit func(n *Order, ev *Event)) (Event, error) {
	if err := o.check(op); err != nil {
		return Event{}, err
	}
	if at.IsZero() {
		return Event{}, Invalid("at", "the time of the change must be set")
	}
	if guard != nil {
		if err := guard(); err != nil {
			return Event{}, err
		}
	}
	r := &rules[op]
	if r.toStatus != "" {
		o.Status = r.toStatus
	}
	if r.toDelivery != "" {
		o.Delivery = r.toDelivery
	}
	o.Seq++
	ev := Event{OrderID: o.ID, Seq: o.Seq, Type: r.event, At: at}
	if edit != nil {
		edit(o, &ev)
	}
	if o.Terminal() && o.EndedAt.IsZero() {
		o.EndedAt = at
	}
	ev.Status, ev.Delivery = o.Status, o.Delivery
	if ev.RiderID == "" {
		ev.RiderID = o.RiderID
	}
	return ev, nil
}

// release frees the rider offered or holding n and names it on ev.
func release(n *Order, ev *Event) {
	ev.RiderID = n.RiderID
	n.RiderID = ""
	n.WrongPickupCodes = 0 // the next rider's count starts afresh
	n.OfferExpiresAt = time.Time{}
	n.AssignedAt = time.Time{}
}

// end records why and by whom n was ended or undone.
func end(n *Order, ev *Event, actor, reason string) {
	n.Actor, n.Reason = actor, reason
	ev.Actor, ev.Reason = actor, reason
}

// isRider returns a KindForbidden error unless rider is the one offered or holding the order.
func (o *Order) isRider(rider string) error {
	if rider == "" || rider != o.RiderID {
		return Forbidden("order %s is not with rider %q", o.ID, rider)
	}
	return nil
}

func required(field, v string) error {
	if v == "" {
		return Invalid(field, "must not be empty")
	}
	return nil
}

// SendTicket records that the order was pushed to the store's printer: CREATED → TICKET_SENT.
func (o *Order) SendTicket(at time.Time) (Event, error) {
	return o.apply(opSendTicket, at, nil, nil)
}

// MerchantAccept records that the store took the order: TICKET_SENT → MERCHANT_ACCEPTED.
func (o *Order) MerchantAccept(at time.Time) (Event, error) {
	return o.apply(opMerchantAccept, at, nil, func(n *Order, _ *Event) { n.AcceptedAt = at })
}

// MerchantReject records that the store refused the order (out of stock, closed): CREATED or
// TICKET_SENT → REJECTED. The delivery is cancelled and any rider released.
func (o *Order) MerchantReject(at time.Time, reason string) (Event, error) {
	return o.apply(opMerchantReject, at, nil, func(n *Order, ev *Event) {
		release(n, ev)
		end(n, ev, ActorMerchant, reason)
	})
}

// AutoCancel cancels an order the store did not acknowledge in time: CREATED or TICKET_SENT →
// AUTO_CANCELLED. The delivery is cancelled and any rider released.
func (o *Order) AutoCancel(at time.Time, reason string) (Event, error) {
	return o.apply(opAutoCancel, at, nil, func(n *Order, ev *Event) {
		release(n, ev)
		end(n, ev, ActorSystem, reason)
	})
}

// MarkReady records that the goods are packed: MERCHANT_ACCEPTED → READY_FOR_PICKUP.
func (o *Order) MarkReady(at time.Time) (Event, error) {
	return o.apply(opMarkReady, at, nil, func(n *Order, _ *Event) { n.ReadyMarkedAt = at })
}

// Offer offers the delivery to rider until expires: UNASSIGNED → OFFERED.
func (o *Order) Offer(at time.Time, rider string, expires time.Time) (Event, error) {
	return o.apply(opOffer, at, func() error {
		if err := required("rider", rider); err != nil {
			return err
		}
		if !expires.After(at) {
			return Invalid("expires", "%s is not after the offer at %s",
				expires.Format(time.RFC3339), at.Format(time.RFC3339))
		}
		return nil
	}, func(n *Order, ev *Event) {
		n.RiderID, n.OfferExpiresAt = rider, expires
		ev.ExpiresAt = expires
	})
}

// DeclineOffer records that the offered rider turned the offer down: OFFERED → UNASSIGNED.
func (o *Order) DeclineOffer(at time.Time, rider string) (Event, error) {
	return o.apply(opDeclineOffer, at, func() error { return o.isRider(rider) }, release)
}

// ExpireOffer withdraws an offer whose time is up: OFFERED → UNASSIGNED, when at is not before
// OfferExpiresAt.
func (o *Order) ExpireOffer(at time.Time) (Event, error) {
	return o.apply(opExpireOffer, at, func() error {
		if at.Before(o.OfferExpiresAt) {
			return Conflict("order %s: the offer to rider %s runs until %s", o.ID, o.RiderID,
				o.OfferExpiresAt.Format(time.RFC3339))
		}
		return nil
	}, release)
}

// AcceptOffer records that the offered rider took the order before the offer expired: OFFERED →
// ASSIGNED. Another rider gets KindForbidden, an expired offer KindConflict.
func (o *Order) AcceptOffer(at time.Time, rider string) (Event, error) {
	return o.apply(opAcceptOffer, at, func() error {
		if err := o.isRider(rider); err != nil {
			return err
		}
		if !at.Before(o.OfferExpiresAt) {
			return Conflict("order %s: the offer to rider %s expired at %s", o.ID, rider,
				o.OfferExpiresAt.Format(time.RFC3339))
		}
		return nil
	}, func(n *Order, _ *Event) {
		n.OfferExpiresAt = time.Time{}
		n.AssignedAt = at
	})
}

// Assign gives the delivery to rider without an offer, as automatic dispatch does: UNASSIGNED →
// ASSIGNED.
func (o *Order) Assign(at time.Time, rider string) (Event, error) {
	return o.apply(opAssign, at, func() error { return required("rider", rider) }, func(n *Order, _ *Event) {
		n.RiderID, n.AssignedAt = rider, at
	})
}

// Reassign takes the delivery back from its rider before pickup so that dispatch can give it to
// another: OFFERED, ASSIGNED or ARRIVED_AT_PICKUP → UNASSIGNED. The reason is required; the
// event names the rider released.
func (o *Order) Reassign(at time.Time, reason string) (Event, error) {
	return o.apply(opReassign, at, func() error { return required("reason", reason) }, func(n *Order, ev *Event) {
		release(n, ev)
		end(n, ev, "", reason)
	})
}

// ArriveAtPickup records that the rider reached the store: ASSIGNED → ARRIVED_AT_PICKUP.
func (o *Order) ArriveAtPickup(at time.Time, rider string) (Event, error) {
	return o.apply(opArriveAtPickup, at, func() error { return o.isRider(rider) }, nil)
}

// PickUp records that the rider has the goods: ARRIVED_AT_PICKUP (or ASSIGNED) → PICKED_UP. The
// order must be READY_FOR_PICKUP; before that it is a KindConflict "not ready".
func (o *Order) PickUp(at time.Time, rider string) (Event, error) {
	return o.apply(opPickUp, at, func() error { return o.isRider(rider) }, func(n *Order, _ *Event) {
		n.PickedUpAt = at
	})
}

// ArriveAtDropoff records that the rider reached the address: PICKED_UP → ARRIVED_AT_DROPOFF.
func (o *Order) ArriveAtDropoff(at time.Time, rider string) (Event, error) {
	return o.apply(opArriveAtDropoff, at, func() error { return o.isRider(rider) }, nil)
}

// Deliver records the handover to the consumer: ARRIVED_AT_DROPOFF (or PICKED_UP) → DELIVERED.
func (o *Order) Deliver(at time.Time, rider string, h Handover) (Event, error) {
	return o.DeliverWith(at, rider, Dropoff{Handover: h})
}

// Dropoff is how the goods were handed over, with the proof of a contactless drop-off.
type Dropoff struct {
	Handover Handover
	// Code opens the locker slot or the drop point's shelf, at most 64 bytes (the API requires
	// it for LOCKER and DROP_POINT).
	Code string
	// PhotoRef refers to the photo of the goods left (a key in the platform's photo store), at
	// most 512 bytes; optional.
	PhotoRef string
}

// Validate checks a drop-off.
func (d Dropoff) Validate() error {
	switch {
	case !d.Handover.Valid():
		return Invalid("handover", "%q is not a handover", d.Handover)
	case len(d.Code) > 64:
		return Invalid("code", "%d bytes, at most 64", len(d.Code))
	case len(d.PhotoRef) > 512:
		return Invalid("photo_ref", "%d bytes, at most 512", len(d.PhotoRef))
	}
	return nil
}

// DeliverWith records a drop-off with its proof, as Deliver does: the order keeps the code and
// the photo reference. A hand-over in person of an order with a HandoverCode needs that code in
// d.Code: another is ErrWrongHandoverCode (the caller records it with RejectHandoverCode), and
// after MaxWrongCodes wrong codes it is ErrHandoverLocked whatever the code; a contactless
// drop-off needs no hand-over code. Once delivered the code opens nothing: the order has ended.
func (o *Order) DeliverWith(at time.Time, rider string, d Dropoff) (Event, error) {
	return o.apply(opDeliver, at, func() error {
		if err := o.isRider(rider); err != nil {
			return err
		}
		if err := d.Validate(); err != nil {
			return err
		}
		if err := o.matchesChoice(d.Handover); err != nil {
			return err
		}
		if d.Handover == HandoverInPerson && o.HandoverCode != "" {
			switch {
			case o.HandoverLocked():
				return ErrHandoverLocked
			case !o.CheckHandoverCode(d.Code):
				return ErrWrongHandoverCode
			}
		}
		return nil
	}, func(n *Order, ev *Event) {
		n.Handover, n.DeliveredAt, n.DropoffCode, n.PhotoRef = d.Handover, at, d.Code, d.PhotoRef
		if d.Handover == HandoverInPerson {
			n.DropoffCode = "" // the consumer's hand-over code, not a proof to keep
		}
		ev.Handover = d.Handover
	})
}

// matchesChoice returns the KindConflict error of a drop-off h that is not the one the consumer
// chose (ChosenDropoff), or nil. The one exception: a consumer who chose IN_PERSON has the goods
// left at the door once the hand-over in person is locked (HandoverLocked).
func (o *Order) matchesChoice(h Handover) error {
	chosen := o.ChosenDropoff()
	switch {
	case h == chosen:
		return nil
	case chosen == HandoverInPerson && h == HandoverDoor:
		if o.HandoverLocked() {
			return nil
		}
		return Conflict("order %s: the consumer chose IN_PERSON; DOOR only after %d wrong hand-over codes", o.ID, MaxWrongCodes)
	}
	return Conflict("order %s: the consumer chose %s, not %s", o.ID, chosen, h)
}

// MaxWrongCodes is the number of wrong hand-over codes after which an order is handed over in
// person no more (HandoverLocked).
const MaxWrongCodes = 5

// The errors of a hand-over in person (DeliverWith).
var (
	// ErrWrongHandoverCode is the KindInvalid error on "code" of a hand-over code that is not the
	// order's.
	ErrWrongHandoverCode error = &Error{Kind: KindInvalid, Field: "code", Msg: "not the consumer's hand-over code"}
	// ErrHandoverLocked is the KindConflict error of a hand-over in person after MaxWrongCodes
	// wrong codes.
	ErrHandoverLocked error = &Error{Kind: KindConflict,
		Msg: "too many wrong codes: leave the goods contactless or call the consumer"}
)

// HandoverLocked reports whether MaxWrongCodes wrong hand-over codes were tried: only a
// contactless drop-off remains.
func (o Order) HandoverLocked() bool { return o.WrongCodes >= MaxWrongCodes }

// RejectHandoverCode counts a wrong hand-over code that rider, holding the goods, tried:
// WrongCodes+1 and the HANDOVER_CODE_REJECTED event, statuses unchanged. Once the order is
// HandoverLocked it is ErrHandoverLocked.
func (o *Order) RejectHandoverCode(at time.Time, rider string) (Event, error) {
	return o.apply(opRejectHandoverCode, at, func() error {
		if err := o.isRider(rider); err != nil {
			return err
		}
		if o.HandoverLocked() {
			return ErrHandoverLocked
		}
		return nil
	}, func(n *Order, ev *Event) {
		n.WrongCodes++
		ev.RiderID = rider
	})
}

// The errors of a pickup at the store.
var (
	// ErrWrongPickupCode is the KindInvalid error on "pickup_code" of a code that is not the
	// order's pickup code.
	ErrWrongPickupCode error = &Error{Kind: KindInvalid, Field: "pickup_code", Msg: "does not match the order's pickup number"}
	// ErrPickupLocked is the KindConflict error of a pickup after MaxWrongCodes wrong pickup
	// codes for the rider who holds the order.
	ErrPickupLocked error = &Error{Kind: KindConflict,
		Msg: "too many wrong pickup codes: an operator reassigns the order before its goods leave the store"}
)

// PickupLocked reports whether MaxWrongCodes wrong pickup codes were told for the order's
// rider: its goods stay at the store until an operator reassigns it.
func (o Order) PickupLocked() bool { return o.WrongPickupCodes >= MaxWrongCodes }

// RejectPickupCode counts a wrong pickup code that actor (the rider, or the store entering what
// the rider told) gave at the store: WrongPickupCodes+1 and the PICKUP_CODE_REJECTED event,
// statuses unchanged. Once the order is PickupLocked it is ErrPickupLocked.
func (o *Order) RejectPickupCode(at time.Time, actor string) (Event, error) {
	return o.apply(opRejectPickupCode, at, func() error {
		if err := required("actor", actor); err != nil {
			return err
		}
		if o.PickupLocked() {
			return ErrPickupLocked
		}
		return nil
	}, func(n *Order, ev *Event) {
		n.WrongPickupCodes++
		ev.RiderID, ev.Actor = n.RiderID, actor
	})
}

// Cancel cancels the order on behalf of actor (the consumer, the platform, an operator) while the
// goods are still at the store: Status and Delivery become CANCELLED and any rider is released.
// After pickup it is a KindConflict: the delivery must fail and return instead.
func (o *Order) Cancel(at time.Time, actor, reason string) (Event, error) {
	return o.apply(opCancel, at, func() error { return required("actor", actor) }, func(n *Order, ev *Event) {
		release(n, ev)
		end(n, ev, actor, reason)
	})
}

// Fail records that the goods could not be handed over: PICKED_UP or ARRIVED_AT_DROPOFF →
// FAILED. The reason is required; the rider keeps the goods until Return.
func (o *Order) Fail(at time.Time, reason string) (Event, error) {
	return o.apply(opFail, at, func() error { return required("reason", reason) }, func(n *Order, ev *Event) {
		end(n, ev, "", reason)
	})
}

// Return records that a failed delivery's goods are back at the store: FAILED → RETURNED.
func (o *Order) Return(at time.Time) (Event, error) {
	return o.apply(opReturn, at, nil, nil)
}

// ConfirmReceipt records that the consumer confirmed having the goods of a DELIVERED order: it
// sets ReceiptConfirmedAt and leaves Status, Delivery and EndedAt as they are. It is the one
// step an ended order takes. Any other delivery status, or a receipt confirmed already, is
// KindConflict. The event names no rider: the delivery was over before.
func (o *Order) ConfirmReceipt(at time.Time) (Event, error) {
	ev, err := o.apply(opConfirmReceipt, at, func() error {
		if !o.ReceiptConfirmedAt.IsZero() {
			return Conflict("order %s: receipt already confirmed at %s", o.ID, o.ReceiptConfirmedAt.Format(time.RFC3339))
		}
		return nil
	}, func(n *Order, _ *Event) { n.ReceiptConfirmedAt = at })
	ev.RiderID = ""
	return ev, err
}
