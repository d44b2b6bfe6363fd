package orderstest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"zhengxiang/orders"
)

// This file is the part of the contract about orders.BatchCreator. Its tests are skipped for a
// repository that is not one.

// batchCreator returns repo as an orders.BatchCreator, or skips the test.
func batchCreator(t *testing.T, repo orders.Repository) orders.BatchCreator {
	t.Helper()
	bc, ok := repo.(orders.BatchCreator)
	if !ok {
		t.Skip("not a BatchCreator")
	}
	return bc
}

// mustCreateOrders calls CreateOrders and checks that it returned one result per placement.
func mustCreateOrders(t *testing.T, bc orders.BatchCreator, ps []orders.Placement) []orders.Created {
	t.Helper()
	out, err := bc.CreateOrders(t.Context(), ps)
	if err != nil {
		t.Fatalf("CreateOrders of %d placements: %v", len(ps), err)
	}
	if len(out) != len(ps) {
		t.Fatalf("CreateOrders of %d placements returned %d results", len(ps), len(out))
	}
	return out
}

// wantNew checks that c says the placement p was stored, and that the repository holds it
// with its events.
func wantNew(t *testing.T, repo orders.Repository, what string, c orders.Created, p orders.Placement) {
	t.Helper()
	if c.Err != nil || !c.New {
		t.Errorf("%s: New %v, %v; want stored", what, c.New, c.Err)
		return
	}
	assertSameOrder(t, what+": Created.Order", c.Order, p.Order)
	got, err := repo.GetOrder(t.Context(), p.Order.ID)
	if err != nil {
		t.Errorf("%s: GetOrder(%s): %v", what, p.Order.ID, err)
		return
	}
	assertSameOrder(t, what+": GetOrder", got, p.Order)
	wantEvents(t, repo, what, p.Order.ID, p.Events)
}

// wantEvents checks that the order's events are want, in Seq order.
func wantEvents(t *testing.T, repo orders.Repository, what, id string, want []orders.Event) {
	t.Helper()
	evs, err := repo.Events(t.Context(), id)
	if err != nil {
		t.Errorf("%s: Events(%s): %v", what, id, err)
		return
	}
	if len(evs) != len(want) {
		t.Errorf("%s: %s has %d events, want %d", what, id, len(evs), len(want))
		return
	}
	for i := range want {
		if !sameEvent(evs[i], want[i]) {
			t.Errorf("%s: event %d of %s:\n got %+v\nwant %+v", what, i, id, evs[i], want[i])
		}
	}
}

// wantAbsent checks that no order has the id.
func wantAbsent(t *testing.T, repo orders.Repository, what, id string) {
	t.Helper()
	if _, err := repo.GetOrder(t.Context(), id); !orders.IsKind(err, orders.KindNotFound) {
		t.Errorf("%s: GetOrder(%s): %v, want not found", what, id, err)
	}
	if _, err := repo.Events(t.Context(), id); !orders.IsKind(err, orders.KindNotFound) {
		t.Errorf("%s: Events(%s): %v, want not found", what, id, err)
	}
}

// The changes a placement may have gone through before it is stored, from stepsAt on.
var (
	stepsAt        = FestivalStart.Add(time.Minute)
	stepSendTicket = func(o *orders.Order) (orders.Event, error) { return o.SendTicket(stepsAt) }
	stepAccept     = func(o *orders.Order) (orders.Event, error) {
		return o.MerchantAccept(stepsAt.Add(time.Minute))
	}
	stepOfferRider1 = func(o *orders.Order) (orders.Event, error) {
		return o.Offer(stepsAt.Add(2*time.Minute), "rider-1", stepsAt.Add(3*time.Minute))
	}
	stepAssignRider2 = func(o *orders.Order) (orders.Event, error) {
		return o.Assign(stepsAt.Add(2*time.Minute), "rider-2")
	}
)

