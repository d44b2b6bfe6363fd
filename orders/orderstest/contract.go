package orderstest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"zhengxiang/orders"
)

// RunRepositoryContract runs the behaviour every orders.Repository must have against fresh
// repositories made by newRepo, one per subtest.
func RunRepositoryContract(t *testing.T, newRepo func(t *testing.T) orders.Repository) {
	t.Run("StoresAndRiders", func(t *testing.T) { testStoresAndRiders(t, newRepo(t)) })
	t.Run("CreateOrder", func(t *testing.T) { testCreateOrder(t, newRepo(t)) })
	t.Run("CreateOrderIdempotent", func(t *testing.T) { testCreateOrderIdempotent(t, newRepo(t)) })
	t.Run("CreateOrderConflict", func(t *testing.T) { testCreateOrderConflict(t, newRepo) })
	t.Run("CreateOrderInvalid", func(t *testing.T) { testCreateOrderInvalid(t, newRepo(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newRepo(t)) })
	t.Run("UpdateOrder", func(t *testing.T) { testUpdateOrder(t, newRepo(t)) })
	t.Run("UpdateOrderRejected", func(t *testing.T) { testUpdateOrderRejected(t, newRepo) })
	t.Run("UpdateOrderNoEvents", func(t *testing.T) { testUpdateOrderNoEvents(t, newRepo(t)) })
	t.Run("ConcurrentUpdates", func(t *testing.T) { testConcurrentUpdates(t, newRepo(t)) })
	t.Run("EventsInOrder", func(t *testing.T) { testEventsInOrder(t, newRepo(t)) })
	t.Run("ListOrders", func(t *testing.T) { testListOrders(t, newRepo(t)) })
	t.Run("UpdateOrders", func(t *testing.T) { testUpdateOrders(t, newRepo(t)) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, newRepo(t)) })
	t.Run("CreateOrders", func(t *testing.T) { testCreateOrders(t, newRepo(t)) })
	t.Run("CreateOrdersResend", func(t *testing.T) { testCreateOrdersResend(t, newRepo(t)) })
	t.Run("CreateOrdersConflict", func(t *testing.T) { testCreateOrdersConflict(t, newRepo(t)) })
	t.Run("CreateOrdersDuplicates", func(t *testing.T) { testCreateOrdersDuplicates(t, newRepo(t)) })
	t.Run("CreateOrdersInvalid", func(t *testing.T) { testCreateOrdersInvalid(t, newRepo(t)) })
	t.Run("CreateOrdersEmpty", func(t *testing.T) { testCreateOrdersEmpty(t, newRepo(t)) })
	t.Run("CreateOrdersSecrets", func(t *testing.T) { testCreateOrdersSecrets(t, newRepo(t)) })
	t.Run("ConfirmReceipt", func(t *testing.T) { testConfirmReceipt(t, newRepo(t)) })
	t.Run("DropoffProof", func(t *testing.T) { testDropoffProof(t, newRepo(t)) })
}

// mustCreate stores a new order made from o and returns it.
func mustCreate(t *testing.T, repo orders.Repository, o orders.Order) orders.Order {
	t.Helper()
	n, ev := MustNewOrder(t, o)
	stored, created, err := repo.CreateOrder(t.Context(), n, ev)
	if err != nil || !created {
		t.Fatalf("CreateOrder(%s) = created %v, %v; want created", o.ID, created, err)
	}
	return stored
}

// mustUpdate applies one state machine step to the stored order and returns the result.
func mustUpdate(t *testing.T, repo orders.Repository, id string, step func(o *orders.Order) (orders.Event, error)) orders.Order {
	t.Helper()
	o, err := repo.UpdateOrder(t.Context(), id, func(o *orders.Order) ([]orders.Event, error) {
		ev, err := step(o)
		if err != nil {
			return nil, err
		}
		return []orders.Event{ev}, nil
	})
	if err != nil {
		t.Fatalf("UpdateOrder(%s): %v", id, err)
	}
	return o
}

func wantKind(t *testing.T, what string, err error, k orders.Kind) {
	t.Helper()
	if got := orders.KindOf(err); got != k {
		t.Errorf("%s: error %v has kind %v, want %v", what, err, got, k)
	}
}

