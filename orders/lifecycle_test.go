package orders_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"zhengxiang/orders"
	"zhengxiang/orders/orderstest"
)

// state is a point of the state machine: the order side and the delivery side.
type state struct {
	s orders.OrderStatus
	d orders.DeliveryStatus
}

func (st state) String() string { return string(st.s) + "/" + string(st.d) }

const rider = "rider-1" // holds the order in every fixture with a rider

var (
	at     = orderstest.FestivalStart.Add(5 * time.Minute)  // when the fixtures' transitions happen
	expiry = orderstest.FestivalStart.Add(10 * time.Minute) // when the fixtures' offer expires
)

// inState returns a valid order placed at FestivalStart and put straight into st, with the rider
// fields that go with st, at seq 7. An order in an ended state ended a minute before at.
func inState(t *testing.T, st state) orders.Order {
	t.Helper()
	o, _ := orderstest.MustNewOrder(t, orderstest.SampleOrder("o-1"))
	o.Status, o.Delivery, o.Seq = st.s, st.d, 7
	if o.Terminal() {
		o.EndedAt = at.Add(-time.Minute)
	}
	switch st.d {
	case orders.DeliveryUnassigned, orders.DeliveryCancelled:
	case orders.DeliveryOffered:
		o.RiderID, o.OfferExpiresAt = rider, expiry
	default:
		o.RiderID, o.AssignedAt = rider, orderstest.FestivalStart.Add(time.Minute)
	}
	return o
}

// transition is a state machine method called with arguments that suit every state it is legal
// in; asOther calls it as another rider, for the methods that check who the rider is.
type transition struct {
	name    string
	event   orders.EventType
	at      time.Time
	call    func(o *orders.Order) (orders.Event, error)
	asOther func(o *orders.Order) (orders.Event, error)
}

var transitions = []transition{
	{name: "SendTicket", event: orders.EventTicketSent, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.SendTicket(at) }},
	{name: "MerchantAccept", event: orders.EventMerchantAccepted, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.MerchantAccept(at) }},
	{name: "MerchantReject", event: orders.EventMerchantRejected, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.MerchantReject(at, "out of stock") }},
	{name: "AutoCancel", event: orders.EventAutoCancelled, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.AutoCancel(at, "no answer in 5 minutes") }},
	{name: "MarkReady", event: orders.EventReadyForPickup, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.MarkReady(at) }},
	{name: "Offer", event: orders.EventOffered, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.Offer(at, "rider-2", at.Add(time.Minute)) }},
	{name: "DeclineOffer", event: orders.EventOfferDeclined, at: at,
		call:    func(o *orders.Order) (orders.Event, error) { return o.DeclineOffer(at, rider) },
		asOther: func(o *orders.Order) (orders.Event, error) { return o.DeclineOffer(at, "rider-9") }},
	{name: "ExpireOffer", event: orders.EventOfferExpired, at: expiry,
		call: func(o *orders.Order) (orders.Event, error) { return o.ExpireOffer(expiry) }},
	{name: "AcceptOffer", event: orders.EventAssigned, at: at,
		call:    func(o *orders.Order) (orders.Event, error) { return o.AcceptOffer(at, rider) },
		asOther: func(o *orders.Order) (orders.Event, error) { return o.AcceptOffer(at, "rider-9") }},
	{name: "Assign", event: orders.EventAssigned, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.Assign(at, "rider-2") }},
	{name: "Reassign", event: orders.EventReassigned, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.Reassign(at, "bike broke down") }},
	{name: "ArriveAtPickup", event: orders.EventArrivedAtPickup, at: at,
		call:    func(o *orders.Order) (orders.Event, error) { return o.ArriveAtPickup(at, rider) },
		asOther: func(o *orders.Order) (orders.Event, error) { return o.ArriveAtPickup(at, "rider-9") }},
	{name: "PickUp", event: orders.EventPickedUp, at: at,
		call:    func(o *orders.Order) (orders.Event, error) { return o.PickUp(at, rider) },
		asOther: func(o *orders.Order) (orders.Event, error) { return o.PickUp(at, "rider-9") }},
	{name: "ArriveAtDropoff", event: orders.EventArrivedAtDropoff, at: at,
		call:    func(o *orders.Order) (orders.Event, error) { return o.ArriveAtDropoff(at, rider) },
		asOther: func(o *orders.Order) (orders.Event, error) { return o.ArriveAtDropoff(at, "rider-9") }},
	{name: "Deliver", event: orders.EventDelivered, at: at,
		call:    func(o *orders.Order) (orders.Event, error) { return o.Deliver(at, rider, orders.HandoverDoor) },
		asOther: func(o *orders.Order) (orders.Event, error) { return o.Deliver(at, "rider-9", orders.HandoverDoor) }},
	{name: "Cancel", event: orders.EventCancelled, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.Cancel(at, "consumer", "ordered twice") }},
	{name: "Fail", event: orders.EventFailed, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.Fail(at, "nobody at the address") }},
	{name: "Return", event: orders.EventReturned, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.Return(at) }},
	{name: "ConfirmReceipt", event: orders.EventReceiptConfirmed, at: at,
		call: func(o *orders.Order) (orders.Event, error) { return o.ConfirmReceipt(at) }},
}