// testCreateOrders stores new orders at several states and reads them back, with their events
// in Seq order; they then change as any other order.
func testCreateOrders(t *testing.T, repo orders.Repository) {
	bc := batchCreator(t, repo)
	ps := []orders.Placement{
		MustPlacement(t, SampleOrder("n-1")),
		MustPlacement(t, SampleOrder("n-2"), stepSendTicket),
		MustPlacement(t, SampleOrder("n-3"), stepSendTicket, stepAccept, stepOfferRider1),
		MustPlacement(t, SampleOrder("n-4"), stepSendTicket, stepAssignRider2),
	}
	ps[3].Order.Platform = "meituan"
	out := mustCreateOrders(t, bc, ps)
	for i, p := range ps {
		wantNew(t, repo, fmt.Sprintf("placement %d (%s)", i, p.Order.ID), out[i], p)
	}
	// The stored orders are the repository's own: changing what the caller holds changes nothing.
	ps[1].Order.Items[0].Qty = 99
	if got, err := repo.GetOrder(t.Context(), "n-2"); err != nil || got.Items[0].Qty != 1 {
		t.Errorf("n-2 item qty after the caller changed its slice = %+v, %v; want 1", got.Items, err)
	}
	if got, err := repo.ListOrders(t.Context(), orders.OrderFilter{RiderID: "rider-2"}); err != nil || len(got) != 1 || got[0].ID != "n-4" {
		t.Errorf("ListOrders of rider-2 = %v, %v; want n-4", got, err)
	}
	// A stored order goes on from the seq of its last event.
	o := mustUpdate(t, repo, "n-2", stepAccept)
	if o.Seq != 3 || o.Status != orders.StatusMerchantAccepted {
		t.Errorf("n-2 after MerchantAccept: %s seq %d, want MERCHANT_ACCEPTED seq 3", o.Status, o.Seq)
	}
	evs, err := repo.Events(t.Context(), "n-2")
	if err != nil || len(evs) != 3 || evs[2].Type != orders.EventMerchantAccepted {
		t.Errorf("n-2 events after MerchantAccept = %+v, %v", evs, err)
	}
	o = mustUpdate(t, repo, "n-4", func(o *orders.Order) (orders.Event, error) {
		return o.Reassign(stepsAt.Add(4*time.Minute), "flat tyre")
	})
	if o.RiderID != "" || o.Delivery != orders.DeliveryUnassigned {
		t.Errorf("n-4 after Reassign: rider %q, %s; want none, UNASSIGNED", o.RiderID, o.Delivery)
	}
}

// testCreateOrdersResend sends again an order stored by CreateOrder, which moved on since, among
// a new one: the resend returns the stored order as it is now and stores nothing.
func testCreateOrdersResend(t *testing.T, repo orders.Repository) {
	bc := batchCreator(t, repo)
	first := mustCreate(t, repo, SampleOrder("o-1"))
	moved := mustUpdate(t, repo, first.ID, stepSendTicket)
	again := SampleOrder("o-1-resent")
	again.PlatformOrderID = first.PlatformOrderID
	again.PlacedAt = again.PlacedAt.Add(time.Second)
	// The resend may have gone further than the stored order, or not as far: the stored one
	// stays as it is.
	for _, steps := range [][]func(o *orders.Order) (orders.Event, error){nil, {stepSendTicket, stepAccept}} {
		ps := []orders.Placement{MustPlacement(t, again, steps...), MustPlacement(t, SampleOrder(fmt.Sprintf("o-%d", 2+len(steps))))}
		out := mustCreateOrders(t, bc, ps)
		if c := out[0]; c.Err != nil || c.New {
			t.Errorf("resend after %d steps: New %v, %v; want the stored order", len(steps), c.New, c.Err)
		} else {
			assertSameOrder(t, "resend: Created.Order", c.Order, moved)
		}
		wantNew(t, repo, "new order beside a resend", out[1], ps[1])
		wantAbsent(t, repo, "resend", "o-1-resent")
		wantEvents(t, repo, "resent order", first.ID, []orders.Event{
			{OrderID: first.ID, Seq: 1, Type: orders.EventOrderCreated, At: first.PlacedAt, Status: orders.StatusCreated, Delivery: orders.DeliveryUnassigned},
			{OrderID: first.ID, Seq: 2, Type: orders.EventTicketSent, At: stepsAt, Status: orders.StatusTicketSent, Delivery: orders.DeliveryUnassigned},
		})
	}
}