func testStoresAndRiders(t *testing.T, repo orders.Repository) {
	ctx := t.Context()
	for _, id := range []string{"store-b", "store-a"} {
		if err := repo.PutStore(ctx, SampleStore(id)); err != nil {
			t.Fatalf("PutStore(%s): %v", id, err)
		}
	}
	s := SampleStore("store-a")
	s.Suspended, s.PrepMinutes = true, 15
	if err := repo.PutStore(ctx, s); err != nil {
		t.Fatalf("PutStore replacing: %v", err)
	}
	if got, err := repo.GetStore(ctx, "store-a"); err != nil || got != s {
		t.Errorf("GetStore = %+v, %v; want %+v", got, err, s)
	}
	stores, err := repo.ListStores(ctx)
	if err != nil || len(stores) != 2 || stores[0].ID != "store-a" || stores[1].ID != "store-b" {
		t.Errorf("ListStores = %+v, %v; want store-a, store-b", stores, err)
	}
	bad := SampleStore("store-c")
	bad.Section = "books"
	wantKind(t, "PutStore with a bad section", repo.PutStore(ctx, bad), orders.KindInvalid)

	for _, id := range []string{"rider-2", "rider-1"} {
		if err := repo.PutRider(ctx, SampleRider(id)); err != nil {
			t.Fatalf("PutRider(%s): %v", id, err)
		}
	}
	r := SampleRider("rider-1")
	r.OnShift, r.LastPing = false, FestivalStart.Add(time.Hour)
	if err := repo.PutRider(ctx, r); err != nil {
		t.Fatalf("PutRider replacing: %v", err)
	}
	got, err := repo.GetRider(ctx, "rider-1")
	if err != nil || got.OnShift || !got.LastPing.Equal(r.LastPing) || got.Capacity != r.Capacity {
		t.Errorf("GetRider = %+v, %v; want %+v", got, err, r)
	}
	riders, err := repo.ListRiders(ctx)
	if err != nil || len(riders) != 2 || riders[0].ID != "rider-1" || riders[1].ID != "rider-2" {
		t.Errorf("ListRiders = %+v, %v; want rider-1, rider-2", riders, err)
	}
	badRider := SampleRider("rider-3")
	badRider.Capacity = 0
	wantKind(t, "PutRider with no capacity", repo.PutRider(ctx, badRider), orders.KindInvalid)
}

func testCreateOrder(t *testing.T, repo orders.Repository) {
	o, ev := MustNewOrder(t, SampleOrder("o-1"))
	stored, created, err := repo.CreateOrder(t.Context(), o, ev)
	if err != nil || !created {
		t.Fatalf("CreateOrder = created %v, %v; want created", created, err)
	}
	assertSameOrder(t, "CreateOrder", stored, o)
	got, err := repo.GetOrder(t.Context(), "o-1")
	if err != nil {
		t.Fatalf("GetOrder: %v", err)
	}
	assertSameOrder(t, "GetOrder", got, o)
	evs, err := repo.Events(t.Context(), "o-1")
	if err != nil || len(evs) != 1 || !sameEvent(evs[0], ev) {
		t.Errorf("Events = %+v, %v; want [%+v]", evs, err, ev)
	}
	// The stored order is the repository's own: changing what the caller holds changes nothing.
	o.Items[0].Qty = 99
	got, _ = repo.GetOrder(t.Context(), "o-1")
	if got.Items[0].Qty != 1 {
		t.Errorf("stored item qty = %d after the caller changed its slice, want 1", got.Items[0].Qty)
	}
}

func testCreateOrderIdempotent(t *testing.T, repo orders.Repository) {
	first := mustCreate(t, repo, SampleOrder("o-1"))
	// The platform sends the same order again; ingestion gave it a new id and a later time.
	again := SampleOrder("o-1-resent")
	again.PlatformOrderID = first.PlatformOrderID
	again.PlacedAt = again.PlacedAt.Add(time.Second)
	n, ev := MustNewOrder(t, again)
	stored, created, err := repo.CreateOrder(t.Context(), n, ev)
	if err != nil || created {
		t.Fatalf("CreateOrder again = created %v, %v; want not created, no error", created, err)
	}
	if stored.ID != first.ID {
		t.Errorf("CreateOrder again returned order %s, want the stored %s", stored.ID, first.ID)
	}
	if _, err := repo.GetOrder(t.Context(), "o-1-resent"); !orders.IsKind(err, orders.KindNotFound) {
		t.Errorf("GetOrder of the resent id: %v, want not found", err)
	}
	if evs, err := repo.Events(t.Context(), first.ID); err != nil || len(evs) != 1 {
		t.Errorf("Events after a resend = %d events, %v; want 1", len(evs), err)
	}
	// A resend after the order moved on returns the order as it is now.
	mustUpdate(t, repo, first.ID, func(o *orders.Order) (orders.Event, error) { return o.SendTicket(FestivalStart.Add(time.Minute)) })
	stored, created, err = repo.CreateOrder(t.Context(), n, ev)
	if err != nil || created || stored.Status != orders.StatusTicketSent || stored.Seq != 2 {
		t.Errorf("CreateOrder after an update = %s seq %d, created %v, %v; want TICKET_SENT seq 2, not created",
			stored.Status, stored.Seq, created, err)
	}
}

