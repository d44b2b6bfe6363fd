package orderstest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"zhengxiang/orders"
)

// OpsRepository is a Repository that also keeps suspensions, their audit and missed
// acknowledgements, as the in-memory and the PostgreSQL ones do.
type OpsRepository interface {
	orders.Repository
	orders.SuspensionStore
	orders.AckStore
}

// RunSuspensionContract runs the behaviour every orders.SuspensionStore and orders.AckStore
// must have against fresh repositories made by newRepo, one per subtest.
func RunSuspensionContract(t *testing.T, newRepo func(t *testing.T) OpsRepository) {
	t.Run("SuspendStore", func(t *testing.T) { testSuspendStore(t, newRepo(t)) })
	t.Run("SuspendProduct", func(t *testing.T) { testSuspendProduct(t, newRepo(t)) })
	t.Run("SuspendInvalid", func(t *testing.T) { testSuspendInvalid(t, newRepo(t)) })
	t.Run("NoteCancelled", func(t *testing.T) { testNoteCancelled(t, newRepo(t)) })
	t.Run("AuditFilter", func(t *testing.T) { testAuditFilter(t, newRepo(t)) })
	t.Run("ConcurrentSuspensions", func(t *testing.T) { testConcurrentSuspensions(t, newRepo(t)) })
	t.Run("MissedAcks", func(t *testing.T) { testMissedAcks(t, newRepo(t)) })
}

// stop returns a suspension of the store (sku "") or a product of it, at minute m of the
// festival.
func stop(store, sku, reason string, m int) orders.Suspension {
	return orders.Suspension{StoreID: store, SKU: sku, Actor: "operator:k1", Reason: reason,
		At: FestivalStart.Add(time.Duration(m) * time.Minute)}
}

func mustPutStore(t *testing.T, repo orders.Repository, id string) {
	t.Helper()
	if err := repo.PutStore(t.Context(), SampleStore(id)); err != nil {
		t.Fatal(err)
	}
}