// testCreateOrdersConflict sends an order whose key is taken by a different order and one whose
// id is taken by another key, among a good one: only the good one is stored.
func testCreateOrdersConflict(t *testing.T, repo orders.Repository) {
	bc := batchCreator(t, repo)
	first := mustCreate(t, repo, SampleOrder("o-1"))
	clash := SampleOrder("o-2")
	clash.PlatformOrderID = first.PlatformOrderID
	clash.SubtotalCents++
	idTaken := SampleOrder("o-1")
	idTaken.PlatformOrderID = "another"
	ps := []orders.Placement{
		MustPlacement(t, clash, stepSendTicket),
		MustPlacement(t, idTaken),
		MustPlacement(t, SampleOrder("o-3"), stepSendTicket),
	}
	out := mustCreateOrders(t, bc, ps)
	wantKind(t, "placement with a taken key and another subtotal", out[0].Err, orders.KindConflict)
	wantKind(t, "placement with a taken id", out[1].Err, orders.KindConflict)
	for i, c := range out[:2] {
		if c.New {
			t.Errorf("placement %d: New despite %v", i, c.Err)
		}
	}
	wantNew(t, repo, "good placement beside clashes", out[2], ps[2])
	wantAbsent(t, repo, "clash", "o-2")
	got, err := repo.GetOrder(t.Context(), "o-1")
	if err != nil {
		t.Fatal(err)
	}
	assertSameOrder(t, "o-1 after the clashes", got, first)
	wantEvents(t, repo, "o-1 after the clashes", "o-1", []orders.Event{{OrderID: "o-1", Seq: 1, Type: orders.EventOrderCreated,
		At: first.PlacedAt, Status: orders.StatusCreated, Delivery: orders.DeliveryUnassigned}})
	all, err := repo.ListOrders(t.Context(), orders.OrderFilter{})
	if err != nil || len(all) != 2 {
		t.Errorf("ListOrders = %d orders, %v; want o-1 and o-3", len(all), err)
	}
}

// testCreateOrdersDuplicates sends orders of one key several times in one batch: the first is
// stored, the later ones are resends of it, or clashes; and an id given twice goes to the first.
func testCreateOrdersDuplicates(t *testing.T, repo orders.Repository) {
	bc := batchCreator(t, repo)
	a := SampleOrder("d-1")
	resent := SampleOrder("d-1-again")
	resent.PlatformOrderID = a.PlatformOrderID
	clash := SampleOrder("d-1-other")
	clash.PlatformOrderID = a.PlatformOrderID
	clash.Items = []orders.Item{{SKU: "milk", Qty: 1, PriceCents: 500}}
	sameID := SampleOrder("d-1") // another key
	sameID.PlatformOrderID = "k-2"
	afterIDClash := SampleOrder("d-2") // the key that sameID could not take
	afterIDClash.PlatformOrderID = "k-2"
	ps := []orders.Placement{
		MustPlacement(t, a, stepSendTicket),
		MustPlacement(t, a, stepSendTicket), // the very same placement
		MustPlacement(t, resent),
		MustPlacement(t, clash),
		MustPlacement(t, sameID),
		MustPlacement(t, afterIDClash),
	}
	out := mustCreateOrders(t, bc, ps)
	wantNew(t, repo, "first of a key", out[0], ps[0])
	for _, i := range []int{1, 2} {
		if c := out[i]; c.Err != nil || c.New || c.Order.ID != "d-1" || c.Order.Seq != 2 {
			t.Errorf("placement %d, a resend of the first: %s seq %d, New %v, %v; want d-1 seq 2, not new", i, c.Order.ID, c.Order.Seq, c.New, c.Err)
		}
	}
	wantKind(t, "placement of the same key with other items", out[3].Err, orders.KindConflict)
	wantKind(t, "placement of an id taken earlier in the batch", out[4].Err, orders.KindConflict)
	wantNew(t, repo, "placement of a key whose earlier placement clashed on its id", out[5], ps[5])
	for _, id := range []string{"d-1-again", "d-1-other"} {
		wantAbsent(t, repo, "duplicate", id)
	}
	wantEvents(t, repo, "first of a key", "d-1", ps[0].Events)
	if got, err := repo.ListOrders(t.Context(), orders.OrderFilter{}); err != nil || len(got) != 2 {
		t.Errorf("ListOrders = %d orders, %v; want d-1 and d-2", len(got), err)
	}
}