func testCreateOrderConflict(t *testing.T, newRepo func(t *testing.T) orders.Repository) {
	for _, tc := range []struct {
		name   string
		change func(o *orders.Order)
	}{
		{"items", func(o *orders.Order) {
			o.Items = append(slices.Clone(o.Items), orders.Item{SKU: "milk", Qty: 1, PriceCents: 500})
		}},
		{"item qty", func(o *orders.Order) { o.Items = slices.Clone(o.Items); o.Items[1].Qty = 3 }},
		{"subtotal", func(o *orders.Order) { o.SubtotalCents++ }},
		{"delivery fee", func(o *orders.Order) { o.DeliveryFeeCents = 300 }},
		{"store", func(o *orders.Order) { o.StoreID = "store-2" }},
		{"dropoff", func(o *orders.Order) { o.Dropoff.Lat += 0.001 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := newRepo(t)
			first := mustCreate(t, repo, SampleOrder("o-1"))
			other := SampleOrder("o-2")
			other.PlatformOrderID = first.PlatformOrderID
			tc.change(&other)
			n, ev := MustNewOrder(t, other)
			_, created, err := repo.CreateOrder(t.Context(), n, ev)
			wantKind(t, "CreateOrder with the same key and another "+tc.name, err, orders.KindConflict)
			if created {
				t.Errorf("created = true")
			}
			if got, err := repo.GetOrder(t.Context(), "o-1"); err != nil || !orders.SameContent(got, first) {
				t.Errorf("stored order changed: %+v, %v", got, err)
			}
		})
	}
	t.Run("id taken", func(t *testing.T) {
		repo := newRepo(t)
		mustCreate(t, repo, SampleOrder("o-1"))
		other := SampleOrder("o-1")
		other.PlatformOrderID = "another"
		n, ev := MustNewOrder(t, other)
		_, _, err := repo.CreateOrder(t.Context(), n, ev)
		wantKind(t, "CreateOrder with a taken id", err, orders.KindConflict)
	})
}

func testCreateOrderInvalid(t *testing.T, repo orders.Repository) {
	o, ev := MustNewOrder(t, SampleOrder("o-1"))
	for _, tc := range []struct {
		name   string
		change func(o *orders.Order, ev *orders.Event)
	}{
		{"not from NewOrder", func(o *orders.Order, _ *orders.Event) { o.Seq = 0 }},
		{"moved on", func(o *orders.Order, _ *orders.Event) { o.Status, o.Seq = orders.StatusTicketSent, 2 }},
		{"invalid order", func(o *orders.Order, _ *orders.Event) { o.StoreID = "" }},
		{"event of another order", func(_ *orders.Order, ev *orders.Event) { ev.OrderID = "o-2" }},
		{"event not a creation", func(_ *orders.Order, ev *orders.Event) { ev.Type = orders.EventTicketSent }},
		{"event seq", func(_ *orders.Order, ev *orders.Event) { ev.Seq = 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, ev := o, ev
			tc.change(&o, &ev)
			_, created, err := repo.CreateOrder(t.Context(), o, ev)
			wantKind(t, "CreateOrder", err, orders.KindInvalid)
			if created {
				t.Errorf("created = true")
			}
		})
	}
	if _, err := repo.GetOrder(t.Context(), "o-1"); !orders.IsKind(err, orders.KindNotFound) {
		t.Errorf("GetOrder after invalid creations: %v, want not found", err)
	}
}

func testNotFound(t *testing.T, repo orders.Repository) {
	ctx := t.Context()
	_, err := repo.GetStore(ctx, "nope")
	wantKind(t, "GetStore", err, orders.KindNotFound)
	_, err = repo.GetRider(ctx, "nope")
	wantKind(t, "GetRider", err, orders.KindNotFound)
	_, err = repo.GetOrder(ctx, "nope")
	wantKind(t, "GetOrder", err, orders.KindNotFound)
	_, err = repo.Events(ctx, "nope")
	wantKind(t, "Events", err, orders.KindNotFound)
	called := false
	_, err = repo.UpdateOrder(ctx, "nope", func(*orders.Order) ([]orders.Event, error) { called = true; return nil, nil })
	wantKind(t, "UpdateOrder", err, orders.KindNotFound)
	if called {
		t.Errorf("UpdateOrder called fn for a missing order")
	}
	if got, err := repo.ListOrders(ctx, orders.OrderFilter{}); err != nil || len(got) != 0 {
		t.Errorf("ListOrders on an empty repository = %v, %v", got, err)
	}
}