// legalMoves is the specification of the state machine, DESIGN.md §3: for each transition, the
// states it is legal in and the state it leads to. Every other (state, transition) pair is
// illegal.
func legalMoves() map[string]map[state]state {
	const (
		created   = orders.StatusCreated
		ticket    = orders.StatusTicketSent
		accepted  = orders.StatusMerchantAccepted
		ready     = orders.StatusReadyForPickup
		unassign  = orders.DeliveryUnassigned
		offered   = orders.DeliveryOffered
		assigned  = orders.DeliveryAssigned
		atPickup  = orders.DeliveryArrivedAtPickup
		pickedUp  = orders.DeliveryPickedUp
		atDropoff = orders.DeliveryArrivedAtDropoff
		failed    = orders.DeliveryFailed
		dCancel   = orders.DeliveryCancelled
	)
	live := []orders.OrderStatus{created, ticket, accepted, ready}
	goodsAtStore := []orders.DeliveryStatus{unassign, offered, assigned, atPickup}
	m := map[string]map[state]state{}
	add := func(tr string, from, to state) {
		if m[tr] == nil {
			m[tr] = map[state]state{}
		}
		m[tr][from] = to
	}
	// The merchant side moves while the goods are at the store, whatever the rider does.
	for _, d := range goodsAtStore {
		add("SendTicket", state{created, d}, state{ticket, d})
		add("MerchantAccept", state{ticket, d}, state{accepted, d})
		add("MarkReady", state{accepted, d}, state{ready, d})
		for _, s := range []orders.OrderStatus{created, ticket} {
			add("MerchantReject", state{s, d}, state{orders.StatusRejected, dCancel})
			add("AutoCancel", state{s, d}, state{orders.StatusAutoCancelled, dCancel})
		}
		for _, s := range live {
			add("Cancel", state{s, d}, state{orders.StatusCancelled, dCancel})
		}
	}
	// Offers and assignment go on while the merchant prepares.
	for _, s := range live {
		add("Offer", state{s, unassign}, state{s, offered})
		add("Assign", state{s, unassign}, state{s, assigned})
		add("DeclineOffer", state{s, offered}, state{s, unassign})
		add("ExpireOffer", state{s, offered}, state{s, unassign})
		add("AcceptOffer", state{s, offered}, state{s, assigned})
		for _, d := range []orders.DeliveryStatus{offered, assigned, atPickup} {
			add("Reassign", state{s, d}, state{s, unassign})
		}
		add("ArriveAtPickup", state{s, assigned}, state{s, atPickup})
	}
	// From pickup on, the goods are ready.
	add("PickUp", state{ready, assigned}, state{ready, pickedUp})
	add("PickUp", state{ready, atPickup}, state{ready, pickedUp})
	add("ArriveAtDropoff", state{ready, pickedUp}, state{ready, atDropoff})
	for _, d := range []orders.DeliveryStatus{pickedUp, atDropoff} {
		add("Deliver", state{ready, d}, state{ready, orders.DeliveryDelivered})
		add("Fail", state{ready, d}, state{ready, failed})
	}
	add("Return", state{ready, failed}, state{ready, orders.DeliveryReturned})
	// The consumer confirms the receipt of a delivered order, which has ended: the one step
	// after the end, and it changes neither side.
	add("ConfirmReceipt", state{ready, orders.DeliveryDelivered}, state{ready, orders.DeliveryDelivered})
	return m
}

// TestTransitions runs every transition in every (order status, delivery status) pair, reachable
// or not: the legal ones must lead where legalMoves says, the others must fail with KindConflict
// and leave the order as it was.
func TestTransitions(t *testing.T) {
	legal := legalMoves()
	if len(legal) != len(transitions) {
		t.Fatalf("legalMoves covers %d transitions, the test runs %d", len(legal), len(transitions))
	}
	seen := 0
	for _, tr := range transitions {
		for _, s := range orders.OrderStatuses() {
			for _, d := range orders.DeliveryStatuses() {
				from := state{s, d}
				to, ok := legal[tr.name][from]
				if ok {
					seen++
				}
				t.Run(tr.name+"/"+from.String(), func(t *testing.T) {
					o := inState(t, from)
					before := o
					ev, err := tr.call(&o)
					if !ok {
						checkRefused(t, err, orders.KindConflict, o, before, ev)
						for _, want := range []string{string(s), string(d), "cannot"} {
							if err != nil && !strings.Contains(err.Error(), want) {
								t.Errorf("message %q does not name %q", err, want)
							}
						}
						return
					}
					if err != nil {
						t.Fatalf("%s in %s: %v", tr.name, from, err)
					}
					checkMoved(t, tr, before, o, ev, to)
				})
			}
		}
	}
	want := 0
	for _, moves := range legal {
		want += len(moves)
	}
	if seen != want {
		t.Errorf("ran %d legal moves, legalMoves lists %d: a listed state does not exist", seen, want)
	}
}

