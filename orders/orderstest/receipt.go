package orderstest

import (
	"slices"
	"testing"
	"time"

	"zhengxiang/orders"
)

// This file is the part of the contract about the consumer's confirmation of receipt: the one
// step of an order that has ended.

// The times of the lives that testConfirmReceipt's orders go through.
var (
	deliveredAt = FestivalStart.Add(30 * time.Minute)
	confirmedAt = FestivalStart.Add(45 * time.Minute)
)

// deliverSteps take a new order to DELIVERED by rider-1 at deliveredAt, seven events later.
var deliverSteps = []func(o *orders.Order) (orders.Event, error){
	func(o *orders.Order) (orders.Event, error) { return o.SendTicket(FestivalStart.Add(time.Minute)) },
	func(o *orders.Order) (orders.Event, error) {
		return o.MerchantAccept(FestivalStart.Add(2 * time.Minute))
	},
	func(o *orders.Order) (orders.Event, error) {
		return o.Assign(FestivalStart.Add(3*time.Minute), "rider-1")
	},
	func(o *orders.Order) (orders.Event, error) { return o.MarkReady(FestivalStart.Add(10 * time.Minute)) },
	func(o *orders.Order) (orders.Event, error) {
		return o.PickUp(FestivalStart.Add(12*time.Minute), "rider-1")
	},
	func(o *orders.Order) (orders.Event, error) {
		return o.ArriveAtDropoff(FestivalStart.Add(29*time.Minute), "rider-1")
	},
	func(o *orders.Order) (orders.Event, error) {
		return o.Deliver(deliveredAt, "rider-1", orders.HandoverDoor)
	},
}