func testUpdateOrder(t *testing.T, repo orders.Repository) {
	mustCreate(t, repo, SampleOrder("o-1"))
	at := FestivalStart.Add(time.Minute)
	var want orders.Event
	got, err := repo.UpdateOrder(t.Context(), "o-1", func(o *orders.Order) ([]orders.Event, error) {
		ev1, err := o.SendTicket(at)
		if err != nil {
			return nil, err
		}
		ev2, err := o.MerchantAccept(at.Add(time.Minute))
		want = ev2
		return []orders.Event{ev1, ev2}, err
	})
	if err != nil {
		t.Fatalf("UpdateOrder: %v", err)
	}
	if got.Status != orders.StatusMerchantAccepted || got.Seq != 3 || !got.AcceptedAt.Equal(at.Add(time.Minute)) {
		t.Errorf("UpdateOrder returned %s seq %d accepted %v; want MERCHANT_ACCEPTED seq 3 at %v",
			got.Status, got.Seq, got.AcceptedAt, at.Add(time.Minute))
	}
	stored, err := repo.GetOrder(t.Context(), "o-1")
	if err != nil {
		t.Fatal(err)
	}
	assertSameOrder(t, "GetOrder after UpdateOrder", stored, got)
	evs, err := repo.Events(t.Context(), "o-1")
	if err != nil || len(evs) != 3 || !sameEvent(evs[2], want) || evs[1].Type != orders.EventTicketSent {
		t.Errorf("Events = %+v, %v; want created, ticket sent, %+v", evs, err, want)
	}
}

// testUpdateOrders checks a batch: every order fn accepts changes, an order fn refuses and a
// missing one are reported alone, and the events land as with UpdateOrder. It is skipped for a
// repository that is not an orders.BatchUpdater.
func testUpdateOrders(t *testing.T, repo orders.Repository) {
	bu, ok := repo.(orders.BatchUpdater)
	if !ok {
		t.Skip("not a BatchUpdater")
	}
	for _, id := range []string{"b-1", "b-2", "b-3"} {
		mustCreate(t, repo, SampleOrder(id))
	}
	at := FestivalStart.Add(time.Minute)
	refused := errors.New("refused")
	errs, err := bu.UpdateOrders(t.Context(), []string{"b-1", "b-2", "missing", "b-3"}, func(o *orders.Order) ([]orders.Event, error) {
		if o.ID == "b-2" {
			return nil, refused
		}
		ev, err := o.SendTicket(at)
		return []orders.Event{ev}, err
	})
	if err != nil {
		t.Fatalf("UpdateOrders: %v", err)
	}
	if len(errs) != 4 || errs[0] != nil || !errors.Is(errs[1], refused) || orders.KindOf(errs[2]) != orders.KindNotFound || errs[3] != nil {
		t.Fatalf("UpdateOrders errs = %v; want nil, refused, not found, nil", errs)
	}
	for id, want := range map[string]orders.OrderStatus{"b-1": orders.StatusTicketSent, "b-2": orders.StatusCreated, "b-3": orders.StatusTicketSent} {
		o, err := repo.GetOrder(t.Context(), id)
		if err != nil || o.Status != want {
			t.Errorf("%s after the batch: %s, %v; want %s", id, o.Status, err, want)
		}
		evs, err := repo.Events(t.Context(), id)
		if err != nil || int64(len(evs)) != o.Seq {
			t.Errorf("%s: %d events for seq %d, %v", id, len(evs), o.Seq, err)
		}
	}
}