// TestTransitionsCheckRider runs each rider's transition as another rider in every state where it
// is legal: KindForbidden, and the order stays as it was.
func TestTransitionsCheckRider(t *testing.T) {
	legal := legalMoves()
	for _, tr := range transitions {
		if tr.asOther == nil {
			continue
		}
		for from := range legal[tr.name] {
			t.Run(tr.name+"/"+from.String(), func(t *testing.T) {
				o := inState(t, from)
				before := o
				ev, err := tr.asOther(&o)
				checkRefused(t, err, orders.KindForbidden, o, before, ev)
			})
		}
	}
}

func checkRefused(t *testing.T, err error, kind orders.Kind, o, before orders.Order, ev orders.Event) {
	t.Helper()
	if got := orders.KindOf(err); got != kind {
		t.Errorf("error %v has kind %v, want %v", err, got, kind)
	}
	if !reflect.DeepEqual(o, before) {
		t.Errorf("refused change altered the order:\n got %+v\nwant %+v", o, before)
	}
	if ev != (orders.Event{}) {
		t.Errorf("refused change returned event %+v", ev)
	}
}

func checkMoved(t *testing.T, tr transition, before, o orders.Order, ev orders.Event, to state) {
	t.Helper()
	if got := (state{o.Status, o.Delivery}); got != to {
		t.Errorf("state = %s, want %s", got, to)
	}
	if o.Seq != before.Seq+1 {
		t.Errorf("seq = %d, want %d", o.Seq, before.Seq+1)
	}
	wantEv := orders.Event{OrderID: o.ID, Seq: o.Seq, Type: tr.event, At: tr.at, Status: to.s, Delivery: to.d}
	got := ev
	got.RiderID, got.Reason, got.Actor, got.Handover, got.ExpiresAt = "", "", "", "", time.Time{}
	if got != wantEv {
		t.Errorf("event = %+v, want %+v", ev, wantEv)
	}
	if !orders.SameContent(o, before) || o.Key() != before.Key() || !o.PlacedAt.Equal(before.PlacedAt) {
		t.Errorf("the change altered what was ordered")
	}
	if before.Terminal() {
		if !o.EndedAt.Equal(before.EndedAt) {
			t.Errorf("ended at %v, want %v as before", o.EndedAt, before.EndedAt)
		}
	} else if o.Terminal() != o.EndedAt.Equal(tr.at) || (!o.Terminal() && !o.EndedAt.IsZero()) {
		t.Errorf("terminal %v, ended at %v", o.Terminal(), o.EndedAt)
	}
	if tr.event == orders.EventReceiptConfirmed {
		if !o.ReceiptConfirmedAt.Equal(tr.at) {
			t.Errorf("receipt confirmed at %v, want %v", o.ReceiptConfirmedAt, tr.at)
		}
		// The delivery is over: the order keeps its rider, the event names none.
		if ev.RiderID != "" || o.RiderID != before.RiderID || !o.AssignedAt.Equal(before.AssignedAt) {
			t.Errorf("event names rider %q; order rider %q assigned at %v, want %q at %v",
				ev.RiderID, o.RiderID, o.AssignedAt, before.RiderID, before.AssignedAt)
		}
		return
	}
	if !o.ReceiptConfirmedAt.IsZero() {
		t.Errorf("%s set the receipt confirmation to %v", tr.name, o.ReceiptConfirmedAt)
	}
	switch to.d {
	case orders.DeliveryUnassigned, orders.DeliveryCancelled:
		if o.RiderID != "" || !o.OfferExpiresAt.IsZero() || !o.AssignedAt.IsZero() {
			t.Errorf("released order keeps rider %q, offer until %v, assigned at %v", o.RiderID, o.OfferExpiresAt, o.AssignedAt)
		}
		if ev.RiderID != before.RiderID {
			t.Errorf("event names rider %q, want the released %q", ev.RiderID, before.RiderID)
		}
	case orders.DeliveryOffered:
		if before.Delivery == orders.DeliveryOffered { // the merchant side moved
			if o.RiderID != before.RiderID || !o.OfferExpiresAt.Equal(before.OfferExpiresAt) {
				t.Errorf("offer changed to %q until %v", o.RiderID, o.OfferExpiresAt)
			}
		} else if o.RiderID != "rider-2" || !o.OfferExpiresAt.Equal(at.Add(time.Minute)) || !ev.ExpiresAt.Equal(o.OfferExpiresAt) {
			t.Errorf("offer to %q until %v (event %v)", o.RiderID, o.OfferExpiresAt, ev.ExpiresAt)
		}
	default:
		if o.RiderID == "" || ev.RiderID != o.RiderID || o.AssignedAt.IsZero() || !o.OfferExpiresAt.IsZero() {
			t.Errorf("rider %q (event %q) assigned at %v, offer until %v", o.RiderID, ev.RiderID, o.AssignedAt, o.OfferExpiresAt)
		}
	}
}

