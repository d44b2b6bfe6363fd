package orderstest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"zhengxiang/geo"
	"zhengxiang/orders"
)

// SiteRepository is a Repository that keeps drop sites, as both stores do: a change of an
// order gives back its slot.
type SiteRepository interface {
	orders.Repository
	orders.DropSiteStore
}

// SampleLocker returns a valid smart locker of slots slots at the east gate of a compound near
// the Erqi Tower.
func SampleLocker(id string, slots int) orders.DropSite {
	return orders.DropSite{ID: id, Kind: orders.HandoverLocker, Name: "丰巢 " + id, Compound: "建业小区",
		Gate: geo.Point{Lat: 34.7562, Lng: 113.6391}, Slots: slots, CreatedAt: FestivalStart}
}

// RunDropSiteContract runs the behaviour every orders.DropSiteStore must have against fresh
// repositories made by newRepo, one per subtest. Race reserves slots of one locker from many
// goroutines at once and checks that no more than its slots are ever held.
func RunDropSiteContract(t *testing.T, newRepo func(t *testing.T) SiteRepository) {
	t.Run("Sites", func(t *testing.T) { testDropSites(t, newRepo(t)) })
	t.Run("Reserve", func(t *testing.T) { testReserveSlots(t, newRepo(t)) })
	t.Run("FreedByChanges", func(t *testing.T) { testSlotsFreedByChanges(t, newRepo(t)) })
	t.Run("Race", func(t *testing.T) { testSlotRace(t, newRepo(t)) })
	t.Run("OrderKey", func(t *testing.T) { testHasOrderKey(t, newRepo(t)) })
}

// testHasOrderKey checks that an order's key is known once the order is stored, and only its
// own key: another platform's order of the same number is not it.
func testHasOrderKey(t *testing.T, s SiteRepository) {
	has := func(platform, id string) bool {
		t.Helper()
		ok, err := s.HasOrderKey(t.Context(), platform, id)
		if err != nil {
			t.Fatalf("HasOrderKey(%s, %s): %v", platform, id, err)
		}
		return ok
	}
	if has("eleme", "o-1") {
		t.Fatal("a key is known before its order is stored")
	}
	mustCreate(t, s, SampleOrder("o-1"))
	if !has("eleme", "o-1") || has("meituan", "o-1") || has("eleme", "o-2") {
		t.Fatalf("after storing eleme/o-1: eleme/o-1 %v, meituan/o-1 %v, eleme/o-2 %v; want true, false, false",
			has("eleme", "o-1"), has("meituan", "o-1"), has("eleme", "o-2"))
	}
}

func mustSite(t *testing.T, s orders.DropSiteStore, id string, reserved int, closed bool) orders.DropSite {
	t.Helper()
	got, err := s.DropSite(t.Context(), id)
	if err != nil || got.Reserved != reserved || got.Closed != closed {
		t.Fatalf("DropSite(%s) = %+v, %v; want %d reserved, closed %v", id, got, err, reserved, closed)
	}
	return got
}

func mustReserve(t *testing.T, s orders.DropSiteStore, site, order string, want bool) {
	t.Helper()
	got, err := s.ReserveSlot(t.Context(), site, order)
	if err != nil || got != want {
		t.Fatalf("ReserveSlot(%s, %s) = %v, %v; want %v", site, order, got, err, want)
	}
}