// testCreateOrdersInvalid sends invalid placements among good ones: each is refused alone with
// the error of orders.CheckPlacement, and the good ones are stored.
func testCreateOrdersInvalid(t *testing.T, repo orders.Repository) {
	bc := batchCreator(t, repo)
	bad := func(id string, change func(p *orders.Placement)) orders.Placement {
		p := MustPlacement(t, SampleOrder(id), stepSendTicket)
		p.Events = slices.Clone(p.Events)
		change(&p)
		return p
	}
	cases := []struct {
		name string
		p    orders.Placement
	}{
		{"no events", bad("i-1", func(p *orders.Placement) { p.Events = nil })},
		{"no creation first", bad("i-2", func(p *orders.Placement) { p.Events = p.Events[1:] })},
		{"creation at seq 2", bad("i-3", func(p *orders.Placement) { p.Events[0].Seq = 2 })},
		{"gap in seq", bad("i-4", func(p *orders.Placement) { p.Events[1].Seq = 3; p.Order.Seq = 3 })},
		{"order behind its events", bad("i-5", func(p *orders.Placement) { p.Order.Seq = 1 })},
		{"order ahead of its events", bad("i-6", func(p *orders.Placement) { p.Order.Seq = 3 })},
		{"event of another order", bad("i-7", func(p *orders.Placement) { p.Events[1].OrderID = "g-1" })},
		{"invalid order", bad("i-8", func(p *orders.Placement) { p.Order.StoreID = "" })},
	}
	ps := []orders.Placement{MustPlacement(t, SampleOrder("g-1"), stepSendTicket)}
	for _, c := range cases {
		ps = append(ps, c.p)
	}
	ps = append(ps, MustPlacement(t, SampleOrder("g-2")))
	out := mustCreateOrders(t, bc, ps)
	wantNew(t, repo, "good placement before invalid ones", out[0], ps[0])
	wantNew(t, repo, "good placement after invalid ones", out[len(out)-1], ps[len(ps)-1])
	for i, c := range cases {
		got := out[i+1]
		want := orders.CheckPlacement(c.p)
		if want == nil {
			t.Fatalf("placement with %s: CheckPlacement accepts it", c.name)
		}
		if got.Err == nil || orders.KindOf(got.Err) != orders.KindOf(want) || !strings.Contains(got.Err.Error(), want.Error()) {
			t.Errorf("placement with %s: error %v, want the error of CheckPlacement: %v", c.name, got.Err, want)
		}
		if got.New {
			t.Errorf("placement with %s: New despite %v", c.name, got.Err)
		}
		wantAbsent(t, repo, c.name, c.p.Order.ID)
	}
	wantEvents(t, repo, "good placement before an event claiming its id", "g-1", ps[0].Events)
}

// testCreateOrdersEmpty: an empty batch stores nothing and is no error.
func testCreateOrdersEmpty(t *testing.T, repo orders.Repository) {
	bc := batchCreator(t, repo)
	for _, ps := range [][]orders.Placement{nil, {}} {
		out, err := bc.CreateOrders(t.Context(), ps)
		if err != nil || len(out) != 0 {
			t.Errorf("CreateOrders(%#v) = %v, %v; want no results, no error", ps, out, err)
		}
	}
	if got, err := repo.ListOrders(t.Context(), orders.OrderFilter{}); err != nil || len(got) != 0 {
		t.Errorf("ListOrders after an empty batch = %v, %v", got, err)
	}
}

// testCreateOrdersSecrets checks that CreateOrders stores the secrets of each order, drawn by
// NewOrder or carried by the order, and that a resend, in the batch of the order it repeats or in
// a later one, gets the stored secrets rather than those NewOrder gave it.
func testCreateOrdersSecrets(t *testing.T, repo orders.Repository) {
	bc := batchCreator(t, repo)
	restored := SampleOrder("c-2")
	restored.TrackingSecret, restored.PickupCode, restored.HandoverCode = "_-0123456789abcdefABCD", "004200", "420042"
	resent := SampleOrder("c-1-again")
	resent.PlatformOrderID = "c-1"
	ps := []orders.Placement{
		MustPlacement(t, SampleOrder("c-1"), stepSendTicket),
		MustPlacement(t, restored),
		MustPlacement(t, resent),
	}
	out := mustCreateOrders(t, bc, ps)
	wantNew(t, repo, "order with drawn secrets", out[0], ps[0])
	wantNew(t, repo, "order that carries its secrets", out[1], ps[1])
	checkSecrets(t, "order that carries its secrets", out[1].Order, restored)
	if c := out[2]; c.Err != nil || c.New {
		t.Fatalf("resend in the batch of its first: New %v, %v; want the stored order", c.New, c.Err)
	}
	checkSecrets(t, "resend in the batch of its first", out[2].Order, ps[0].Order)

	out = mustCreateOrders(t, bc, []orders.Placement{MustPlacement(t, resent, stepSendTicket)})
	if c := out[0]; c.Err != nil || c.New {
		t.Fatalf("resend in a later batch: New %v, %v; want the stored order", c.New, c.Err)
	}
	checkSecrets(t, "resend in a later batch", out[0].Order, ps[0].Order)
	list, err := repo.ListOrders(t.Context(), orders.OrderFilter{})
	if err != nil || len(list) != 2 {
		t.Fatalf("ListOrders = %d orders, %v; want c-1 and c-2", len(list), err)
	}
	for i, got := range list {
		checkSecrets(t, "ListOrders", got, ps[i].Order)
	}
}