func TestTransitionArguments(t *testing.T) {
	accepted := orders.StatusMerchantAccepted
	ready := orders.StatusReadyForPickup
	for _, tc := range []struct {
		name string
		from state
		call func(o *orders.Order) (orders.Event, error)
		kind orders.Kind
		msg  string // in the error, if set
	}{
		{"offer to nobody", state{accepted, orders.DeliveryUnassigned},
			func(o *orders.Order) (orders.Event, error) { return o.Offer(at, "", at.Add(time.Minute)) }, orders.KindInvalid, "rider"},
		{"offer expiring at once", state{accepted, orders.DeliveryUnassigned},
			func(o *orders.Order) (orders.Event, error) { return o.Offer(at, "rider-2", at) }, orders.KindInvalid, "expires"},
		{"assign to nobody", state{accepted, orders.DeliveryUnassigned},
			func(o *orders.Order) (orders.Event, error) { return o.Assign(at, "") }, orders.KindInvalid, "rider"},
		{"reassign without reason", state{accepted, orders.DeliveryAssigned},
			func(o *orders.Order) (orders.Event, error) { return o.Reassign(at, "") }, orders.KindInvalid, "reason"},
		{"cancel without actor", state{accepted, orders.DeliveryAssigned},
			func(o *orders.Order) (orders.Event, error) { return o.Cancel(at, "", "why not") }, orders.KindInvalid, "actor"},
		{"fail without reason", state{ready, orders.DeliveryPickedUp},
			func(o *orders.Order) (orders.Event, error) { return o.Fail(at, "") }, orders.KindInvalid, "reason"},
		{"deliver without handover", state{ready, orders.DeliveryArrivedAtDropoff},
			func(o *orders.Order) (orders.Event, error) { return o.Deliver(at, rider, "") }, orders.KindInvalid, "handover"},
		{"deliver on the roof", state{ready, orders.DeliveryArrivedAtDropoff},
			func(o *orders.Order) (orders.Event, error) { return o.Deliver(at, rider, "ROOF") }, orders.KindInvalid, "handover"},
		{"deliver as nobody", state{ready, orders.DeliveryArrivedAtDropoff},
			func(o *orders.Order) (orders.Event, error) { return o.Deliver(at, "", orders.HandoverDoor) }, orders.KindForbidden, ""},
		{"no time", state{orders.StatusCreated, orders.DeliveryUnassigned},
			func(o *orders.Order) (orders.Event, error) { return o.SendTicket(time.Time{}) }, orders.KindInvalid, "at"},
		{"accept when the offer expires", state{accepted, orders.DeliveryOffered},
			func(o *orders.Order) (orders.Event, error) { return o.AcceptOffer(expiry, rider) }, orders.KindConflict, "expired"},
		{"accept after the offer expired", state{accepted, orders.DeliveryOffered},
			func(o *orders.Order) (orders.Event, error) { return o.AcceptOffer(expiry.Add(time.Second), rider) }, orders.KindConflict, "expired"},
		{"expire too early", state{accepted, orders.DeliveryOffered},
			func(o *orders.Order) (orders.Event, error) { return o.ExpireOffer(expiry.Add(-time.Second)) }, orders.KindConflict, "runs until"},
		{"pick up before ready", state{accepted, orders.DeliveryArrivedAtPickup},
			func(o *orders.Order) (orders.Event, error) { return o.PickUp(at, rider) }, orders.KindConflict, "not ready"},
		{"pick up before the ticket", state{orders.StatusCreated, orders.DeliveryAssigned},
			func(o *orders.Order) (orders.Event, error) { return o.PickUp(at, rider) }, orders.KindConflict, "not ready"},
		{"cancel after pickup", state{ready, orders.DeliveryPickedUp},
			func(o *orders.Order) (orders.Event, error) { return o.Cancel(at, "consumer", "too late") }, orders.KindConflict, "cannot cancel"},
		{"reject after accepting", state{accepted, orders.DeliveryUnassigned},
			func(o *orders.Order) (orders.Event, error) { return o.MerchantReject(at, "out of stock") }, orders.KindConflict, "MERCHANT_ACCEPTED"},
		{"confirm receipt without time", state{ready, orders.DeliveryDelivered},
			func(o *orders.Order) (orders.Event, error) { return o.ConfirmReceipt(time.Time{}) }, orders.KindInvalid, "at"},
		{"confirm receipt on the way", state{ready, orders.DeliveryArrivedAtDropoff},
			func(o *orders.Order) (orders.Event, error) { return o.ConfirmReceipt(at) }, orders.KindConflict, "cannot confirm receipt"},
		{"confirm receipt of a returned order", state{ready, orders.DeliveryReturned},
			func(o *orders.Order) (orders.Event, error) { return o.ConfirmReceipt(at) }, orders.KindConflict, "RETURNED"},
		{"anything after delivery", state{ready, orders.DeliveryDelivered},
			func(o *orders.Order) (orders.Event, error) { return o.Fail(at, "changed mind") }, orders.KindConflict, "has ended"},
		{"anything after rejection", state{orders.StatusRejected, orders.DeliveryCancelled},
			func(o *orders.Order) (orders.Event, error) { return o.Offer(at, "rider-2", expiry) }, orders.KindConflict, "has ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := inState(t, tc.from)
			before := o
			ev, err := tc.call(&o)
			checkRefused(t, err, tc.kind, o, before, ev)
			if err != nil && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestNewOrder(t *testing.T) {
	in := orderstest.SampleOrder("o-1")
	in.Status, in.Delivery, in.Seq, in.RiderID = orders.StatusReadyForPickup, orders.DeliveryDelivered, 42, "rider-1"
	in.DeliveredAt, in.Reason = at, "copied from elsewhere"
	o, ev, err := orders.NewOrder(in)
	if err != nil {
		t.Fatal(err)
	}
	want := orderstest.SampleOrder("o-1")
	want.Status, want.Delivery, want.Seq = orders.StatusCreated, orders.DeliveryUnassigned, 1
	// No choice of drop-off: the door, stored. The secrets are drawn (TestNewOrderSecrets).
	want.DropoffMethod = orders.HandoverDoor
	want.TrackingSecret, want.PickupCode, want.HandoverCode = o.TrackingSecret, o.PickupCode, o.HandoverCode
	if !reflect.DeepEqual(o, want) {
		t.Errorf("NewOrder =\n %+v\nwant\n %+v", o, want)
	}
	wantEv := orders.Event{OrderID: "o-1", Seq: 1, Type: orders.EventOrderCreated, At: want.PlacedAt,
		Status: orders.StatusCreated, Delivery: orders.DeliveryUnassigned}
	if ev != wantEv {
		t.Errorf("event = %+v, want %+v", ev, wantEv)
	}
	if !o.Active() || o.Terminal() {
		t.Errorf("a new order is not active")
	}
	in.Items = nil
	if _, _, err := orders.NewOrder(in); !orders.IsKind(err, orders.KindInvalid) {
		t.Errorf("NewOrder of an invalid order: %v", err)
	}
}

// TestLifecycle follows orders through whole lives and checks what each step records.
func TestLifecycle(t *testing.T) {
	minute := func(n int) time.Time { return orderstest.FestivalStart.Add(time.Duration(n) * time.Minute) }
	must := func(ev orders.Event, err error) orders.Event {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}

	t.Run("reassigned then delivered", func(t *testing.T) {
		o, _ := orderstest.MustNewOrder(t, orderstest.SampleOrder("o-1"))
		must(o.SendTicket(minute(1)))
		must(o.MerchantAccept(minute(2)))
		must(o.Offer(minute(2), "rider-1", minute(3)))
		must(o.AcceptOffer(minute(2), "rider-1"))
		must(o.ArriveAtPickup(minute(8), "rider-1"))
		ev := must(o.Reassign(minute(9), "rider fell ill"))
		if ev.RiderID != "rider-1" || ev.Reason != "rider fell ill" || o.RiderID != "" || o.Reason != "rider fell ill" {
			t.Errorf("reassign: event %+v, order rider %q reason %q", ev, o.RiderID, o.Reason)
		}
		must(o.Assign(minute(10), "rider-2"))
		must(o.MarkReady(minute(11)))
		must(o.PickUp(minute(15), "rider-2"))
		must(o.ArriveAtDropoff(minute(30), "rider-2"))
		ev = must(o.Deliver(minute(31), "rider-2", orders.HandoverDoor))
		if ev.Seq != 12 || o.Seq != 12 || ev.Handover != orders.HandoverDoor || ev.RiderID != "rider-2" {
			t.Errorf("deliver event %+v, order seq %d", ev, o.Seq)
		}
		for name, got := range map[string]time.Time{"accepted": o.AcceptedAt, "assigned": o.AssignedAt,
			"ready": o.ReadyMarkedAt, "picked up": o.PickedUpAt, "delivered": o.DeliveredAt, "ended": o.EndedAt} {
			want := map[string]time.Time{"accepted": minute(2), "assigned": minute(10), "ready": minute(11),
				"picked up": minute(15), "delivered": minute(31), "ended": minute(31)}[name]
			if !got.Equal(want) {
				t.Errorf("%s at %v, want %v", name, got, want)
			}
		}
		if !o.Terminal() || o.Active() || o.Handover != orders.HandoverDoor || o.RiderID != "rider-2" {
			t.Errorf("delivered order: %+v", o)
		}
		if !o.ReceiptConfirmedAt.IsZero() {
			t.Errorf("delivered order has its receipt confirmed at %v", o.ReceiptConfirmedAt)
		}

		delivered := o
		ev = must(o.ConfirmReceipt(minute(40)))
		want := orders.Event{OrderID: "o-1", Seq: 13, Type: orders.EventReceiptConfirmed, At: minute(40),
			Status: orders.StatusReadyForPickup, Delivery: orders.DeliveryDelivered}
		if ev != want {
			t.Errorf("confirm receipt: event %+v, want %+v", ev, want)
		}
		confirmed := delivered
		confirmed.Seq, confirmed.ReceiptConfirmedAt = 13, minute(40)
		if !reflect.DeepEqual(o, confirmed) {
			t.Errorf("confirmed order:\n got %+v\nwant %+v", o, confirmed)
		}
		before := o
		ev, err := o.ConfirmReceipt(minute(41))
		checkRefused(t, err, orders.KindConflict, o, before, ev)
		if err != nil && !strings.Contains(err.Error(), "already confirmed") {
			t.Errorf("second confirmation: %v, want it to say the receipt is already confirmed", err)
		}
		ev, err = o.Fail(minute(42), "changed mind")
		checkRefused(t, err, orders.KindConflict, o, before, ev)
	})

	t.Run("failed and returned", func(t *testing.T) {
		o, _ := orderstest.MustNewOrder(t, orderstest.SampleOrder("o-2"))
		must(o.Assign(minute(1), "rider-1"))
		must(o.SendTicket(minute(1)))
		must(o.MerchantAccept(minute(2)))
		must(o.MarkReady(minute(10)))
		must(o.PickUp(minute(12), "rider-1"))
		ev := must(o.Fail(minute(30), "nobody at the address"))
		if ev.Reason != "nobody at the address" || o.Terminal() || o.RiderID != "rider-1" {
			t.Errorf("failed: event %+v, terminal %v, rider %q", ev, o.Terminal(), o.RiderID)
		}
		must(o.Return(minute(50)))
		if !o.Terminal() || !o.EndedAt.Equal(minute(50)) || o.Delivery != orders.DeliveryReturned {
			t.Errorf("returned order: %+v", o)
		}
	})

	t.Run("rejected by the merchant", func(t *testing.T) {
		o, _ := orderstest.MustNewOrder(t, orderstest.SampleOrder("o-3"))
		must(o.Assign(minute(1), "rider-1"))
		must(o.SendTicket(minute(1)))
		ev := must(o.MerchantReject(minute(3), "sold out"))
		if ev.RiderID != "rider-1" || ev.Actor != orders.ActorMerchant || o.RiderID != "" ||
			o.Status != orders.StatusRejected || o.Delivery != orders.DeliveryCancelled || !o.EndedAt.Equal(minute(3)) {
			t.Errorf("rejected: event %+v, order %+v", ev, o)
		}
	})

	t.Run("cancelled by the consumer", func(t *testing.T) {
		o, _ := orderstest.MustNewOrder(t, orderstest.SampleOrder("o-4"))
		must(o.Offer(minute(1), "rider-1", minute(2)))
		ev := must(o.Cancel(minute(1), "consumer", "ordered twice"))
		if ev.RiderID != "rider-1" || ev.Actor != "consumer" || ev.Reason != "ordered twice" ||
			o.Actor != "consumer" || o.Status != orders.StatusCancelled || o.Delivery != orders.DeliveryCancelled {
			t.Errorf("cancelled: event %+v, order %+v", ev, o)
		}
	})
}

func TestDeliverWithProof(t *testing.T) {
	for _, c := range []struct {
		d     orders.Dropoff
		field string // "" when valid
	}{
		{orders.Dropoff{Handover: orders.HandoverLocker, Code: "A-17", PhotoRef: "p.jpg"}, ""},
		{orders.Dropoff{Handover: orders.HandoverInPerson}, ""},
		{orders.Dropoff{Handover: "PIGEON"}, "handover"},
		{orders.Dropoff{Handover: orders.HandoverLocker, Code: strings.Repeat("x", 65)}, "code"},
		{orders.Dropoff{Handover: orders.HandoverDoor, PhotoRef: strings.Repeat("x", 513)}, "photo_ref"},
	} {
		err := c.d.Validate()
		var e *orders.Error
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%+v: %v, want valid", c.d, err)
		case c.field != "" && (!errors.As(err, &e) || e.Field != c.field):
			t.Errorf("%+v: %v, want invalid %s", c.d, err, c.field)
		}
	}
}

// TestHandoverCode checks a hand-over in person against the consumer's code: a wrong code is
// refused and counted (RejectHandoverCode), after MaxWrongCodes only a contactless drop-off is
// accepted, the right code delivers, and a delivered order opens to no code.
func TestHandoverCode(t *testing.T) {
	minute := func(n int) time.Time { return orderstest.FestivalStart.Add(time.Duration(n) * time.Minute) }
	atDoor := func(t *testing.T) orders.Order {
		t.Helper()
		in := orderstest.SampleOrder("o-1")
		in.DropoffMethod = orders.HandoverInPerson
		o, _ := orderstest.MustNewOrder(t, in)
		for _, step := range []func() (orders.Event, error){
			func() (orders.Event, error) { return o.SendTicket(minute(1)) },
			func() (orders.Event, error) { return o.MerchantAccept(minute(1)) },
			func() (orders.Event, error) { return o.MarkReady(minute(2)) },
			func() (orders.Event, error) { return o.Assign(minute(3), "rider-1") },
			func() (orders.Event, error) { return o.PickUp(minute(4), "rider-1") },
			func() (orders.Event, error) { return o.ArriveAtDropoff(minute(5), "rider-1") },
		} {
			if _, err := step(); err != nil {
				t.Fatal(err)
			}
		}
		return o
	}
	wrongOf := func(o orders.Order) string {
		if o.HandoverCode == "000000" {
			return "000001"
		}
		return "000000"
	}
	inPerson := func(code string) orders.Dropoff { return orders.Dropoff{Handover: orders.HandoverInPerson, Code: code} }

	t.Run("right code", func(t *testing.T) {
		o := atDoor(t)
		ev, err := o.DeliverWith(minute(6), "rider-1", inPerson(o.HandoverCode))
		if err != nil || ev.Type != orders.EventDelivered || o.Handover != orders.HandoverInPerson || o.DropoffCode != "" {
			t.Fatalf("DeliverWith the right code = %+v, %v; order %+v", ev, err, o)
		}
		// Single use: the order has ended, the code opens nothing more.
		if _, err := o.DeliverWith(minute(7), "rider-1", inPerson(o.HandoverCode)); orders.KindOf(err) != orders.KindConflict {
			t.Errorf("a second DeliverWith = %v, want a conflict", err)
		}
		if _, err := o.RejectHandoverCode(minute(7), "rider-1"); orders.KindOf(err) != orders.KindConflict {
			t.Errorf("RejectHandoverCode after delivery = %v, want a conflict", err)
		}
	})

	t.Run("wrong codes lock the hand-over in person", func(t *testing.T) {
		o := atDoor(t)
		for _, code := range []string{wrongOf(o), "", "12345"} {
			before := o
			if _, err := o.DeliverWith(minute(6), "rider-1", inPerson(code)); !errors.Is(err, orders.ErrWrongHandoverCode) {
				t.Fatalf("DeliverWith code %q = %v, want ErrWrongHandoverCode", code, err)
			}
			if !reflect.DeepEqual(o, before) {
				t.Fatalf("a refused DeliverWith changed the order")
			}
		}
		if _, err := o.RejectHandoverCode(minute(6), "rider-2"); orders.KindOf(err) != orders.KindForbidden {
			t.Errorf("RejectHandoverCode by another rider = %v, want forbidden", err)
		}
		for i := 1; i <= orders.MaxWrongCodes; i++ {
			ev, err := o.RejectHandoverCode(minute(6), "rider-1")
			if err != nil || ev.Type != orders.EventHandoverCodeRejected || ev.RiderID != "rider-1" ||
				ev.Delivery != orders.DeliveryArrivedAtDropoff || ev.Status != orders.StatusReadyForPickup || o.WrongCodes != i {
				t.Fatalf("RejectHandoverCode #%d = %+v, %v; wrong codes %d", i, ev, err, o.WrongCodes)
			}
		}
		if !o.HandoverLocked() {
			t.Fatalf("not locked after %d wrong codes", o.WrongCodes)
		}
		if _, err := o.RejectHandoverCode(minute(7), "rider-1"); !errors.Is(err, orders.ErrHandoverLocked) {
			t.Errorf("RejectHandoverCode when locked = %v, want ErrHandoverLocked", err)
		}
		if _, err := o.DeliverWith(minute(7), "rider-1", inPerson(o.HandoverCode)); !errors.Is(err, orders.ErrHandoverLocked) ||
			orders.KindOf(err) != orders.KindConflict {
			t.Errorf("DeliverWith the right code when locked = %v, want ErrHandoverLocked", err)
		}
		if ev, err := o.DeliverWith(minute(8), "rider-1", orders.Dropoff{Handover: orders.HandoverDoor, PhotoRef: "p.jpg"}); err != nil ||
			ev.Handover != orders.HandoverDoor {
			t.Errorf("a contactless drop-off when locked = %+v, %v; want delivered", ev, err)
		}
	})

	t.Run("order without a code", func(t *testing.T) {
		o := atDoor(t)
		o.HandoverCode = "" // stored before hand-over codes
		if _, err := o.DeliverWith(minute(6), "rider-1", inPerson("")); err != nil {
			t.Errorf("DeliverWith in person of an order without a code = %v", err)
		}
	})
}

// TestDropoffChoice checks that the rider's drop-off must be the one the consumer chose, that a
// consumer who chose none takes any, and that IN_PERSON falls back to DOOR only once locked.
func TestDropoffChoice(t *testing.T) {
	at := orderstest.FestivalStart.Add(time.Hour)
	atDoor := func(t *testing.T, method orders.Handover, wrong int) orders.Order {
		t.Helper()
		in := orderstest.SampleOrder("o-1")
		in.DropoffMethod, in.Instructions = method, "请放门口鞋柜"
		o, _ := orderstest.MustNewOrder(t, in)
		o.Status, o.Delivery, o.RiderID, o.WrongCodes = orders.StatusReadyForPickup, orders.DeliveryArrivedAtDropoff, "rider-1", wrong
		return o
	}
	for _, tc := range []struct {
		name   string
		method orders.Handover
		wrong  int
		drop   orders.Handover
		ok     bool
	}{
		{"no choice is the door: no locker", "", 0, orders.HandoverLocker, false},
		{"no choice is the door", "", 0, orders.HandoverDoor, true},
		{"door chosen, door left", orders.HandoverDoor, 0, orders.HandoverDoor, true},
		{"door chosen, locker used", orders.HandoverDoor, 0, orders.HandoverLocker, false},
		{"locker chosen, locker used", orders.HandoverLocker, 0, orders.HandoverLocker, true},
		{"drop point chosen, door used", orders.HandoverDropPoint, 0, orders.HandoverDoor, false},
		{"in person chosen, door before the lock", orders.HandoverInPerson, 4, orders.HandoverDoor, false},
		{"in person chosen, door after the lock", orders.HandoverInPerson, 5, orders.HandoverDoor, true},
		{"in person chosen, locker after the lock", orders.HandoverInPerson, 5, orders.HandoverLocker, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := atDoor(t, tc.method, tc.wrong)
			_, err := o.DeliverWith(at, "rider-1", orders.Dropoff{Handover: tc.drop, Code: "A-1"})
			if tc.ok && err != nil || !tc.ok && orders.KindOf(err) != orders.KindConflict {
				t.Fatalf("DeliverWith %s for a choice of %q = %v, want ok %v (else a conflict)", tc.drop, tc.method, err, tc.ok)
			}
		})
	}
	o := atDoor(t, "", 0)
	if o.ChosenDropoff() != orders.HandoverDoor || o.Instructions != "请放门口鞋柜" {
		t.Errorf("no choice: chosen %q, instructions %q", o.ChosenDropoff(), o.Instructions)
	}
	for _, bad := range []struct {
		method orders.Handover
		instr  string
		field  string
	}{
		{"ROOF", "", "order.dropoff_method"},
		{orders.HandoverDoor, strings.Repeat("x", orders.MaxInstructions+1), "order.instructions"},
	} {
		in := orderstest.SampleOrder("o-2")
		in.DropoffMethod, in.Instructions = bad.method, bad.instr
		_, _, err := orders.NewOrder(in)
		if e, ok := errors.AsType[*orders.Error](err); !ok || e.Field != bad.field {
			t.Errorf("NewOrder with method %q and %d bytes of instructions = %v, want invalid %s", bad.method, len(bad.instr), err, bad.field)
		}
	}
}