// testSecrets checks that the TrackingSecret and PickupCode an order was created with, drawn by
// NewOrder or carried by the order (a restore), come back from every read and stay as they were
// through every kind of update, and that a platform's resend, to which NewOrder gave secrets of
// its own, gets the stored ones.
func testSecrets(t *testing.T, repo orders.Repository) {
	ctx := t.Context()
	restored := SampleOrder("s-3")
	restored.TrackingSecret, restored.PickupCode, restored.HandoverCode = "AAAAAAAAAAAAAAAAAAAAAA", "000123", "000456"
	created := map[string]orders.Order{}
	for _, o := range []orders.Order{SampleOrder("s-1"), SampleOrder("s-2"), restored} {
		c := mustCreate(t, repo, o)
		if c.TrackingSecret == "" || c.PickupCode == "" || c.HandoverCode == "" {
			t.Fatalf("CreateOrder(%s) returned tracking secret %q, pickup code %q and hand-over code %q; want all set", o.ID, c.TrackingSecret, c.PickupCode, c.HandoverCode)
		}
		created[o.ID] = c
	}
	checkSecrets(t, "CreateOrder of an order that carries its secrets", created["s-3"], restored)
	wantStoredSecrets := func(what string) {
		t.Helper()
		for id, want := range created {
			got, err := repo.GetOrder(ctx, id)
			if err != nil {
				t.Fatalf("%s: GetOrder(%s): %v", what, id, err)
			}
			checkSecrets(t, what+": GetOrder", got, want)
		}
		list, err := repo.ListOrders(ctx, orders.OrderFilter{})
		if err != nil || len(list) != len(created) {
			t.Fatalf("%s: ListOrders = %d orders, %v; want %d", what, len(list), err, len(created))
		}
		for _, got := range list {
			checkSecrets(t, what+": ListOrders", got, created[got.ID])
		}
	}
	wantStoredSecrets("after CreateOrder")

	at := FestivalStart.Add(time.Minute)
	o := mustUpdate(t, repo, "s-1", func(o *orders.Order) (orders.Event, error) { return o.SendTicket(at) })
	checkSecrets(t, "UpdateOrder", o, created["s-1"])
	// A change of content too: the order is written as a whole.
	o = mustUpdate(t, repo, "s-1", func(o *orders.Order) (orders.Event, error) {
		o.Address = "Gate 3, Jinshui Road 1"
		return o.MerchantAccept(at)
	})
	checkSecrets(t, "UpdateOrder that changes the address", o, created["s-1"])
	wantStoredSecrets("after UpdateOrder")

	if bu, ok := repo.(orders.BatchUpdater); ok {
		// A batch of the orders' life alone, then one that changes an order's content too.
		for i, step := range []func(o *orders.Order) (orders.Event, error){
			func(o *orders.Order) (orders.Event, error) { return o.SendTicket(at) },
			func(o *orders.Order) (orders.Event, error) {
				if o.ID == "s-3" {
					o.Address = "Gate 3, Jinshui Road 1"
				}
				return o.MerchantAccept(at)
			},
		} {
			errs, err := bu.UpdateOrders(ctx, []string{"s-2", "s-3"}, func(o *orders.Order) ([]orders.Event, error) {
				ev, err := step(o)
				return []orders.Event{ev}, err
			})
			if err != nil || errs[0] != nil || errs[1] != nil {
				t.Fatalf("UpdateOrders %d = %v, %v", i+1, errs, err)
			}
		}
		wantStoredSecrets("after UpdateOrders")
	}

	resent := SampleOrder("s-1-resent")
	resent.PlatformOrderID = "s-1"
	n, ev := MustNewOrder(t, resent)
	stored, isNew, err := repo.CreateOrder(ctx, n, ev)
	if err != nil || isNew {
		t.Fatalf("CreateOrder of a resend = new %v, %v; want the stored order", isNew, err)
	}
	checkSecrets(t, "CreateOrder of a resend", stored, created["s-1"])
	wantStoredSecrets("after a resend")
}

// checkSecrets reports got's secrets unless they are want's.
func checkSecrets(t *testing.T, what string, got, want orders.Order) {
	t.Helper()
	if got.TrackingSecret != want.TrackingSecret || got.PickupCode != want.PickupCode || got.HandoverCode != want.HandoverCode {
		t.Errorf("%s: order %s has tracking secret %q, pickup code %q and hand-over code %q, want %q, %q and %q",
			what, got.ID, got.TrackingSecret, got.PickupCode, got.HandoverCode, want.TrackingSecret, want.PickupCode, want.HandoverCode)
	}
}