func testDropSites(t *testing.T, s SiteRepository) {
	ctx := t.Context()
	locker := SampleLocker("L1", 4)
	point := orders.DropSite{ID: "D1", Kind: orders.HandoverDropPoint, Name: "东门快递架", Compound: "建业小区",
		Gate: locker.Gate, CreatedAt: FestivalStart}
	for _, site := range []orders.DropSite{point, locker} {
		if err := s.CreateDropSite(ctx, site); err != nil {
			t.Fatalf("CreateDropSite(%s): %v", site.ID, err)
		}
	}
	wantKind(t, "a second L1", s.CreateDropSite(ctx, locker), orders.KindConflict)
	for name, bad := range map[string]orders.DropSite{
		"site.kind":  {ID: "X", Kind: orders.HandoverDoor, Name: "n", Compound: "c", Gate: locker.Gate, CreatedAt: FestivalStart},
		"site.slots": {ID: "X", Kind: orders.HandoverLocker, Name: "n", Compound: "c", Gate: locker.Gate, CreatedAt: FestivalStart},
		"site.gate":  {ID: "X", Kind: orders.HandoverDropPoint, Name: "n", Compound: "c", CreatedAt: FestivalStart},
	} {
		var e *orders.Error
		if err := s.CreateDropSite(ctx, bad); !orders.IsKind(err, orders.KindInvalid) || !errors.As(err, &e) || e.Field != name {
			t.Errorf("CreateDropSite with a bad %s: %v", name, err)
		}
	}
	got := mustSite(t, s, "L1", 0, false)
	if got.Kind != orders.HandoverLocker || got.Slots != 4 || got.Name != locker.Name || got.Compound != "建业小区" ||
		got.Gate != locker.Gate || !got.CreatedAt.Equal(FestivalStart) {
		t.Errorf("DropSite(L1) = %+v, want %+v", got, locker)
	}
	_, err := s.DropSite(ctx, "nope")
	wantKind(t, "an unknown site", err, orders.KindNotFound)
	list, err := s.DropSites(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "D1" || list[1].ID != "L1" {
		t.Fatalf("DropSites = %+v, %v; want D1 and L1", list, err)
	}
	closedAt := FestivalStart.Add(time.Hour)
	if c, err := s.CloseDropSite(ctx, "D1", closedAt); err != nil || !c.Closed || !c.ClosedAt.Equal(closedAt) {
		t.Fatalf("CloseDropSite(D1) = %+v, %v", c, err)
	}
	if c, err := s.CloseDropSite(ctx, "D1", closedAt.Add(time.Hour)); err != nil || !c.ClosedAt.Equal(closedAt) {
		t.Fatalf("CloseDropSite(D1) again = %+v, %v; want it as first closed", c, err)
	}
	mustSite(t, s, "D1", 0, true)
	_, err = s.CloseDropSite(ctx, "nope", closedAt)
	wantKind(t, "closing an unknown site", err, orders.KindNotFound)
}

func testReserveSlots(t *testing.T, s SiteRepository) {
	ctx := t.Context()
	if err := s.CreateDropSite(ctx, SampleLocker("L1", 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDropSite(ctx, orders.DropSite{ID: "D1", Kind: orders.HandoverDropPoint, Name: "东门",
		Compound: "建业小区", Gate: Erqi, CreatedAt: FestivalStart}); err != nil {
		t.Fatal(err)
	}
	mustReserve(t, s, "L1", "o-1", true)
	mustReserve(t, s, "L1", "o-1", true) // held already: no second slot
	mustSite(t, s, "L1", 1, false)
	mustReserve(t, s, "L1", "o-2", true)
	mustReserve(t, s, "L1", "o-3", false)
	mustSite(t, s, "L1", 2, false)
	if err := s.ReleaseSlot(ctx, "o-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseSlot(ctx, "o-1"); err != nil { // nothing held: nothing to do
		t.Fatal(err)
	}
	mustSite(t, s, "L1", 1, false)
	mustReserve(t, s, "L1", "o-3", true)
	mustSite(t, s, "L1", 2, false)
	_, err := s.ReserveSlot(ctx, "D1", "o-4")
	wantKind(t, "a slot of a drop point", err, orders.KindInvalid)
	_, err = s.ReserveSlot(ctx, "nope", "o-4")
	wantKind(t, "a slot of an unknown site", err, orders.KindNotFound)
}

// testSlotsFreedByChanges checks that the record gives a locker order's slot back with the
// change that ends its claim, through UpdateOrder and UpdateOrders: a cancellation, a failed
// delivery, and the consumer's confirmation of the receipt (the delivery keeps it).
func testSlotsFreedByChanges(t *testing.T, s SiteRepository) {
	ctx := t.Context()
	if err := s.CreateDropSite(ctx, SampleLocker("L1", 3)); err != nil {
		t.Fatal(err)
	}
	lockerOrder := func(id string) orders.Order {
		o := SampleOrder(id)
		o.DropoffMethod, o.DropoffSiteID = orders.HandoverLocker, "L1"
		return mustCreate(t, s, o)
	}
	update := func(batch bool, id string, fn func(o *orders.Order) ([]orders.Event, error)) {
		t.Helper()
		if bu, ok := s.(orders.BatchUpdater); ok && batch {
			errs, err := bu.UpdateOrders(ctx, []string{id, "absent"}, func(o *orders.Order) ([]orders.Event, error) { return fn(o) })
			if err != nil || errs[0] != nil {
				t.Fatalf("UpdateOrders(%s): %v %v", id, err, errs)
			}
			return
		}
		if _, err := s.UpdateOrder(ctx, id, fn); err != nil {
			t.Fatalf("UpdateOrder(%s): %v", id, err)
		}
	}
	for _, batch := range []bool{false, true} {
		cancelled, delivered := fmt.Sprintf("c-%v", batch), fmt.Sprintf("d-%v", batch)
		if got := lockerOrder(cancelled); got.DropoffSiteID != "L1" || got.DropoffMethod != orders.HandoverLocker {
			t.Fatalf("the order as stored: %s at %q", got.DropoffMethod, got.DropoffSiteID)
		}
		lockerOrder(delivered)
		mustReserve(t, s, "L1", cancelled, true)
		mustReserve(t, s, "L1", delivered, true)
		mustSite(t, s, "L1", 2, false)
		update(batch, cancelled, func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.Assign(FestivalStart.Add(time.Minute), "rider-1")
			return []orders.Event{ev}, err
		})
		mustSite(t, s, "L1", 2, false) // an assignment keeps the slot
		update(batch, cancelled, func(o *orders.Order) ([]orders.Event, error) {
			ev, err := o.Cancel(FestivalStart.Add(2*time.Minute), "consumer", "changed my mind")
			return []orders.Event{ev}, err
		})
		mustSite(t, s, "L1", 1, false)
		update(batch, delivered, deliverWith(orders.Dropoff{Handover: orders.HandoverLocker, Code: "L1-07"}))
		mustSite(t, s, "L1", 1, false) // delivered: the goods are in the slot
		update(batch, delivered, confirm)
		mustSite(t, s, "L1", 0, false)
		if got, err := s.GetOrder(ctx, delivered); err != nil || got.DropoffSiteID != "L1" {
			t.Fatalf("GetOrder(%s) = %q, %v", delivered, got.DropoffSiteID, err)
		}

		// A delivery that fails gives the slot back.
		failed := fmt.Sprintf("f-%v", batch)
		lockerOrder(failed)
		mustReserve(t, s, "L1", failed, true)
		update(batch, failed, func(o *orders.Order) ([]orders.Event, error) {
			var evs []orders.Event
			for _, step := range deliverSteps[:5] { // to PICKED_UP
				ev, err := step(o)
				if err != nil {
					return nil, err
				}
				evs = append(evs, ev)
			}
			ev, err := o.Fail(FestivalStart.Add(20*time.Minute), "nobody at the compound's gate")
			return append(evs, ev), err
		})
		mustSite(t, s, "L1", 0, false)
	}
}

// testSlotRace reserves slots of a locker of 10 from 200 goroutines at once, each order twice,
// while others release theirs, and checks that no more than 10 are ever held and that exactly
// the slots held are counted.
func testSlotRace(t *testing.T, s SiteRepository) {
	ctx := t.Context()
	const slots, orderCount = 10, 200
	if err := s.CreateDropSite(ctx, SampleLocker("L1", slots)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	granted := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*orderCount)
	for i := range orderCount {
		for range 2 {
			wg.Go(func() {
				id := fmt.Sprintf("o-%d", i)
				ok, err := s.ReserveSlot(ctx, "L1", id)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					mu.Lock()
					granted[id] = true
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("ReserveSlot: %v", err)
	}
	if len(granted) != slots {
		t.Fatalf("%d orders got a slot of a locker of %d", len(granted), slots)
	}
	mustSite(t, s, "L1", slots, false)

	// Half the holders give their slot back while 100 new orders race for the slots freed.
	var holders []string
	for id := range granted {
		holders = append(holders, id)
	}
	var won sync.Map
	for i, id := range holders[:slots/2] {
		wg.Go(func() {
			if err := s.ReleaseSlot(ctx, id); err != nil {
				t.Errorf("ReleaseSlot(%s): %v", id, err)
			}
		})
		for k := range 20 {
			wg.Go(func() {
				id := fmt.Sprintf("n-%d-%d", i, k)
				if ok, err := s.ReserveSlot(ctx, "L1", id); err != nil {
					t.Errorf("ReserveSlot(%s): %v", id, err)
				} else if ok {
					won.Store(id, true)
				}
			})
		}
	}
	wg.Wait()
	n := 0
	won.Range(func(any, any) bool { n++; return true })
	if n > slots/2 {
		t.Fatalf("%d new orders got one of the %d slots freed", n, slots/2)
	}
	mustSite(t, s, "L1", slots-slots/2+n, false)
}