func mustSuspended(t *testing.T, repo orders.Repository, id string, want bool) {
	t.Helper()
	s, err := repo.GetStore(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if s.Suspended != want {
		t.Fatalf("store %s suspended = %v, want %v", id, s.Suspended, want)
	}
}

// sameEntry compares audit entries with times as instants.
func sameEntry(a, b orders.AuditEntry) bool {
	return a.ID == b.ID && a.Action == b.Action && a.StoreID == b.StoreID && a.SKU == b.SKU && a.Actor == b.Actor &&
		a.Reason == b.Reason && a.At.Equal(b.At) && slices.Equal(a.Cancelled, b.Cancelled)
}

func testSuspendStore(t *testing.T, repo OpsRepository) {
	ctx := t.Context()
	mustPutStore(t, repo, "store-1")
	if _, err := repo.Suspend(ctx, stop("store-9", "", "fakes", 1)); !orders.IsKind(err, orders.KindNotFound) {
		t.Fatalf("Suspend of an unknown store: %v, want KindNotFound", err)
	}
	if _, err := repo.Lift(ctx, stop("store-1", "", "all clear", 1)); !orders.IsKind(err, orders.KindConflict) {
		t.Fatalf("Lift of a store not suspended: %v, want KindConflict", err)
	}
	e, err := repo.Suspend(ctx, stop("store-1", "", "counterfeit rice", 2))
	if err != nil {
		t.Fatal(err)
	}
	if e.ID == 0 || e.Action != orders.AuditSuspend || e.StoreID != "store-1" || e.Reason != "counterfeit rice" || e.AuditID != 0 {
		t.Fatalf("Suspend's entry: %+v", e)
	}
	mustSuspended(t, repo, "store-1", true)
	in, err := repo.Suspensions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0].StoreID != "store-1" || in[0].SKU != "" || in[0].AuditID != e.ID || in[0].Actor != "operator:k1" ||
		!in[0].At.Equal(FestivalStart.Add(2*time.Minute)) {
		t.Fatalf("in force: %+v, want store-1's with audit #%d", in, e.ID)
	}
	r, err := repo.Lift(ctx, stop("store-1", "", "goods removed", 30))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID <= e.ID || r.Action != orders.AuditRestore || r.Reason != "goods removed" {
		t.Fatalf("Lift's entry: %+v", r)
	}
	mustSuspended(t, repo, "store-1", false)
	if in, _ := repo.Suspensions(ctx); len(in) != 0 {
		t.Fatalf("in force after the restore: %+v", in)
	}
	if _, err := repo.Lift(ctx, stop("store-1", "", "again", 31)); !orders.IsKind(err, orders.KindConflict) {
		t.Fatalf("second Lift: %v, want KindConflict", err)
	}
	// A store marked suspended by PutStore alone (before suspensions were kept) can be lifted.
	s := SampleStore("store-2")
	s.Suspended = true
	if err := repo.PutStore(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Lift(ctx, stop("store-2", "", "legacy flag", 32)); err != nil {
		t.Fatalf("Lift of a store flagged by PutStore: %v", err)
	}
	mustSuspended(t, repo, "store-2", false)
	got, err := repo.Audit(ctx, orders.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !sameEntry(got[1], r) || !sameEntry(got[2], e) || got[0].StoreID != "store-2" {
		t.Fatalf("audit (newest first): %+v", got)
	}
}

func testSuspendProduct(t *testing.T, repo OpsRepository) {
	ctx := t.Context()
	mustPutStore(t, repo, "store-1")
	rice, err := repo.Suspend(ctx, stop("store-1", "rice-5kg", "counterfeit rice", 1))
	if err != nil {
		t.Fatal(err)
	}
	mustSuspended(t, repo, "store-1", false) // a product's stop leaves the store selling
	eggs, err := repo.Suspend(ctx, stop("store-1", "eggs-30", "recall", 2))
	if err != nil {
		t.Fatal(err)
	}
	// Suspending again replaces the reason; the audit keeps both.
	again, err := repo.Suspend(ctx, stop("store-1", "rice-5kg", "counterfeit rice, second batch", 3))
	if err != nil {
		t.Fatal(err)
	}
	in, err := repo.Suspensions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 2 || in[0].SKU != "eggs-30" || in[0].AuditID != eggs.ID || in[1].SKU != "rice-5kg" ||
		in[1].Reason != "counterfeit rice, second batch" || in[1].AuditID != again.ID {
		t.Fatalf("in force: %+v", in)
	}
	if _, err := repo.Lift(ctx, stop("store-1", "", "store was never stopped", 4)); !orders.IsKind(err, orders.KindConflict) {
		t.Fatalf("Lift of the store while only products are stopped: %v, want KindConflict", err)
	}
	if _, err := repo.Lift(ctx, stop("store-1", "rice-5kg", "new supplier", 5)); err != nil {
		t.Fatal(err)
	}
	if in, _ := repo.Suspensions(ctx); len(in) != 1 || in[0].SKU != "eggs-30" {
		t.Fatalf("in force after lifting rice: %+v", in)
	}
	got, err := repo.Audit(ctx, orders.AuditFilter{StoreID: "store-1"})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range got {
		acts = append(acts, string(e.Action)+" "+e.SKU)
	}
	if want := []string{"RESTORE rice-5kg", "SUSPEND rice-5kg", "SUSPEND eggs-30", "SUSPEND rice-5kg"}; !slices.Equal(acts, want) {
		t.Fatalf("audit %v, want %v", acts, want)
	}
	if got[3].ID != rice.ID {
		t.Fatalf("oldest entry #%d, want #%d", got[3].ID, rice.ID)
	}
}

func testSuspendInvalid(t *testing.T, repo OpsRepository) {
	ctx := t.Context()
	mustPutStore(t, repo, "store-1")
	long := make([]byte, orders.MaxReason+1)
	for i := range long {
		long[i] = 'x'
	}
	for name, s := range map[string]orders.Suspension{
		"no store":   {SKU: "rice", Actor: "a", Reason: "r", At: FestivalStart},
		"no actor":   {StoreID: "store-1", Reason: "r", At: FestivalStart},
		"no reason":  {StoreID: "store-1", Actor: "a", Reason: "  ", At: FestivalStart},
		"long":       {StoreID: "store-1", Actor: "a", Reason: string(long), At: FestivalStart},
		"no time":    {StoreID: "store-1", Actor: "a", Reason: "r"},
		"a NUL byte": {StoreID: "store-1", SKU: "ri\x00ce", Actor: "a", Reason: "r", At: FestivalStart},
	} {
		if _, err := repo.Suspend(ctx, s); !orders.IsKind(err, orders.KindInvalid) {
			t.Errorf("Suspend, %s: %v, want KindInvalid", name, err)
		}
		if _, err := repo.Lift(ctx, s); !orders.IsKind(err, orders.KindInvalid) {
			t.Errorf("Lift, %s: %v, want KindInvalid", name, err)
		}
	}
	if _, err := repo.Audit(ctx, orders.AuditFilter{Limit: -1}); !orders.IsKind(err, orders.KindInvalid) {
		t.Errorf("Audit with a negative limit: %v, want KindInvalid", err)
	}
	if got, _ := repo.Audit(ctx, orders.AuditFilter{}); len(got) != 0 {
		t.Errorf("refused calls left audit entries: %+v", got)
	}
}

func testNoteCancelled(t *testing.T, repo OpsRepository) {
	ctx := t.Context()
	mustPutStore(t, repo, "store-1")
	e, err := repo.Suspend(ctx, stop("store-1", "", "fakes", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.NoteCancelled(ctx, e.ID, []string{"o-2", "o-1"}); err != nil {
		t.Fatal(err)
	}
	if err := repo.NoteCancelled(ctx, e.ID, []string{"o-1", "o-3", "o-3"}); err != nil {
		t.Fatal(err)
	}
	if err := repo.NoteCancelled(ctx, e.ID+100, []string{"o-9"}); !orders.IsKind(err, orders.KindNotFound) {
		t.Fatalf("NoteCancelled of an unknown entry: %v, want KindNotFound", err)
	}
	got, err := repo.Audit(ctx, orders.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !slices.Equal(got[0].Cancelled, []string{"o-2", "o-1", "o-3"}) {
		t.Fatalf("audit: %+v, want o-2, o-1, o-3 cancelled once each", got)
	}
	// The caller's copy is its own.
	got[0].Cancelled[0] = "changed"
	if again, _ := repo.Audit(ctx, orders.AuditFilter{}); again[0].Cancelled[0] != "o-2" {
		t.Fatalf("the audit shares its cancelled orders with a caller")
	}
}

func testAuditFilter(t *testing.T, repo OpsRepository) {
	ctx := t.Context()
	for _, id := range []string{"store-1", "store-2"} {
		mustPutStore(t, repo, id)
	}
	for i := range 6 {
		store := []string{"store-1", "store-2"}[i%2]
		if _, err := repo.Suspend(ctx, stop(store, "sku-"+string(rune('a'+i)), "recall", i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := repo.Audit(ctx, orders.AuditFilter{StoreID: "store-2", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].SKU != "sku-f" || got[1].SKU != "sku-d" {
		t.Fatalf("store-2's newest two: %+v", got)
	}
	if all, _ := repo.Audit(ctx, orders.AuditFilter{}); len(all) != 6 {
		t.Fatalf("all: %d entries, want 6", len(all))
	}
}

// testConcurrentSuspensions suspends and restores one store from many goroutines: every call
// that succeeded has its entry, the entries' ids are distinct, and the store's flag ends as the
// last entry says.
func testConcurrentSuspensions(t *testing.T, repo OpsRepository) {
	ctx := t.Context()
	mustPutStore(t, repo, "store-1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 16 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = repo.Suspend(ctx, stop("store-1", "", "fakes", i))
			} else {
				_, err = repo.Lift(ctx, stop("store-1", "", "cleared", i))
			}
			switch {
			case err == nil:
				mu.Lock()
				ok++
				mu.Unlock()
			case !orders.IsKind(err, orders.KindConflict):
				t.Errorf("call %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got, err := repo.Audit(ctx, orders.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != ok {
		t.Fatalf("%d entries for %d calls that succeeded", len(got), ok)
	}
	seen := map[int64]bool{}
	for _, e := range got {
		if seen[e.ID] {
			t.Fatalf("entry id %d twice", e.ID)
		}
		seen[e.ID] = true
	}
	mustSuspended(t, repo, "store-1", got[0].Action == orders.AuditSuspend)
}

func testMissedAcks(t *testing.T, repo OpsRepository) {
	ctx := t.Context()
	at := func(m int) time.Time { return FestivalStart.Add(time.Duration(m) * time.Minute) }
	if err := repo.RecordMissedAcks(ctx, nil); err != nil {
		t.Fatalf("no misses: %v", err)
	}
	if err := repo.RecordMissedAcks(ctx, []orders.MissedAck{
		{OrderID: "o-1", StoreID: "store-1", At: at(0)},
		{OrderID: "o-2", StoreID: "store-1", At: at(10)},
		{OrderID: "o-3", StoreID: "store-2", At: at(20)},
	}); err != nil {
		t.Fatal(err)
	}
	// A miss recorded again counts once, with its first time.
	if err := repo.RecordMissedAcks(ctx, []orders.MissedAck{
		{OrderID: "o-2", StoreID: "store-1", At: at(30)},
		{OrderID: "o-4", StoreID: "store-1", At: at(30)},
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		since int
		want  map[string]int
	}{
		{0, map[string]int{"store-1": 3, "store-2": 1}},
		{10, map[string]int{"store-1": 2, "store-2": 1}},
		{11, map[string]int{"store-1": 1, "store-2": 1}},
		{31, map[string]int{}},
	} {
		got, err := repo.MissedAcks(ctx, at(c.since))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.want) {
			t.Errorf("since minute %d: %v, want %v", c.since, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("since minute %d: %v, want %v", c.since, got, c.want)
			}
		}
	}
}