func testUpdateOrderRejected(t *testing.T, newRepo func(t *testing.T) orders.Repository) {
	at := FestivalStart.Add(time.Minute)
	errBoom := orders.Unavailable("printer offline")
	for _, tc := range []struct {
		name string
		fn   func(o *orders.Order) ([]orders.Event, error)
		kind orders.Kind
	}{
		{"fn error kept", func(o *orders.Order) ([]orders.Event, error) {
			_, _ = o.SendTicket(at)
			return nil, fmt.Errorf("send ticket: %w", errBoom)
		}, orders.KindUnavailable},
		{"illegal transition", func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.PickUp(at, "rider-1")
			return []orders.Event{ev}, err
		}, orders.KindConflict},
		{"stale event", func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.SendTicket(at)
			ev.Seq = 1
			return []orders.Event{ev}, err
		}, orders.KindConflict},
		{"skipped seq", func(o *orders.Order) ([]orders.Event, error) {
			o.Seq++
			ev, err := o.SendTicket(at)
			return []orders.Event{ev}, err
		}, orders.KindConflict},
		{"order seq behind its events", func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.SendTicket(at)
			o.Seq--
			return []orders.Event{ev}, err
		}, orders.KindConflict},
		{"event of another order", func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.SendTicket(at)
			ev.OrderID = "o-2"
			return []orders.Event{ev}, err
		}, orders.KindInvalid},
		{"changed key", func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.SendTicket(at)
			o.PlatformOrderID = "other"
			return []orders.Event{ev}, err
		}, orders.KindInvalid},
		{"changed tracking secret", func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.SendTicket(at)
			o.TrackingSecret = orders.NewTrackingSecret()
			return []orders.Event{ev}, err
		}, orders.KindInvalid},
		{"changed pickup code", func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.SendTicket(at)
			if o.PickupCode == "000000" {
				o.PickupCode = "000001"
			} else {
				o.PickupCode = "000000"
			}
			return []orders.Event{ev}, err
		}, orders.KindInvalid},
		{"changed hand-over code", func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.SendTicket(at)
			if o.HandoverCode == "000000" {
				o.HandoverCode = "000001"
			} else {
				o.HandoverCode = "000000"
			}
			return []orders.Event{ev}, err
		}, orders.KindInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := newRepo(t)
			before := mustCreate(t, repo, SampleOrder("o-1"))
			_, err := repo.UpdateOrder(t.Context(), "o-1", tc.fn)
			wantKind(t, "UpdateOrder", err, tc.kind)
			after, err := repo.GetOrder(t.Context(), "o-1")
			if err != nil {
				t.Fatal(err)
			}
			assertSameOrder(t, "order after a rejected update", after, before)
			if evs, err := repo.Events(t.Context(), "o-1"); err != nil || len(evs) != 1 {
				t.Errorf("Events after a rejected update = %d events, %v; want 1", len(evs), err)
			}
		})
	}
}

func testUpdateOrderNoEvents(t *testing.T, repo orders.Repository) {
	before := mustCreate(t, repo, SampleOrder("o-1"))
	got, err := repo.UpdateOrder(t.Context(), "o-1", func(o *orders.Order) ([]orders.Event, error) {
		return nil, nil
	})
	if err != nil {
		t.Fatalf("UpdateOrder with no events: %v", err)
	}
	assertSameOrder(t, "UpdateOrder with no events", got, before)
}

// testConcurrentUpdates has many goroutines offer the order and decline the offer in turn. Each
// successful update adds one event; an implementation may refuse a concurrent change with
// KindConflict, and the writer then retries.
func testConcurrentUpdates(t *testing.T, repo orders.Repository) {
	const workers, perWorker = 8, 50
	mustCreate(t, repo, SampleOrder("o-1"))
	at := FestivalStart.Add(time.Minute)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seqs []int64
	)
	for w := range workers {
		rider := fmt.Sprintf("rider-%d", w)
		wg.Go(func() {
			for done := 0; done < perWorker; {
				o, err := repo.UpdateOrder(t.Context(), "o-1", func(o *orders.Order) ([]orders.Event, error) {
					var ev orders.Event
					var err error
					if o.Delivery == orders.DeliveryUnassigned {
						ev, err = o.Offer(at, rider, at.Add(time.Minute))
					} else {
						ev, err = o.DeclineOffer(at, o.RiderID)
					}
					return []orders.Event{ev}, err
				})
				if orders.IsKind(err, orders.KindConflict) {
					continue
				}
				if err != nil {
					t.Errorf("UpdateOrder: %v", err)
					return
				}
				mu.Lock()
				seqs = append(seqs, o.Seq)
				mu.Unlock()
				done++
			}
		})
	}
	wg.Wait()
	const want = 1 + workers*perWorker
	slices.Sort(seqs)
	for i, s := range seqs {
		if s != int64(i+2) {
			t.Fatalf("updates returned seqs %v...: seq %d at position %d, want each of 2..%d once", seqs[:min(len(seqs), 10)], s, i, want)
		}
	}
	o, err := repo.GetOrder(t.Context(), "o-1")
	if err != nil || o.Seq != want {
		t.Fatalf("order seq = %d, %v; want %d", o.Seq, err, want)
	}
	evs, err := repo.Events(t.Context(), "o-1")
	if err != nil || len(evs) != want {
		t.Fatalf("Events = %d, %v; want %d", len(evs), err, want)
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
		if i > 0 {
			want := orders.EventOffered
			if i%2 == 0 {
				want = orders.EventOfferDeclined
			}
			if ev.Type != want {
				t.Fatalf("event seq %d is %s, want %s", ev.Seq, ev.Type, want)
			}
		}
	}
}