// deliver chains deliverSteps into one change.
func deliver(o *orders.Order) ([]orders.Event, error) {
	var evs []orders.Event
	for _, step := range deliverSteps {
		ev, err := step(o)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// confirm is the consumer's confirmation at confirmedAt, as a change.
func confirm(o *orders.Order) ([]orders.Event, error) {
	ev, err := o.ConfirmReceipt(confirmedAt)
	if err != nil {
		return nil, err
	}
	return []orders.Event{ev}, nil
}

// wantConfirmed checks that the stored order id is delivered with its receipt confirmed at
// confirmedAt, from GetOrder and from ListOrders, and that its last event is RECEIPT_CONFIRMED
// at seq, after DELIVERED.
func wantConfirmed(t *testing.T, repo orders.Repository, what, id string, seq int64) orders.Order {
	t.Helper()
	ctx := t.Context()
	o, err := repo.GetOrder(ctx, id)
	if err != nil {
		t.Fatalf("%s: GetOrder(%s): %v", what, id, err)
	}
	if !o.ReceiptConfirmedAt.Equal(confirmedAt) || o.Seq != seq || o.Status != orders.StatusReadyForPickup ||
		o.Delivery != orders.DeliveryDelivered || !o.DeliveredAt.Equal(deliveredAt) || !o.EndedAt.Equal(deliveredAt) ||
		o.RiderID != "rider-1" || o.Handover != orders.HandoverDoor {
		t.Errorf("%s: GetOrder(%s) = %+v; want delivered at %v, receipt confirmed at %v, seq %d",
			what, id, o, deliveredAt, confirmedAt, seq)
	}
	list, err := repo.ListOrders(ctx, orders.OrderFilter{})
	if err != nil {
		t.Fatalf("%s: ListOrders: %v", what, err)
	}
	found := false
	for _, l := range list {
		if l.ID == id {
			found = true
			assertSameOrder(t, what+": ListOrders", l, o)
		}
	}
	if !found {
		t.Errorf("%s: ListOrders lacks %s", what, id)
	}
	evs, err := repo.Events(ctx, id)
	if err != nil || int64(len(evs)) != seq {
		t.Fatalf("%s: Events(%s) = %d events, %v; want %d", what, id, len(evs), err, seq)
	}
	want := orders.Event{OrderID: id, Seq: seq, Type: orders.EventReceiptConfirmed, At: confirmedAt,
		Status: orders.StatusReadyForPickup, Delivery: orders.DeliveryDelivered}
	if !sameEvent(evs[seq-1], want) || evs[seq-2].Type != orders.EventDelivered {
		t.Errorf("%s: events of %s end with %+v, %+v; want DELIVERED, then %+v", what, id, evs[seq-2], evs[seq-1], want)
	}
	return o
}

// wantRefused checks that fn's change of the stored order id is KindConflict and leaves the
// order and its events as they were.
func wantRefused(t *testing.T, repo orders.Repository, what, id string, fn func(o *orders.Order) ([]orders.Event, error)) {
	t.Helper()
	ctx := t.Context()
	before, err := repo.GetOrder(ctx, id)
	if err != nil {
		t.Fatalf("%s: GetOrder(%s): %v", what, id, err)
	}
	_, err = repo.UpdateOrder(ctx, id, fn)
	wantKind(t, what, err, orders.KindConflict)
	after, err := repo.GetOrder(ctx, id)
	if err != nil {
		t.Fatalf("%s: GetOrder(%s): %v", what, id, err)
	}
	assertSameOrder(t, what+": order after", after, before)
	if evs, err := repo.Events(ctx, id); err != nil || int64(len(evs)) != before.Seq {
		t.Errorf("%s: %d events, %v; want %d", what, len(evs), err, before.Seq)
	}
}

// testConfirmReceipt delivers orders and has their consumers confirm the receipt, through
// UpdateOrder and, where the repository has them, UpdateOrders (a batch of the orders' lives
// alone, and one that changes an order's content too) and CreateOrders. The time of the
// confirmation comes back from every read, RECEIPT_CONFIRMED follows DELIVERED, and a second
// confirmation, or one of an order not delivered, is a conflict that changes nothing.
func testConfirmReceipt(t *testing.T, repo orders.Repository) {
	ctx := t.Context()
	for _, id := range []string{"r-1", "r-2", "r-3"} {
		mustCreate(t, repo, SampleOrder(id))
	}
	for _, id := range []string{"r-1", "r-2"} {
		if _, err := repo.UpdateOrder(ctx, id, deliver); err != nil {
			t.Fatalf("deliver %s: %v", id, err)
		}
	}
	// A delivered order not confirmed has no time of confirmation.
	if o, err := repo.GetOrder(ctx, "r-2"); err != nil || !o.ReceiptConfirmedAt.IsZero() || o.Seq != 8 {
		t.Errorf("delivered r-2 = seq %d, receipt confirmed at %v, %v; want seq 8, not confirmed", o.Seq, o.ReceiptConfirmedAt, err)
	}

	o, err := repo.UpdateOrder(ctx, "r-1", confirm)
	if err != nil {
		t.Fatalf("confirm r-1: %v", err)
	}
	got := wantConfirmed(t, repo, "UpdateOrder", "r-1", 9)
	assertSameOrder(t, "UpdateOrder's result", o, got)
	if list, err := repo.ListOrders(ctx, orders.OrderFilter{Active: true}); err != nil || len(list) != 1 || list[0].ID != "r-3" {
		t.Errorf("ListOrders of the active orders = %v, %v; want r-3 alone", list, err)
	}

	wantRefused(t, repo, "a second confirmation", "r-1", confirm)
	wantRefused(t, repo, "a confirmation before delivery", "r-3", confirm)

	if bu, ok := repo.(orders.BatchUpdater); ok {
		for _, id := range []string{"b-1", "b-2", "b-3", "b-4"} {
			mustCreate(t, repo, SampleOrder(id))
		}
		errs, err := bu.UpdateOrders(ctx, []string{"b-1", "b-2", "b-3", "b-4"}, deliver)
		if err != nil || errs[0] != nil || errs[1] != nil || errs[2] != nil || errs[3] != nil {
			t.Fatalf("UpdateOrders delivering = %v, %v", errs, err)
		}
		// The lives alone, then a change of content too.
		errs, err = bu.UpdateOrders(ctx, []string{"b-1", "b-2"}, confirm)
		if err != nil || errs[0] != nil || errs[1] != nil {
			t.Fatalf("UpdateOrders confirming = %v, %v", errs, err)
		}
		errs, err = bu.UpdateOrders(ctx, []string{"b-3", "b-4"}, func(o *orders.Order) ([]orders.Event, error) {
			if o.ID == "b-4" {
				o.Address = "Gate 3, Jinshui Road 1"
			}
			return confirm(o)
		})
		if err != nil || errs[0] != nil || errs[1] != nil {
			t.Fatalf("UpdateOrders confirming with a change of address = %v, %v", errs, err)
		}
		for _, id := range []string{"b-1", "b-2", "b-3", "b-4"} {
			wantConfirmed(t, repo, "UpdateOrders", id, 9)
		}
		errs, err = bu.UpdateOrders(ctx, []string{"b-1", "r-2"}, confirm)
		if err != nil || !orders.IsKind(errs[0], orders.KindConflict) || errs[1] != nil {
			t.Errorf("UpdateOrders confirming b-1 again and r-2 = %v, %v; want a conflict, then nil", errs, err)
		}
		wantConfirmed(t, repo, "UpdateOrders after a second confirmation", "b-1", 9)
		wantConfirmed(t, repo, "UpdateOrders beside a second confirmation", "r-2", 9)
	}

	if bc, ok := repo.(orders.BatchCreator); ok {
		confirmStep := func(o *orders.Order) (orders.Event, error) { return o.ConfirmReceipt(confirmedAt) }
		p := MustPlacement(t, SampleOrder("p-1"), slices.Concat(deliverSteps, []func(o *orders.Order) (orders.Event, error){confirmStep})...)
		out := mustCreateOrders(t, bc, []orders.Placement{p})
		wantNew(t, repo, "CreateOrders", out[0], p)
		wantConfirmed(t, repo, "CreateOrders", "p-1", 9)
		wantRefused(t, repo, "a second confirmation of a placement", "p-1", confirm)
	}
}