func testEventsInOrder(t *testing.T, repo orders.Repository) {
	mustCreate(t, repo, SampleOrder("o-1"))
	at := FestivalStart
	step := func(f func(o *orders.Order, at time.Time) (orders.Event, error)) {
		t.Helper()
		at = at.Add(time.Minute)
		mustUpdate(t, repo, "o-1", func(o *orders.Order) (orders.Event, error) { return f(o, at) })
	}
	step(func(o *orders.Order, at time.Time) (orders.Event, error) { return o.SendTicket(at) })
	step(func(o *orders.Order, at time.Time) (orders.Event, error) { return o.MerchantAccept(at) })
	step(func(o *orders.Order, at time.Time) (orders.Event, error) {
		return o.Offer(at, "rider-1", at.Add(30*time.Second))
	})
	step(func(o *orders.Order, at time.Time) (orders.Event, error) { return o.ExpireOffer(at) })
	step(func(o *orders.Order, at time.Time) (orders.Event, error) { return o.Assign(at, "rider-2") })
	step(func(o *orders.Order, at time.Time) (orders.Event, error) { return o.ArriveAtPickup(at, "rider-2") })
	step(func(o *orders.Order, at time.Time) (orders.Event, error) { return o.MarkReady(at) })
	step(func(o *orders.Order, at time.Time) (orders.Event, error) { return o.PickUp(at, "rider-2") })
	step(func(o *orders.Order, at time.Time) (orders.Event, error) { return o.ArriveAtDropoff(at, "rider-2") })
	step(func(o *orders.Order, at time.Time) (orders.Event, error) {
		return o.Deliver(at, "rider-2", orders.HandoverDoor)
	})
	want := []orders.EventType{orders.EventOrderCreated, orders.EventTicketSent, orders.EventMerchantAccepted,
		orders.EventOffered, orders.EventOfferExpired, orders.EventAssigned, orders.EventArrivedAtPickup,
		orders.EventReadyForPickup, orders.EventPickedUp, orders.EventArrivedAtDropoff, orders.EventDelivered}
	evs, err := repo.Events(t.Context(), "o-1")
	if err != nil {
		t.Fatal(err)
	}
	var got []orders.EventType
	for i, ev := range evs {
		got = append(got, ev.Type)
		if ev.Seq != int64(i+1) || ev.OrderID != "o-1" {
			t.Errorf("event %d: order %s seq %d", i, ev.OrderID, ev.Seq)
		}
		if i > 0 && !ev.At.After(evs[i-1].At) {
			t.Errorf("event %d at %v, not after %v", i, ev.At, evs[i-1].At)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("event types = %v, want %v", got, want)
	}
	last := evs[len(evs)-1]
	if last.Delivery != orders.DeliveryDelivered || last.Handover != orders.HandoverDoor || last.RiderID != "rider-2" {
		t.Errorf("last event = %+v; want DELIVERED by rider-2 at the door", last)
	}
	if evs[3].ExpiresAt.IsZero() || evs[4].RiderID != "rider-1" {
		t.Errorf("offer events = %+v, %+v; want the expiry and the rider whose offer expired", evs[3], evs[4])
	}
	o, err := repo.GetOrder(t.Context(), "o-1")
	if err != nil || !o.Terminal() || o.Seq != int64(len(want)) || !o.DeliveredAt.Equal(at) || !o.EndedAt.Equal(at) {
		t.Errorf("order = %+v, %v; want delivered and ended at %v, seq %d", o, err, at, len(want))
	}
}

func testListOrders(t *testing.T, repo orders.Repository) {
	ctx := t.Context()
	// o-1..o-6 placed a minute apart, created out of order; o-3 and o-5 placed at the same time.
	place := map[string]time.Duration{"o-1": 0, "o-2": 1, "o-3": 2, "o-4": 3, "o-5": 2, "o-6": 5}
	for _, id := range []string{"o-6", "o-2", "o-5", "o-1", "o-4", "o-3"} {
		o := SampleOrder(id)
		o.PlacedAt = o.PlacedAt.Add(place[id] * time.Minute)
		o.ReadyAt, o.PromiseAt = o.PlacedAt.Add(10*time.Minute), o.PlacedAt.Add(time.Hour)
		switch id {
		case "o-2", "o-4":
			o.StoreID = "store-2"
		case "o-6":
			o.Platform = "meituan"
		}
		mustCreate(t, repo, o)
	}
	at := FestivalStart.Add(10 * time.Minute)
	mustUpdate(t, repo, "o-1", func(o *orders.Order) (orders.Event, error) { return o.Assign(at, "rider-1") })
	mustUpdate(t, repo, "o-4", func(o *orders.Order) (orders.Event, error) { return o.Assign(at, "rider-1") })
	mustUpdate(t, repo, "o-2", func(o *orders.Order) (orders.Event, error) { return o.Assign(at, "rider-2") })
	mustUpdate(t, repo, "o-4", func(o *orders.Order) (orders.Event, error) { return o.Cancel(at, "consumer", "changed mind") })
	mustUpdate(t, repo, "o-5", func(o *orders.Order) (orders.Event, error) { return o.AutoCancel(at, "no answer") })

	for _, tc := range []struct {
		name string
		f    orders.OrderFilter
		want []string
	}{
		{"all", orders.OrderFilter{}, []string{"o-1", "o-2", "o-3", "o-5", "o-4", "o-6"}},
		{"active", orders.OrderFilter{Active: true}, []string{"o-1", "o-2", "o-3", "o-6"}},
		{"store", orders.OrderFilter{StoreID: "store-2"}, []string{"o-2", "o-4"}},
		{"active at store", orders.OrderFilter{StoreID: "store-2", Active: true}, []string{"o-2"}},
		{"rider", orders.OrderFilter{RiderID: "rider-1"}, []string{"o-1"}},
		{"platform", orders.OrderFilter{Platform: "meituan"}, []string{"o-6"}},
		{"platform and store", orders.OrderFilter{Platform: "eleme", StoreID: "store-1"}, []string{"o-1", "o-3", "o-5"}},
		{"limit", orders.OrderFilter{Limit: 3}, []string{"o-1", "o-2", "o-3"}},
		{"limit active", orders.OrderFilter{Active: true, Limit: 3}, []string{"o-1", "o-2", "o-3"}},
		{"limit past the end", orders.OrderFilter{Platform: "meituan", Limit: 5}, []string{"o-6"}},
		{"no match", orders.OrderFilter{StoreID: "store-9"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := repo.ListOrders(ctx, tc.f)
			if err != nil {
				t.Fatalf("ListOrders(%+v): %v", tc.f, err)
			}
			var ids []string
			for _, o := range got {
				ids = append(ids, o.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("ListOrders(%+v) = %v, want %v", tc.f, ids, tc.want)
			}
		})
	}
	_, err := repo.ListOrders(ctx, orders.OrderFilter{Limit: -1})
	wantKind(t, "ListOrders with a negative limit", err, orders.KindInvalid)
}

// assertSameOrder compares two orders field by field, times by instant, so that an
// implementation may return times in another location.
func assertSameOrder(t *testing.T, what string, got, want orders.Order) {
	t.Helper()
	if !sameOrder(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func sameOrder(a, b orders.Order) bool {
	ta, tb := timesOf(&a), timesOf(&b)
	for i := range ta {
		if !ta[i].Equal(*tb[i]) {
			return false
		}
		*ta[i], *tb[i] = time.Time{}, time.Time{}
	}
	return reflect.DeepEqual(a, b)
}

func timesOf(o *orders.Order) []*time.Time {
	return []*time.Time{&o.PlacedAt, &o.ReadyAt, &o.PromiseAt, &o.OfferExpiresAt, &o.AcceptedAt,
		&o.ReadyMarkedAt, &o.AssignedAt, &o.PickedUpAt, &o.DeliveredAt, &o.EndedAt, &o.ReceiptConfirmedAt}
}

func sameEvent(a, b orders.Event) bool {
	if !a.At.Equal(b.At) || !a.ExpiresAt.Equal(b.ExpiresAt) {
		return false
	}
	a.At, b.At, a.ExpiresAt, b.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}
